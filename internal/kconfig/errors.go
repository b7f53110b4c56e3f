package kconfig

import (
	"fmt"
	"strings"
)

// ParseError reports a malformed line in a fragment or .config file. The
// fault is in the input file, not in kcovlab or the kernel.
type ParseError struct {
	Source string // fragment name or .config path
	Line   int    // 1-based
	Text   string // the line as written
	Reason string // what is wrong and how to fix it
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("parse %s:%d: `%s`: %s", e.Source, e.Line, e.Text, e.Reason)
}

// SymbolValue is a symbol named in a dependency expression together with its
// value in the final config ("n" when it is absent or not set).
type SymbolValue struct {
	Symbol string // without the CONFIG_ prefix
	Value  string
}

func (s SymbolValue) String() string { return s.Symbol + "=" + s.Value }

// Mismatch is one fragment entry that did not land in the final config.
type Mismatch struct {
	Symbol   string // without the CONFIG_ prefix
	Fragment string // fragment name
	Line     int    // line of the entry in the fragment
	Want     string // requested value as written ("n" for "is not set")
	Got      string // value in the final config, "n" when absent or not set

	// DependsOn is the symbol's raw `depends on` expression from the Kconfig
	// index, or "" when unknown (no DepLookup, or n was requested).
	DependsOn string
	// Refs lists every symbol named in DependsOn with its value.
	Refs []SymbolValue
	// Unmet is the subset of Refs that keeps DependsOn from allowing Want:
	// symbols that are n where they must be set, or set under a `!`.
	Unmet []SymbolValue
}

// String renders the mismatch as one line, for example
//
//	CONFIG_A=y (x.config:3) is not set: depends on B && C [C=n]
func (m Mismatch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s=%s (%s:%d) ", symPrefix, m.Symbol, m.Want, m.Fragment, m.Line)
	if m.Got == "n" {
		b.WriteString("is not set")
	} else {
		b.WriteString("is " + m.Got)
	}
	if m.DependsOn != "" {
		b.WriteString(": depends on " + m.DependsOn)
	}
	if len(m.Unmet) > 0 {
		parts := make([]string, len(m.Unmet))
		for i, u := range m.Unmet {
			parts[i] = u.String()
		}
		b.WriteString(" [" + strings.Join(parts, ", ") + "]")
	}
	return b.String()
}

// ValidationError lists every fragment entry that the final config does not
// honour. It means the requested configuration cannot be built as asked:
// fix the fragment or satisfy the listed dependencies.
type ValidationError struct {
	Mismatches []Mismatch
}

func (e *ValidationError) Error() string {
	noun := "symbols"
	if len(e.Mismatches) == 1 {
		noun = "symbol"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d %s did not land", len(e.Mismatches), noun)
	for _, m := range e.Mismatches {
		b.WriteString("\n  " + m.String())
	}
	return b.String()
}
