//go:build linux

// Command smoke is kcovlab's first scenario: enable KCOV in TRACE_PC mode
// around one read(-1, NULL, 0) and require that the kernel recorded coverage.
package main

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
)

const bufWords = 64 << 10

func main() { scenarios.Main("smoke", measure) }

func measure(o *scenarios.Outcome, _ string) error {
	d, err := kcov.OpenMapped(bufWords, true)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Enable(kcov.TracePC); err != nil {
		return err
	}
	d.ResetCount()
	kcov.NullSyscall()
	tr, err := d.Snapshot()
	if derr := d.Disable(); err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	unique := kcov.Unique(tr.PCs)
	o.Metrics = map[string]float64{
		"pcs":        float64(tr.Count),
		"unique_pcs": float64(len(unique)),
		"buf_words":  bufWords,
	}
	o.Pass = tr.Count > 0 && !tr.Saturated
	for i, pc := range unique {
		if i == 8 {
			break
		}
		o.Evidence = append(o.Evidence, fmt.Sprintf("pc %#x", pc))
	}
	return nil
}
