// Package compare is the compare verb: two kernels run the same scenarios
// many times, interleaved, and every metric tested for a difference
// (median, min..max, two-sided Mann-Whitney U); Metrics does the
// statistics alone, over runs already made.
//
// It owns the verb's defaults, what it prints and its statistics over
// existing runs; the interleaved runs and compare.json come from runs.AB,
// which ask shares. It must not import another verb, nor reach QEMU, SSH,
// the guest image or the kernel build.
//
// Host needs: those of lab.Run. Tests (go test -short ./compare/) use a
// fake run; the real comparison is the e2e suite (make e2e).
package compare

import (
	"context"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Options configure Compare: two kernels run the same scenarios Runs
// times each, interleaved A, B, A, B, ... on this machine, every run a
// fresh boot so that the samples are independent.
type Options struct {
	// Options are what every run gets; Kernel, Series and Exclude are
	// replaced by KernelA and KernelB, and Out gets the comparison only.
	lab.Options
	// KernelA and KernelB are named kernels (see lab.Kernels) or series:
	// an mbox, a directory of .patch files or REPO:RANGE.
	KernelA, KernelB string
	// Runs per kernel [5]. Below 4 no p-value can fall under 0.05.
	Runs int
	// Parallel is how many runs boot at once (--jobs) [1].
	Parallel int

	// run does one run [lab.Run]; tests replace it.
	run runs.RunFunc
}

// Result is what Compare leaves in RESULTS/compare-ID.
type Result = runs.ABResult

// MetricStat is one scenario metric of two kernels compared.
type MetricStat = report.MetricStat

// Metrics computes, without running anything, every scenario metric's
// median and min..max for two sets of existing runs, the change of the
// median from a to b and a two-sided Mann-Whitney U p-value. Runs that
// stopped early and scenarios that neither passed nor failed are left out.
// Significant metrics (p < 0.05) come first.
func Metrics(a, b []*results.Result) []MetricStat {
	return report.CompareSamples(a, b)
}

// Compare runs both kernels co.Runs times, interleaved, and compares every
// metric the scenarios report. It writes RESULTS/compare-ID/compare.json
// and compare.html (each run keeps its own RESULTS/RUN-ID directory) and
// prints the comparison to Out. The error is nil when every run passed,
// lab.ErrScenarioFailed when a run's scenario failed or errored, a
// *lab.InfraError when a run did not finish (its sample is left out of
// the statistics); a kernel that does not build stops the comparison with
// that error.
func Compare(ctx context.Context, co Options) (*Result, error) {
	out := co.Out
	if out == nil {
		out = io.Discard // lab.Options.Defaults' default
	}
	cr, err := runs.AB(ctx, runs.ABOptions{Options: co.Options, KernelA: co.KernelA, KernelB: co.KernelB, Runs: co.Runs, Parallel: co.Parallel, Run: co.run})
	if cr == nil {
		return nil, err
	}
	cr.Comparison.WriteText(out, co.Color)
	fmt.Fprintf(out, "results: %s\n", cr.Dir)
	return cr, err
}
