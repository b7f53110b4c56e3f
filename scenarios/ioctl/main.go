//go:build linux

// Command ioctl checks the error table of the dedup series' two ioctls,
// KCOV_UNIQUE_ENABLE and KCOV_RESET_TRACE, row by row against what the
// series' kernel/kcov.c does (scenarios/internal/cases holds the rows and
// cites the lines; v2 and v4 have the same code there), on the kernel
// class the host passes: unique (CONFIG_KCOV_UNIQUE=y), nounique (series,
// =n) or unpatched (no series). Rows that cannot be set up on a class are
// skipped. Every row runs on a thread of its own, so a failed row cannot
// leave coverage on for the next one. It passes iff no row failed.
package main

import (
	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/cases"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

func main() { scenarios.Main("ioctl", measure) }

func measure(o *scenarios.Outcome, kernel string) error {
	class, err := check.Start(kernel)
	if err != nil {
		return err
	}
	var r check.Report
	for _, k := range cases.All() {
		r.Add(k.Eval(class, kcov.OnNewThread))
	}
	r.Metrics("rows", o.Metrics)
	o.Metrics["buf_words"] = cases.BufWords
	o.Metrics["bitmap_words"] = cases.BitmapWords
	o.Evidence = r.Evidence
	check.AddFloor(o)
	o.Pass = r.OK()
	return nil
}
