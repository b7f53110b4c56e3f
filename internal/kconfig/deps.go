package kconfig

import "strings"

// isConstWord reports whether a word in an expression is a constant rather
// than a symbol: a tristate literal or a number.
func isConstWord(w string) bool {
	return w == "y" || w == "m" || w == "n" || isNumber(w)
}

// tristate returns the expression value of a word: literals as themselves,
// symbols from cfg (anything but y or m counts as n).
func tristate(cfg *Config, w string) int {
	v := w
	if !isConstWord(w) {
		v, _ = cfg.Value(w)
	}
	switch v {
	case "y":
		return 2
	case "m":
		return 1
	}
	return 0
}

// stringValue returns an operand's value for a comparison.
func stringValue(cfg *Config, n *exprNode) string {
	if n.kind != nodeSym || isConstWord(n.text) {
		return n.text
	}
	v, _ := cfg.Value(n.text)
	if s, ok := unquote(v); ok {
		return s
	}
	return v
}

func eval(cfg *Config, n *exprNode) int {
	switch n.kind {
	case nodeSym:
		return tristate(cfg, n.text)
	case nodeMacro:
		return 2
	case nodeNot:
		return 2 - eval(cfg, n.kids[0])
	case nodeAnd, nodeOr:
		v := eval(cfg, n.kids[0])
		for _, k := range n.kids[1:] {
			if kv := eval(cfg, k); n.kind == nodeAnd && kv < v || n.kind == nodeOr && kv > v {
				v = kv
			}
		}
		return v
	case nodeCmp:
		if compare(n.text, stringValue(cfg, n.kids[0]), stringValue(cfg, n.kids[1])) {
			return 2
		}
	}
	return 0
}

// compare applies a comparison operator, numerically when both sides are
// numbers.
func compare(op, l, r string) bool {
	c := strings.Compare(l, r)
	if ln, ok := parseNumber(l); ok {
		if rn, ok := parseNumber(r); ok {
			c = cmpInt(ln, rn)
		}
	}
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0 // ">="
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// depState gathers the symbols of one expression and the ones that block it.
type depState struct {
	cfg   *Config
	refs  []SymbolValue
	unmet []SymbolValue
	seen  map[string]bool
}

// analyzeDeps lists the symbols referenced by expr with their values in cfg,
// and the ones that keep expr below the level needed to set want (m needs
// m, everything else needs y; int, hex and string symbols need anything but n).
func analyzeDeps(cfg *Config, expr, want string) (refs, unmet []SymbolValue) {
	st := &depState{cfg: cfg, seen: make(map[string]bool)}
	need := 1
	if want == "y" {
		need = 2
	}
	tree, err := parseExpr(expr)
	if err != nil {
		// Unparsable: fall back to listing every word, blaming those that are n.
		toks, _ := tokenize(expr, true)
		for _, t := range toks {
			if isWordByte(t[0]) && !isConstWord(t) {
				st.ref(t)
			}
		}
		for _, r := range st.refs {
			if r.Value == "n" {
				st.unmet = append(st.unmet, r)
			}
		}
		return st.refs, st.unmet
	}
	st.walkRefs(tree)
	st.blame(tree, need, false)
	return st.refs, st.unmet
}

func (st *depState) ref(sym string) {
	if st.seen[sym] {
		return
	}
	st.seen[sym] = true
	v, _ := st.cfg.Value(sym)
	st.refs = append(st.refs, SymbolValue{Symbol: sym, Value: v})
}

func (st *depState) walkRefs(n *exprNode) {
	if n.kind == nodeSym && !isConstWord(n.text) {
		st.ref(n.text)
	}
	for _, k := range n.kids {
		st.walkRefs(k)
	}
}

// bad reports whether n keeps its parent from reaching need; under neg the
// parent is a negation, so n is bad when it is too high.
func (st *depState) bad(n *exprNode, need int, neg bool) bool {
	v := eval(st.cfg, n)
	if neg {
		return v > 2-need
	}
	return v < need
}

// blame descends into the sub-expressions that are bad and records the
// symbols at their leaves as unmet.
func (st *depState) blame(n *exprNode, need int, neg bool) {
	if !st.bad(n, need, neg) {
		return
	}
	switch n.kind {
	case nodeSym:
		if !isConstWord(n.text) {
			st.addUnmet(n.text)
		}
	case nodeNot:
		st.blame(n.kids[0], need, !neg)
	case nodeAnd, nodeOr:
		for _, k := range n.kids {
			st.blame(k, need, neg)
		}
	case nodeCmp:
		for _, k := range n.kids {
			if k.kind == nodeSym && !isConstWord(k.text) {
				st.addUnmet(k.text)
			}
		}
	}
}

func (st *depState) addUnmet(sym string) {
	for _, u := range st.unmet {
		if u.Symbol == sym {
			return
		}
	}
	v, _ := st.cfg.Value(sym)
	st.unmet = append(st.unmet, SymbolValue{Symbol: sym, Value: v})
}
