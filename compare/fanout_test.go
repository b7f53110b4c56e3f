package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// diskRun writes a run directory whose smoke pcs is 9 on vanilla, 12 on v2.
func diskRun(_ context.Context, o lab.Options) (*results.Result, error) {
	pcs := map[string]float64{"vanilla": 9, "v2": 12}[o.Kernel]
	r := &results.Result{Schema: results.SchemaVersion, Accel: "tcg",
		Kernel:    results.Kernel{Name: o.Kernel, Key: "key-" + o.Kernel},
		Scenarios: []results.Scenario{{Name: "smoke", Verdict: results.Pass, Metrics: map[string]float64{"pcs": pcs}}}}
	return r, runstest.WriteRun(o, r)
}

func fakeKey(_ context.Context, o lab.Options) (string, error) {
	return fmt.Sprintf("%016x", len(o.Kernel)), nil
}

func shardsOf(t *testing.T, skip string) *runs.Shards {
	t.Helper()
	co := Options{Options: lab.Options{Scenarios: []string{"smoke"}, ResultsDir: t.TempDir()}, KernelA: "vanilla", KernelB: "v2", Runs: 3}
	p, err := Plan(context.Background(), co, fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Jobs) != 6 || len(p.Builds) != 2 {
		t.Fatalf("plan: %d builds, %d jobs", len(p.Builds), len(p.Jobs))
	}
	dir := t.TempDir()
	for _, j := range p.Jobs {
		if j.ID == skip {
			continue
		}
		jobs := runs.Jobs{Run: diskRun, Key: fakeKey, Built: func(context.Context, lab.Options) (bool, error) { return true, nil }}
		if _, err := jobs.Do(context.Background(), p, j.ID, lab.Options{ResultsDir: filepath.Join(dir, j.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := runs.LoadShards([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMergedComparison(t *testing.T) {
	root := t.TempDir()
	var out strings.Builder
	cr, err := Merge(context.Background(), lab.Options{ResultsDir: root, Out: &out}, shardsOf(t, ""))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	c := cr.Comparison
	if len(c.A.Samples) != 3 || len(c.B.Samples) != 3 || c.A.Name != "vanilla" || c.B.Name != "v2" {
		t.Fatalf("samples: A %d B %d", len(c.A.Samples), len(c.B.Samples))
	}
	if len(c.Metrics) == 0 || c.Metrics[0].A.Median != 9 || c.Metrics[0].B.Median != 12 {
		t.Fatalf("metrics: %+v", c.Metrics)
	}
	for _, s := range c.A.Samples {
		if _, err := os.Stat(filepath.Join(cr.Dir, s.Dir, "result.json")); err != nil {
			t.Errorf("sample %d's run directory %s: %v", s.Seq, s.Dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cr.Dir, report.ABJSONFile)); err != nil || !strings.Contains(out.String(), "pcs") {
		t.Fatalf("compare.json: %v; printed:\n%s", err, out.String())
	}
}

func TestMergedComparisonNamesAMissingRun(t *testing.T) {
	cr, err := Merge(context.Background(), lab.Options{ResultsDir: t.TempDir()}, shardsOf(t, "v2-4"))
	var ie *lab.InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "v2-4") {
		t.Fatalf("err %v", err)
	}
	if cr.Comparison.B.Verdicts.Unfinished != 1 || len(cr.B) != 2 {
		t.Fatalf("B: %+v, %d runs counted", cr.Comparison.B.Verdicts, len(cr.B))
	}
}
