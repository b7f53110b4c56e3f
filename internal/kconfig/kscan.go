package kconfig

import (
	"bytes"
	"strings"
)

// kdef is one `config`/`menuconfig` definition found in a Kconfig file, with
// its dependencies: the block's own `depends on` lines and those of the
// enclosing `if`, `menu` and `choice` blocks, joined with " && ".
type kdef struct {
	sym  string
	deps string
}

// kframe is an open `if`, `menu` or `choice` block.
type kframe struct {
	kind string
	deps []string
}

// kscan holds the state of a scan over one Kconfig file.
type kscan struct {
	frames []*kframe
	sym    string    // config symbol being read, "" when none
	own    []string  // its own depends lines
	target *[]string // where `depends on` lines go; nil drops them
	defs   []kdef
}

// scanKconfig extracts config definitions from one Kconfig file. It is
// textual: `source` lines are not followed and macros are left as written.
func scanKconfig(data []byte) []kdef {
	s := &kscan{}
	var (
		logical    strings.Builder
		inHelp     bool
		helpIndent = -1
	)
	for len(data) > 0 {
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte{'\n'})
		line := string(bytes.TrimRight(raw, " \t\r"))
		if inHelp {
			if inHelp, helpIndent = stillHelp(line, helpIndent); inHelp {
				continue
			}
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			logical.WriteString(body + " ")
			continue
		}
		logical.WriteString(line)
		inHelp = s.line(stripComment(logical.String()))
		helpIndent = -1
		logical.Reset()
	}
	s.finish()
	return s.defs
}

// stillHelp reports whether line belongs to help text whose first line had
// the given indentation (-1 before the first non-blank line). Like kconfig's
// lexer, help ends at an unindented line or one indented less than the first.
func stillHelp(line string, indent int) (bool, int) {
	if strings.TrimSpace(line) == "" {
		return true, indent
	}
	n := indentWidth(line)
	switch {
	case n == 0:
		return false, -1
	case indent < 0:
		return true, n
	}
	return n >= indent, indent
}

func indentWidth(line string) int {
	w := 0
	for _, c := range line {
		switch c {
		case ' ':
			w++
		case '\t':
			w = (w/8 + 1) * 8
		default:
			return w
		}
	}
	return w
}

// stripComment drops a '#' comment that is not inside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}

// line handles one logical line and reports whether it starts help text.
func (s *kscan) line(l string) (help bool) {
	t := strings.TrimSpace(l)
	kw := t
	if i := strings.IndexAny(t, " \t"); i >= 0 {
		kw = t[:i]
	}
	rest := strings.TrimSpace(t[len(kw):])
	switch kw {
	case "config", "menuconfig":
		s.finish()
		s.sym, s.own = firstField(rest), nil
		s.target = &s.own
	case "menu", "choice":
		s.finish()
		f := &kframe{kind: kw}
		s.frames = append(s.frames, f)
		s.target = &f.deps
	case "if":
		s.finish()
		s.frames = append(s.frames, &kframe{kind: kw, deps: []string{normalizeExpr(rest)}})
	case "endmenu", "endchoice", "endif":
		s.finish()
		s.pop(strings.TrimPrefix(kw, "end"))
	case "comment", "source", "rsource", "osource", "orsource", "mainmenu":
		s.finish()
	case "depends":
		expr, ok := strings.CutPrefix(rest, "on")
		if ok && s.target != nil && (expr == "" || expr[0] == ' ' || expr[0] == '\t') {
			*s.target = append(*s.target, normalizeExpr(expr))
		}
	case "help", "---help---":
		return true
	}
	return false
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// pop closes the innermost open block of the given kind, and any blocks
// left open inside it by an unbalanced file.
func (s *kscan) pop(kind string) {
	for i := len(s.frames) - 1; i >= 0; i-- {
		if s.frames[i].kind == kind {
			s.frames = s.frames[:i]
			return
		}
	}
}

// finish records the config being read, if any, and stops collecting
// depends lines.
func (s *kscan) finish() {
	if s.sym != "" {
		var parts []string
		for _, f := range s.frames {
			parts = append(parts, f.deps...)
		}
		parts = append(parts, s.own...)
		s.defs = append(s.defs, kdef{sym: s.sym, deps: joinExprs(parts, " && ")})
	}
	s.sym, s.own, s.target = "", nil, nil
}

func normalizeExpr(e string) string {
	return strings.Join(strings.Fields(e), " ")
}

// joinExprs joins distinct non-empty expressions with op (" && " or
// " || "), parenthesising any that contain a weaker or equal operator.
func joinExprs(parts []string, op string) string {
	var out []string
	seen := make(map[string]bool)
	for _, p := range parts {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(out) <= 1 {
		return strings.Join(out, "")
	}
	for i, p := range out {
		if needsParens(p, op) {
			out[i] = "(" + p + ")"
		}
	}
	return strings.Join(out, op)
}

// needsParens reports whether e must be parenthesised to join it with op:
// it has a top-level || (or, for readability when joining with ||, &&).
func needsParens(e, op string) bool {
	return hasTopLevel(e, "||") || op == " || " && hasTopLevel(e, "&&")
}

// hasTopLevel reports whether operator op occurs in e outside parentheses.
func hasTopLevel(e, op string) bool {
	depth := 0
	for i := 0; i < len(e); i++ {
		switch {
		case e[i] == '(':
			depth++
		case e[i] == ')':
			depth--
		case depth == 0 && strings.HasPrefix(e[i:], op):
			return true
		}
	}
	return false
}
