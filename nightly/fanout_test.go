package nightly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// fakeRun writes a run directory; reset fails on v2, kselftest is skipped
// on vanilla, everything else passes.
func fakeRun(_ context.Context, o lab.Options) (*results.Result, error) {
	r := &results.Result{Schema: results.SchemaVersion, Accel: "tcg",
		Kernel: results.Kernel{Name: o.Kernel, Key: fmt.Sprintf("%016x", len(o.Kernel))}}
	var err error
	for _, s := range o.Scenarios {
		v := results.Pass
		switch {
		case s == "reset" && o.Kernel == "v2":
			v, err = results.Fail, lab.ErrScenarioFailed
		case s == "kselftest" && o.Kernel == "vanilla":
			v = results.Skip
		}
		r.Scenarios = append(r.Scenarios, results.Scenario{Name: s, Verdict: v, Metrics: map[string]float64{"pcs": 9}})
	}
	if werr := runstest.WriteRun(o, r); werr != nil {
		return nil, werr
	}
	if err == nil && r.NothingChecked() {
		err = lab.ErrNothingChecked
	}
	return r, err
}

func fakeKey(_ context.Context, o lab.Options) (string, error) {
	return fmt.Sprintf("%016x", len(o.Kernel)), nil
}

// cases lists "kernel scenario verdict" of a nightly directory's runs.
func cases(t *testing.T, dir string) []string {
	t.Helper()
	rs, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		for _, s := range r.Scenarios {
			out = append(out, r.Kernel.Name+" "+s.Name+" "+s.Verdict)
		}
	}
	slices.Sort(out)
	return out
}

func options(root string) Options {
	return Options{Options: lab.Options{ResultsDir: root, Scenarios: []string{"smoke", "reset", "kselftest"}},
		Kernels: []string{"vanilla", "v2"}, run: fakeRun}
}

// fanOut plans the nightly, runs every job into its own shard directory
// (except those in skip) and returns the shards.
func fanOut(t *testing.T, root string, skip ...string) *runs.Shards {
	t.Helper()
	p, err := Plan(context.Background(), options(root), fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	shards := t.TempDir()
	for _, j := range p.Jobs {
		if slices.Contains(skip, j.ID) {
			continue
		}
		_, err := runs.Jobs{Run: fakeRun, Key: fakeKey, Built: func(context.Context, lab.Options) (bool, error) { return true, nil }}.
			Do(context.Background(), p, j.ID, lab.Options{ResultsDir: filepath.Join(shards, j.ID)})
		if err != nil && !errors.Is(err, lab.ErrScenarioFailed) {
			t.Fatal(err)
		}
	}
	s, err := runs.LoadShards([]string{shards})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMergedNightlyIsTheOneMachineNightly(t *testing.T) {
	root := t.TempDir()
	one, err := Nightly(context.Background(), options(root))
	if !errors.Is(err, lab.ErrScenarioFailed) {
		t.Fatalf("one machine: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // another nightly-DATE
	s := fanOut(t, root)
	if len(s.Plan.Jobs) != 6 || len(s.Plan.Builds) != 2 {
		t.Fatalf("plan: %d builds %d jobs, want 2 x 3", len(s.Plan.Builds), len(s.Plan.Jobs))
	}
	merged, err := Merge(context.Background(), Options{Options: lab.Options{ResultsDir: root}}, s)
	if !errors.Is(err, lab.ErrScenarioFailed) {
		t.Fatalf("merged: %v", err)
	}
	if a, b := cases(t, one.Dir), cases(t, merged.Dir); !slices.Equal(a, b) {
		t.Fatalf("one machine:\n%s\nmerged:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if merged.Prev != one.Dir || merged.Diff == nil || len(merged.Diff.NewFailures)+len(merged.Diff.Fixed)+len(merged.Diff.Added)+len(merged.Diff.Removed) != 0 {
		t.Fatalf("merged nightly compared with %q: %+v", merged.Prev, merged.Diff)
	}
	for _, f := range []string{report.JUnitFile, report.KTAPFile, report.HTMLFile, "comparison.json", "shards/v2-reset/job.json"} {
		if _, err := os.Stat(filepath.Join(merged.Dir, f)); err != nil {
			t.Errorf("merged nightly: %v", err)
		}
	}
	if _, err := Merge(context.Background(), Options{Options: lab.Options{ResultsDir: root}}, s); err == nil {
		t.Fatal("a second merge of one plan overwrote the first")
	}
}

func TestMergeNamesAMissingShard(t *testing.T) {
	root := t.TempDir()
	s := fanOut(t, root, "vanilla-smoke")
	nr, err := Merge(context.Background(), Options{Options: lab.Options{ResultsDir: root}}, s)
	var ie *lab.InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "vanilla-smoke") {
		t.Fatalf("err %v", err)
	}
	got := cases(t, nr.Dir)
	if !slices.Contains(got, "vanilla smoke error") {
		t.Fatalf("the missing shard is not its scenario's error: %v", got)
	}
	junit, _ := os.ReadFile(filepath.Join(nr.Dir, report.JUnitFile))
	if !strings.Contains(string(junit), "run job vanilla-smoke left no run directory") {
		t.Fatalf("junit.xml does not name the missing shard:\n%s", junit)
	}
}
