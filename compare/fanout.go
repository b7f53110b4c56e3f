package compare

import (
	"context"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Plan is the comparison's interleaved runs, the list Compare makes, as
// one build job per kernel and one run job per kernel x run number.
func Plan(ctx context.Context, co Options, key runs.KeyFunc) (*runs.Plan, error) {
	return runs.ABPlan(ctx, runs.ABOptions{Options: co.Options, KernelA: co.KernelA, KernelB: co.KernelB, Runs: co.Runs}, key)
}

// Merge writes the comparison of a planned compare from its shards, as
// Compare writes it, and prints it to base.Out.
func Merge(ctx context.Context, base lab.Options, s *runs.Shards) (*Result, error) {
	o, err := runs.ABOptionsOf(base, s.Plan)
	if err != nil {
		return nil, err
	}
	cr, err := runs.ABMerge(ctx, o, s)
	if cr == nil {
		return nil, err
	}
	out := base.Out
	if out == nil {
		out = io.Discard
	}
	cr.Comparison.WriteText(out, base.Color)
	fmt.Fprintf(out, "results: %s\n", cr.Dir)
	return cr, err
}
