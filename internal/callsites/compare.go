package callsites

import "path/filepath"

// Diff puts two reports side by side: A is the baseline (a trace-pc
// kernel), B the kernel under test (trace-pc-guard, same config).
type Diff struct {
	A    string    `json:"a"`
	B    string    `json:"b"`
	Rows []DiffRow `json:"rows"`
}

// DiffRow is one quantity in both reports.
type DiffRow struct {
	Name  string `json:"name"`
	A     int64  `json:"a"`
	B     int64  `json:"b"`
	Delta int64  `json:"delta"` // B - A
	// Percent is Delta / A * 100, nil when A is 0.
	Percent *float64 `json:"percent,omitempty"`
}

// Compare lists call sites (PC hooks, each hook, comparison hooks), their
// bytes, the section sizes and the guard array of a and b.
func Compare(a, b *Report) *Diff {
	d := &Diff{A: a.Label(), B: b.Label()}
	add := func(name string, va, vb int64) {
		r := DiffRow{Name: name, A: va, B: vb, Delta: vb - va}
		if va != 0 {
			p := 100 * float64(r.Delta) / float64(va)
			r.Percent = &p
		}
		d.Rows = append(d.Rows, r)
	}
	add("PC hook call sites", int64(a.Cost.PCSites), int64(b.Cost.PCSites))
	for _, name := range Hooks {
		ha, hb := a.Hook(name), b.Hook(name)
		if ha.Addr != 0 || hb.Addr != 0 {
			add("  "+name, int64(ha.Sites), int64(hb.Sites))
		}
	}
	add("comparison call sites", int64(a.Cost.CmpSites), int64(b.Cost.CmpSites))
	add("PC call site bytes", int64(a.Cost.PCBytes), int64(b.Cost.PCBytes))
	add("all call site bytes", int64(a.Cost.SiteBytes), int64(b.Cost.SiteBytes))
	add("function code bytes", int64(a.CodeBytes()), int64(b.CodeBytes()))
	add(".text", int64(a.Sizes.Text), int64(b.Sizes.Text))
	add(".init.text", int64(a.Sizes.InitText), int64(b.Sizes.InitText))
	add(".rodata", int64(a.Sizes.Rodata), int64(b.Sizes.Rodata))
	add(".data", int64(a.Sizes.Data), int64(b.Sizes.Data))
	add(".bss", int64(a.Sizes.Bss), int64(b.Sizes.Bss))
	add("guard bytes", int64(a.Sizes.Guards), int64(b.Sizes.Guards))
	add("file bytes", int64(a.Sizes.File), int64(b.Sizes.File))
	return d
}

// Label is the report's Name, or else the base name of its Path.
func (r *Report) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return filepath.Base(r.Path)
}

// CodeBytes is the size of every function walked.
func (r *Report) CodeBytes() uint64 {
	var n uint64
	for _, s := range r.Exec {
		n += s.CodeBytes
	}
	return n
}
