package kconfig

import (
	"fmt"
	"strconv"
	"strings"
)

// symPrefix is the prefix every symbol carries in .config and fragment files.
const symPrefix = "CONFIG_"

// parseLine parses one line of .config syntax. It returns ok=false for blank
// and comment lines, and a reason (for a ParseError) when the line is
// malformed.
func parseLine(text string) (sym, value string, ok bool, reason string) {
	s := strings.TrimSpace(text)
	if s == "" {
		return "", "", false, ""
	}
	if s[0] == '#' {
		sym, ok := parseNotSet(s)
		if !ok {
			return "", "", false, ""
		}
		return sym, "n", true, ""
	}
	if !strings.HasPrefix(s, symPrefix) {
		return "", "", false, `not an assignment; write CONFIG_FOO=value or "# CONFIG_FOO is not set"`
	}
	name, val, found := strings.Cut(s[len(symPrefix):], "=")
	if !found {
		return "", "", false, `missing "="; write CONFIG_FOO=y, =m, =n, a number or a quoted string`
	}
	if !validSymbol(name) {
		return "", "", false, fmt.Sprintf("bad symbol name %q; use only letters, digits and _", name)
	}
	if reason := checkValue(val); reason != "" {
		return "", "", false, reason
	}
	return name, val, true, ""
}

// parseNotSet recognises "# CONFIG_FOO is not set". Like kconfig it ignores
// anything after "set"; every other comment is not an entry.
func parseNotSet(s string) (string, bool) {
	f := strings.Fields(s)
	if len(f) < 5 || f[0] != "#" || f[2] != "is" || f[3] != "not" || f[4] != "set" {
		return "", false
	}
	name, ok := strings.CutPrefix(f[1], symPrefix)
	if !ok || !validSymbol(name) {
		return "", false
	}
	return name, true
}

// checkValue returns why val is not a valid value, or "".
func checkValue(val string) string {
	switch {
	case val == "":
		return `empty value; write =n (or "# CONFIG_FOO is not set") to disable, or ="" for an empty string`
	case val == "y" || val == "m" || val == "n":
		return ""
	case val[0] == '"':
		if _, ok := unquote(val); !ok {
			return fmt.Sprintf("bad string %s; close the quote and escape inner \" and \\ with a backslash", val)
		}
		return ""
	case isNumber(val):
		return ""
	case strings.Contains(val, "#"):
		return fmt.Sprintf("value %q has a trailing comment; put comments on their own line", val)
	default:
		return fmt.Sprintf("value %q is not y, m, n, a number or a quoted string", val)
	}
}

func validSymbol(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isSymbolByte(s[i]) {
			return false
		}
	}
	return true
}

func isSymbolByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// parseNumber parses a decimal (optionally negative) or 0x-prefixed hex value.
func parseNumber(s string) (int64, bool) {
	var (
		n   int64
		err error
	)
	if h, ok := cutHexPrefix(s); ok {
		var u uint64
		u, err = strconv.ParseUint(h, 16, 64)
		n = int64(u)
	} else {
		n, err = strconv.ParseInt(s, 10, 64)
	}
	return n, err == nil
}

func cutHexPrefix(s string) (string, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:], true
	}
	return s, false
}

func isNumber(s string) bool {
	_, ok := parseNumber(s)
	return ok
}

// unquote undoes kconfig's string quoting: the value must be enclosed in
// double quotes, and only \" and \\ are escapes.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\\' && i+1 < len(in):
			i++
			b.WriteByte(in[i])
		case c == '\\' || c == '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// sameValue reports whether a requested value equals a value from .config.
// Numbers compare by value (so 0x10 equals 0X10) and strings by their
// unquoted text; everything else must match exactly.
func sameValue(want, got string) bool {
	if want == got {
		return true
	}
	if w, ok := parseNumber(want); ok {
		g, ok := parseNumber(got)
		return ok && w == g
	}
	if w, ok := unquote(want); ok {
		g, ok := unquote(got)
		return ok && w == g
	}
	return false
}

// formatAssignment renders an entry in .config syntax.
func formatAssignment(sym, value string) string {
	if value == "n" {
		return "# " + symPrefix + sym + " is not set"
	}
	return symPrefix + sym + "=" + value
}
