package ask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Plannable says whether kcovlab plan ask can cut a recipe into jobs, and
// if not, why.
func (r Recipe) Plannable() (bool, string) {
	return r.noPlan == "", r.noPlan
}

// errNotPlannable stops a recipe that reached for a built kernel while
// being planned: such a recipe must say noPlan.
var errNotPlannable = errors.New("reads a built kernel, which a plan cannot record")

// Plan is the recipe's runs as a plan: the recipe is answered once with
// a runs.Recorder, every run a placeholder that boots nothing (a finished
// run whose scenarios passed and measured nothing), and the runs it asked
// for become one run job each (and a build job per kernel). kcovlab merge
// replays the recipe on the shards (Merge). A recipe that reads built
// kernels or chooses its runs from earlier results (noPlan) is refused.
func Plan(ctx context.Context, ao Options, key runs.KeyFunc) (*runs.Plan, error) {
	rec, err := LookupRecipe(ao.Recipe)
	if err != nil {
		return nil, err
	}
	if rec.noPlan != "" {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan ask: recipe %s cannot be planned: %s; run kcovlab ask %s on one machine", rec.Name, rec.noPlan, rec.Name)}
	}
	tmp, err := os.MkdirTemp("", "kcovlab-plan-ask-")
	if err != nil {
		return nil, &lab.InfraError{Stage: "results", Err: err}
	}
	defer os.RemoveAll(tmp)
	var r runs.Recorder
	po := ao
	po.ResultsDir, po.Out, po.Parallel, po.run = tmp, io.Discard, 1, r.Run
	po.build = func(context.Context, lab.Options) (*kbuild.Kernel, results.Kernel, error) {
		return nil, results.Kernel{}, errNotPlannable
	}
	po.source = func(context.Context, lab.Options, string) ([]byte, error) { return nil, errNotPlannable }
	a, err := newAsker(po)
	if err != nil {
		return nil, err
	}
	_, rerr := a.answer(ctx) // placeholders measure nothing: the recipe's own verdict means nothing here
	if errors.Is(rerr, errNotPlannable) {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan ask: recipe %s %v; run kcovlab ask %s on one machine", rec.Name, errNotPlannable, rec.Name)}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p, err := runs.NewPlan(ctx, runs.PlanOptions{ID: "ask-" + rec.Name + "-" + results.NewRunID(time.Now()), Verb: "ask",
		Args: append([]string{rec.Name}, a.kernels...), Key: key}, r.Requests())
	if err != nil {
		return nil, err
	}
	p.RunsPerKernel = a.runs
	return p, nil
}

// Merge writes the answer of a planned recipe from its shards, as Ask
// writes it on one machine, into RESULTS/PLAN-ID: the recipe is replayed
// with a runs.Replayer serving the shards' results in the order it asks
// for them (each shard's run directory copied into RESULTS). A run the
// plan lacks (the real results took the recipe another way than its
// placeholders) is a *runs.DivergedError; run jobs that left no directory
// are named (runs.MissingError). Both are errors after the answer is
// written.
func Merge(ctx context.Context, base lab.Options, s *runs.Shards) (*Answer, error) {
	p := s.Plan
	if p.Verb != "ask" || len(p.Args) == 0 || len(p.Jobs) == 0 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan %s is a %s plan, not an ask", p.ID, p.Verb)}
	}
	_, b := p.Job(p.Jobs[0].ID)
	rp := runs.NewReplayer(s)
	ao := Options{Options: p.LabOptions(base, b, nil), Recipe: p.Args[0], Kernels: p.Args[1:], Runs: p.RunsPerKernel,
		Parallel: 1, run: rp.Run, id: p.ID}
	a, err := newAsker(ao)
	if err != nil {
		return nil, err
	}
	ans, err := a.answer(ctx)
	if derr := rp.Err(); derr != nil {
		return ans, derr
	}
	if merr := runs.MissingError(s.Missing); merr != nil {
		return ans, merr
	}
	if unused := rp.Unused(); len(unused) > 0 && a.opts.Log != nil {
		a.opts.Log.Info("merge: the recipe stopped before these run jobs, as it would have on one machine", "jobs", len(unused), "first", unused[0].ID)
	}
	return ans, err
}
