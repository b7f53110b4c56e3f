package runs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

func TestRecorderRecordsAndPasses(t *testing.T) {
	var r Recorder
	res, err := r.Run(context.Background(), lab.Options{Kernel: "v2", Scenarios: []string{"smoke", "unique"}})
	if err != nil || !res.Passed() || len(res.Scenarios) != 2 || res.RunID == "" {
		t.Fatalf("placeholder %+v, %v: want a passing run of both scenarios", res, err)
	}
	r.Run(context.Background(), lab.Options{Series: "/x.mbox"})
	reqs := r.Requests()
	if len(reqs) != 2 || reqs[0].Label != "v2" || reqs[1].Label != "/x.mbox" {
		t.Errorf("requests %+v", reqs)
	}
}

// shardOf writes a run directory for job holding r.
func shardOf(t *testing.T, job RunJob, r *results.Result) Shard {
	t.Helper()
	dir := filepath.Join(t.TempDir(), r.RunID)
	os.MkdirAll(dir, 0o755)
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return Shard{Job: job, Dir: dir, Result: r}
}

func TestReplayerServesByKernelAndScenarios(t *testing.T) {
	jobs := []RunJob{
		{ID: "v2-1", Label: "v2", Scenarios: []string{"overflow"}, Index: 0},
		{ID: "v4-2", Label: "v4", Scenarios: []string{"overflow"}, Index: 1},
		{ID: "v2-3", Label: "v2", Scenarios: []string{"overflow"}, Index: 2},
		{ID: "v4-4", Label: "v4", Scenarios: []string{"overflow"}, Index: 3},
	}
	res := func(id string, verdict string) *results.Result {
		return &results.Result{Schema: results.SchemaVersion, RunID: "run-" + id, Scenarios: []results.Scenario{{Name: "overflow", Verdict: verdict}}}
	}
	s := &Shards{Plan: &Plan{ID: "ask-x", Jobs: jobs},
		Found:   []Shard{shardOf(t, jobs[0], res("v2-1", results.Pass)), shardOf(t, jobs[1], res("v4-2", results.Fail)), shardOf(t, jobs[2], res("v2-3", results.Pass))},
		Missing: []RunJob{jobs[3]}}
	rp := NewReplayer(s)
	out := t.TempDir()
	ask := func(kernel string) (*results.Result, error) {
		return rp.Run(context.Background(), lab.Options{Kernel: kernel, Scenarios: []string{"overflow"}, ResultsDir: out})
	}
	// Asked out of the plan's order (a pool): each kernel's runs in turn.
	if r, err := ask("v4"); err == nil || !errors.Is(err, lab.ErrScenarioFailed) || r.RunID != "run-v4-2" {
		t.Errorf("v4 first: %v, %v; want run-v4-2 with its failed scenario", r, err)
	}
	if r, err := ask("v2"); err != nil || r.RunID != "run-v2-1" {
		t.Errorf("v2 first: %v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(out, "run-v2-1", "result.json")); err != nil {
		t.Errorf("shard not copied to the results root: %v", err)
	}
	if r, err := ask("v2"); err != nil || r.RunID != "run-v2-3" {
		t.Errorf("v2 second: %v, %v", r, err)
	}
	if len(rp.Unused()) != 1 || rp.Err() != nil {
		t.Errorf("unused %v, err %v", rp.Unused(), rp.Err())
	}
	var ie *lab.InfraError
	if _, err := ask("v4"); !errors.As(err, &ie) || rp.Err() != nil {
		t.Errorf("v4 second (no shard): %v, want a run that did not finish, no divergence", err)
	}
	var de *DivergedError
	if _, err := ask("v2"); !errors.As(err, &de) || !errors.As(rp.Err(), &de) || de.Kernel != "v2" {
		t.Errorf("v2 third (not planned): %v, %v; want a divergence naming v2", err, rp.Err())
	}
	if _, err := rp.Run(context.Background(), lab.Options{Kernel: "v4", Scenarios: []string{"smoke"}}); !errors.As(err, &de) {
		t.Errorf("v4 with other scenarios: %v, want a divergence", err)
	}
}
