package kconfig

import (
	"fmt"
	"strings"
)

// This file evaluates Kconfig `depends on` expressions against a final
// config, to explain why a requested symbol did not land. Tristates are
// 0 (n), 1 (m) and 2 (y). Macros such as $(cc-option,...) cannot be
// evaluated here and count as y.

type nodeKind int

const (
	nodeSym   nodeKind = iota // symbol or constant word
	nodeStr                   // quoted string constant
	nodeMacro                 // $(...) preprocessor macro
	nodeNot
	nodeAnd
	nodeOr
	nodeCmp // kids[0] text kids[1]
)

type exprNode struct {
	kind nodeKind
	text string // symbol name, literal, macro text or comparison operator
	kids []*exprNode
}

// tokenize splits a Kconfig expression into words, strings, macros and
// operators. When lenient, characters it does not understand are skipped
// instead of failing.
func tokenize(s string, lenient bool) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		var n int
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			n = macroLen(s[i:])
		case c == '"' || c == '\'':
			n = quotedLen(s[i:])
		case isWordByte(c):
			for n = 1; i+n < len(s) && isWordByte(s[i+n]); n++ {
			}
		default:
			n = opLen(s[i:])
		}
		if n == 0 && lenient {
			i++
			continue
		}
		if n == 0 {
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i:], i)
		}
		toks = append(toks, s[i:i+n])
		i += n
	}
	return toks, nil
}

func isWordByte(c byte) bool { return isSymbolByte(c) || c == '-' }

// macroLen returns the length of the $(...) macro at the start of s, or 0.
func macroLen(s string) int {
	depth := 0
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// quotedLen returns the length of the quoted string at the start of s, or 0.
func quotedLen(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case s[0]:
			return i + 1
		}
	}
	return 0
}

func opLen(s string) int {
	for _, op := range []string{"&&", "||", "!=", "<=", ">=", "!", "(", ")", "=", "<", ">"} {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	return 0
}

// exprParser is a recursive-descent parser for Kconfig expressions:
//
//	or    = and { "||" and }
//	and   = unary { "&&" unary }
//	unary = "!" unary | "(" or ")" | operand [ cmpop operand ]
type exprParser struct {
	toks []string
	pos  int
}

func parseExpr(s string) (*exprNode, error) {
	toks, err := tokenize(s, false)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) binary(op string, kind nodeKind, next func() (*exprNode, error)) (*exprNode, error) {
	n, err := next()
	if err != nil {
		return nil, err
	}
	for p.peek() == op {
		p.pos++
		r, err := next()
		if err != nil {
			return nil, err
		}
		if n.kind == kind {
			n.kids = append(n.kids, r)
		} else {
			n = &exprNode{kind: kind, kids: []*exprNode{n, r}}
		}
	}
	return n, nil
}

func (p *exprParser) or() (*exprNode, error)  { return p.binary("||", nodeOr, p.and) }
func (p *exprParser) and() (*exprNode, error) { return p.binary("&&", nodeAnd, p.unary) }

func (p *exprParser) unary() (*exprNode, error) {
	switch p.peek() {
	case "!":
		p.pos++
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &exprNode{kind: nodeNot, kids: []*exprNode{k}}, nil
	case "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return n, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch op := p.peek(); op {
	case "=", "!=", "<", "<=", ">", ">=":
		p.pos++
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &exprNode{kind: nodeCmp, text: op, kids: []*exprNode{l, r}}, nil
	}
	return l, nil
}

func (p *exprParser) operand() (*exprNode, error) {
	t := p.peek()
	if t == "" {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	p.pos++
	switch {
	case strings.HasPrefix(t, "$("):
		return &exprNode{kind: nodeMacro, text: t}, nil
	case t[0] == '"' || t[0] == '\'':
		return &exprNode{kind: nodeStr, text: t[1 : len(t)-1]}, nil
	case isWordByte(t[0]):
		return &exprNode{kind: nodeSym, text: t}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t)
}
