package nightly

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Plan is the nightly's work, the same list Nightly runs, cut into one
// build job per kernel and one run job per kernel x scenario for a CI
// matrix. key is lab.KernelKey unless a test gives a stand-in.
func Plan(ctx context.Context, no Options, key runs.KeyFunc) (*runs.Plan, error) {
	reqs, err := no.requests()
	if err != nil {
		return nil, err
	}
	// The run id's random suffix keeps a planned nightly's directory apart
	// from one a nightly started in the same second here writes.
	id := nightlyPrefix + results.NewRunID(time.Now())
	p, err := runs.NewPlan(ctx, runs.PlanOptions{ID: id, Verb: "nightly", Split: true, Key: key}, reqs)
	if err != nil {
		return nil, err
	}
	p.Tolerance = no.Tolerance
	return p, nil
}

// ShardsDir is where a merged nightly keeps its shards' run directories.
const ShardsDir = "shards"

// Merge writes RESULTS/PLAN-ID from the shards of a planned nightly, as
// Nightly writes it on one machine: one result per kernel (its shards
// combined, see runs.Combine), junit.xml, results.ktap, report.html, and
// the comparison with the newest earlier nightly in RESULTS. The shards'
// run directories are copied under shards/JOB. A missing shard is its
// scenarios' error and makes the error an *lab.InfraError.
func Merge(ctx context.Context, no Options, s *runs.Shards) (*Result, error) {
	if err := no.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if no.Tolerance == 0 {
		no.Tolerance = s.Plan.Tolerance
	}
	nr := &Result{Dir: filepath.Join(no.ResultsDir, s.Plan.ID)}
	if _, err := os.Stat(nr.Dir); err == nil {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("merge: %s exists: this nightly was merged already (pass another --results)", nr.Dir)}
	}
	nr.Prev = previousNightly(no.ResultsDir, nr.Dir)
	parts := map[int][]runs.Shard{}
	missing := map[int][]runs.RunJob{}
	var order []int
	note := func(i int) {
		if len(parts[i]) == 0 && len(missing[i]) == 0 {
			order = append(order, i)
		}
	}
	for _, sh := range s.Found {
		note(sh.Job.Index)
		parts[sh.Job.Index] = append(parts[sh.Job.Index], sh)
	}
	for _, m := range s.Missing {
		note(m.Index)
		missing[m.Index] = append(missing[m.Index], m)
	}
	slices.Sort(order)
	for _, i := range order {
		r := runs.Combine(parts[i], missing[i])
		if err := writeCombined(nr.Dir, r); err != nil {
			return nr, &lab.InfraError{Stage: "merge", Err: err}
		}
		nr.Runs = append(nr.Runs, r)
		for _, m := range missing[i] {
			nr.Infra = append(nr.Infra, fmt.Sprintf("%s (run job %s left no run directory)", m.Label, m.ID))
		}
	}
	for _, sh := range s.Found {
		if err := runs.CopyShard(sh.Dir, filepath.Join(nr.Dir, ShardsDir, sh.Job.ID)); err != nil {
			return nr, &lab.InfraError{Stage: "merge", Err: err}
		}
	}
	return nr, nr.finish(no)
}

// writeCombined writes one kernel's combined result as a run directory of
// the nightly: result.json and its own junit.xml, results.ktap, report.html.
func writeCombined(dir string, r *results.Result) error {
	rd := filepath.Join(dir, r.RunID)
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return err
	}
	if err := r.Write(rd); err != nil {
		return err
	}
	return report.WriteRunDir(rd, []*results.Result{r})
}
