package kconfig

// DepLookup finds what a symbol depends on. *KconfigIndex implements it.
type DepLookup interface {
	// DependsOn returns the symbol's `depends on` expression in Kconfig
	// syntax; ok is false when the symbol is unknown.
	DependsOn(sym string) (expr string, ok bool)
}

// Validate checks the fragments against the final config. A requested y, m,
// number or string must be present with an equal value; a requested n must be
// absent or not set. When a symbol is assigned more than once, only its last
// assignment (the one olddefconfig honours) is checked. deps may be nil.
//
// Validate returns nil or a *ValidationError listing every mismatch in
// fragment order.
func Validate(cfg *Config, frags []*Fragment, deps DepLookup) error {
	type pos struct{ frag, entry int }
	last := make(map[string]pos)
	for fi, f := range frags {
		for ei, e := range f.Entries {
			last[e.Symbol] = pos{fi, ei}
		}
	}
	var ms []Mismatch
	for fi, f := range frags {
		for ei := range f.Entries {
			e := &f.Entries[ei]
			if last[e.Symbol] != (pos{fi, ei}) || landed(cfg, e) {
				continue
			}
			ms = append(ms, mismatch(cfg, f.Name, e, deps))
		}
	}
	if len(ms) == 0 {
		return nil
	}
	return &ValidationError{Mismatches: ms}
}

func landed(cfg *Config, e *Entry) bool {
	got, set := cfg.Value(e.Symbol)
	if e.Value == "n" {
		return !set
	}
	return set && sameValue(e.Value, got)
}

func mismatch(cfg *Config, frag string, e *Entry, deps DepLookup) Mismatch {
	got, _ := cfg.Value(e.Symbol)
	m := Mismatch{Symbol: e.Symbol, Fragment: frag, Line: e.Line, Want: e.Value, Got: got}
	if e.Value == "n" || deps == nil {
		return m
	}
	if expr, ok := deps.DependsOn(e.Symbol); ok && expr != "" {
		m.DependsOn = expr
		m.Refs, m.Unmet = analyzeDeps(cfg, expr, e.Value)
	}
	return m
}
