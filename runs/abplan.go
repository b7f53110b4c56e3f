package runs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// ABPlan is AB's interleaved runs, the list AB makes here, as one build
// job per kernel and one run job per kernel x run number.
func ABPlan(ctx context.Context, o ABOptions, key KeyFunc) (*Plan, error) {
	sides, err := o.prepare()
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(ctx, PlanOptions{ID: "compare-" + results.NewRunID(time.Now()), Verb: "compare",
		Args: []string{o.KernelA, o.KernelB}, Key: key}, abRequests(o, sides))
	if err != nil {
		return nil, err
	}
	p.RunsPerKernel = o.Runs
	return p, nil
}

// ABOptionsOf are the options a comparison planned as p was made with,
// on top of base (this machine's results root, logging).
func ABOptionsOf(base lab.Options, p *Plan) (ABOptions, error) {
	if p.Verb != "compare" || len(p.Args) != 2 || len(p.Jobs) == 0 {
		return ABOptions{}, &lab.UsageError{Msg: fmt.Sprintf("plan %s is a %s plan, not a comparison", p.ID, p.Verb)}
	}
	b := p.build(p.Jobs[0].Build)
	o := p.LabOptions(base, b, &p.Jobs[0])
	return ABOptions{Options: o, KernelA: p.Args[0], KernelB: p.Args[1], Runs: p.RunsPerKernel}, nil
}

// ABMerge writes RESULTS/PLAN-ID from the shards of a planned comparison,
// as AB writes it on one machine: every shard's run directory is copied
// to RESULTS/RUN-ID, its outcome folded in the plan's order, and a run job
// that left no directory is a run that did not finish.
func ABMerge(ctx context.Context, o ABOptions, s *Shards) (*ABResult, error) {
	if _, err := o.prepare(); err != nil {
		return nil, err
	}
	start, _ := time.Parse(time.RFC3339, s.Plan.Created)
	cr := newAB(o, s.Plan.ID, start)
	found := map[string]Shard{}
	for _, sh := range s.Found {
		found[sh.Job.ID] = sh
	}
	for _, j := range s.Plan.Jobs {
		out := Outcome{Request: Request{Label: j.Label, Options: o.Options}, Index: j.Index}
		if sh, ok := found[j.ID]; ok {
			if err := CopyShard(sh.Dir, filepath.Join(o.ResultsDir, sh.Result.RunID)); err != nil {
				return nil, &lab.InfraError{Stage: "merge", Err: err}
			}
			out.Result, out.Err = sh.Result, resultErr(sh.Result)
		} else {
			out.Err = &lab.InfraError{Stage: "merge", Err: fmt.Errorf("run job %s left no run directory", j.ID)}
		}
		cr.fold(o, out) // every run is kept: a merge has nothing left to stop
	}
	cr, err := cr.finish(nil)
	if merr := MissingError(s.Missing); merr != nil {
		return cr, merr
	}
	return cr, err
}

// resultErr is the error a run that wrote r returned, as far as sampleOf
// needs it: only whether it finished (r.ErrorKind says why not).
func resultErr(r *results.Result) error {
	if r.Error == "" {
		return nil
	}
	return &lab.InfraError{Stage: r.ErrorKind, Err: errors.New(r.Error)}
}
