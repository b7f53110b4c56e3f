package runs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// Record and replay plan a verb that decides its runs as it goes (ask):
// a Recorder answers every run with a placeholder and keeps the requests,
// which become the plan; a Replayer answers the same requests from the
// plan's shards, so the verb's own code writes its output unchanged.

// runLabel names a run's kernel: the named kernel, else its series.
func runLabel(o lab.Options) string {
	if o.Kernel != "" {
		return o.Kernel
	}
	return o.Series
}

// Recorder is a RunFunc that boots nothing: it keeps each run's request
// and answers with a placeholder, a finished run whose scenarios passed
// and measured nothing. Safe for runs at once.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
}

// Run records o and returns the placeholder.
func (r *Recorder) Run(_ context.Context, o lab.Options) (*results.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, Request{Label: runLabel(o), Options: o})
	res := &results.Result{Schema: results.SchemaVersion, RunID: fmt.Sprintf("planned-%d", len(r.requests)),
		Kernel: results.Kernel{Name: runLabel(o)}}
	for _, s := range o.Scenarios {
		res.Scenarios = append(res.Scenarios, results.Scenario{Name: s, Verdict: results.Pass})
	}
	return res, nil
}

// Requests are the recorded runs, in the order they were asked for.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// DivergedError says a replayed verb asked for a run its plan lacks: the
// real results took it another way than the placeholders it was planned
// with. Its answer cannot be merged from these shards.
type DivergedError struct {
	Plan, Kernel string
	Scenarios    []string
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("the replayed %s asks for a run of %s with scenarios %v that the plan does not have (its choices followed the real results, not the plan's placeholders): run it on one machine instead", e.Plan, e.Kernel, e.Scenarios)
}

// Replayer is a RunFunc that boots nothing: it answers each run with the
// shard of the plan's first unused run job of the same kernel and
// scenarios, copying the shard's run directory to the run's results root
// (as a run on this machine would have written it). A run the plan lacks
// is a *DivergedError (also kept, see Err: a verb may not pass a run's
// error on); a job with no shard is a run that did not finish. Safe for
// runs at once.
type Replayer struct {
	s        *Shards
	mu       sync.Mutex
	used     map[string]bool
	diverged error
}

// NewReplayer serves s's shards.
func NewReplayer(s *Shards) *Replayer {
	return &Replayer{s: s, used: map[string]bool{}}
}

// Run answers one run from the shards.
func (r *Replayer) Run(_ context.Context, o lab.Options) (*results.Result, error) {
	label := runLabel(o)
	r.mu.Lock()
	var job *RunJob
	for i, j := range r.s.Plan.Jobs {
		if !r.used[j.ID] && j.Label == label && slices.Equal(j.Scenarios, o.Scenarios) {
			job = &r.s.Plan.Jobs[i]
			r.used[j.ID] = true
			break
		}
	}
	if job == nil {
		err := &lab.InfraError{Stage: "merge", Err: &DivergedError{Plan: r.s.Plan.ID, Kernel: label, Scenarios: o.Scenarios}}
		if r.diverged == nil {
			r.diverged = err
		}
		r.mu.Unlock()
		return nil, err
	}
	r.mu.Unlock()
	i := slices.IndexFunc(r.s.Found, func(sh Shard) bool { return sh.Job.ID == job.ID })
	if i < 0 {
		return nil, &lab.InfraError{Stage: "merge", Err: fmt.Errorf("run job %s left no run directory", job.ID)}
	}
	sh := r.s.Found[i]
	if err := CopyShard(sh.Dir, filepath.Join(o.ResultsDir, sh.Result.RunID)); err != nil {
		return nil, &lab.InfraError{Stage: "merge", Err: err}
	}
	return sh.Result, runErr(sh.Result)
}

// Err is the first divergence, or nil.
func (r *Replayer) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.diverged
}

// Unused are the plan's run jobs no replayed run asked for (the verb
// stopped early, as it would have on one machine).
func (r *Replayer) Unused() []RunJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RunJob
	for _, j := range r.s.Plan.Jobs {
		if !r.used[j.ID] {
			out = append(out, j)
		}
	}
	return out
}

// runErr is the error lab.Run returned with r: why it did not finish, or
// that a scenario failed or nothing was checked.
func runErr(r *results.Result) error {
	switch {
	case r.Error != "":
		return &lab.InfraError{Stage: r.ErrorKind, Err: errors.New(r.Error)}
	case r.NothingChecked():
		return lab.ErrNothingChecked
	case !r.Passed():
		return lab.ErrScenarioFailed
	}
	return nil
}
