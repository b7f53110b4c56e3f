package ask

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

func fakeKey(_ context.Context, o lab.Options) (string, error) { return "key-" + o.Kernel, nil }

func TestRecipePlannable(t *testing.T) {
	want := map[string]bool{"overflow": true, "v2-vs-v4": true, "tsc-noise": false, "guard-size": false, "edges-vs-nodes": false}
	for _, name := range RecipeNames() {
		r, _ := LookupRecipe(name)
		ok, why := r.Plannable()
		w, known := want[name]
		if !known {
			t.Errorf("recipe %s: not in this table: say whether it can be planned", name)
			continue
		}
		if ok != w || !ok && why == "" {
			t.Errorf("recipe %s: plannable %v (%q), want %v with a reason when not", name, ok, why, w)
		}
	}
}

// overflowFake measures the corpus; v2v4Fake is TestAskV2VsV4's.
func overflowFake() *runstest.Fake {
	return &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		return askResult(kernel, n, results.Scenario{Name: "overflow", Verdict: results.Pass, Metrics: map[string]float64{
			"corpus_programs": 200, "corpus_overflows/trace@4096": float64(90 + n), "corpus_overflows/unique@4096": 0,
			"overflow_reduction_pct": 100, "dup_ratio/pipe_1m@4096": 0.97, "trace_words/pipe_1m@4096": 4095, "unique_words/pipe_1m@4096": 131,
		}}), nil
	}}
}

func v2v4Fake() *runstest.Fake {
	return &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		status := "pass"
		if kernel == "v2" {
			status = "xfail"
		}
		return askResult(kernel, n,
			results.Scenario{Name: "unique", Verdict: results.Pass, Metrics: map[string]float64{"pcs": float64(9 + n)}},
			results.Scenario{Name: "kselftest", Verdict: results.Pass, Cases: []results.Case{{Name: "kcov_uniq.slow_rw", Status: status}}},
			results.Scenario{Name: "guardrace", Verdict: map[string]string{"v2": results.Fail, "v4": results.Pass}[kernel], Metrics: map[string]float64{"union_unexplained": map[string]float64{"v2": 3, "v4": 0}[kernel]}}), nil
	}}
}

func jobsOf(p *runs.Plan) []string {
	var out []string
	for _, j := range p.Jobs {
		out = append(out, j.Build+" "+j.Label+" "+strings.Join(j.Scenarios, ","))
	}
	return out
}

func TestPlanAsk(t *testing.T) {
	v2v4 := "unique,ioctl,reset,overflow,irqnoise,guardrace,kselftest"
	tests := []struct {
		recipe string
		runs   int
		builds []string
		jobs   []string
	}{
		{"overflow", 0, []string{"key-v2"}, []string{"build-v2 v2 overflow", "build-v2 v2 overflow", "build-v2 v2 overflow"}},
		{"overflow", 2, []string{"key-v2"}, []string{"build-v2 v2 overflow", "build-v2 v2 overflow"}},
		{"v2-vs-v4", 2, []string{"key-v2", "key-v4"}, []string{"build-v2 v2 " + v2v4, "build-v4 v4 " + v2v4, "build-v2 v2 " + v2v4, "build-v4 v4 " + v2v4}},
	}
	for _, tc := range tests {
		t.Run(tc.recipe, func(t *testing.T) {
			ao := askOptions(t, tc.recipe, &runstest.Fake{})
			ao.Runs = tc.runs
			p, err := Plan(context.Background(), ao, fakeKey)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, b := range p.Builds {
				keys = append(keys, b.Key)
			}
			if !slices.Equal(keys, tc.builds) || !slices.Equal(jobsOf(p), tc.jobs) {
				t.Errorf("builds %v, jobs %q; want %v, %q", keys, jobsOf(p), tc.builds, tc.jobs)
			}
			if p.Verb != "ask" || p.Args[0] != tc.recipe || !strings.HasPrefix(p.ID, "ask-"+tc.recipe+"-") {
				t.Errorf("plan %s of verb %s args %v", p.ID, p.Verb, p.Args)
			}
			if ents, _ := os.ReadDir(ao.ResultsDir); len(ents) > 0 {
				t.Errorf("planning wrote into the results root: %v", ents)
			}
		})
	}
}

func TestPlanAskRefuses(t *testing.T) {
	for _, name := range []string{"tsc-noise", "guard-size", "edges-vs-nodes"} {
		_, err := Plan(context.Background(), askOptions(t, name, &runstest.Fake{}), fakeKey)
		var ue *lab.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot be planned") {
			t.Errorf("%s: %v, want a usage error saying why it cannot be planned", name, err)
		}
	}
	// A recipe that reads a built kernel but does not say so is caught
	// while it is recorded.
	recipes["sneaky"] = Recipe{Name: "sneaky", Kernels: []string{"v2"}, answer: func(ctx context.Context, a *asker) error {
		if _, err := a.runOnce(ctx, "v2", "smoke"); err != nil {
			return err
		}
		_, _, err := a.opts.build(ctx, a.runOpts("v2"))
		return err
	}}
	defer delete(recipes, "sneaky")
	_, err := Plan(context.Background(), askOptions(t, "sneaky", &runstest.Fake{}), fakeKey)
	if err == nil || !strings.Contains(err.Error(), "reads a built kernel") {
		t.Errorf("sneaky: %v, want a refusal", err)
	}
}

// shards runs every run job of p on "another machine": the fake's result
// for the job, written as a run directory with its job.json under root.
func shards(t *testing.T, p *runs.Plan, f *runstest.Fake, root string) {
	t.Helper()
	n := map[string]int{}
	for _, j := range p.Jobs {
		res, _ := f.Script(j.Label, n[j.Label])
		n[j.Label]++
		dir := filepath.Join(root, j.ID, res.RunID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := res.Write(dir); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(runs.JobRecord{Job: j.ID, Plan: p})
		if err := os.WriteFile(filepath.Join(dir, runs.JobFile), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readAnswer(t *testing.T, ans *Answer) Answer {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ans.Dir, "answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got Answer
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// comparable drops what differs between any two answers: the comparison
// directories' names (made from the time).
func comparable(a Answer) Answer {
	a.Runs = slices.Clone(a.Runs)
	for i, r := range a.Runs {
		if strings.Contains(r, "compare-") {
			a.Runs[i] = "compare-*"
		}
	}
	a.Data = nil
	return a
}

func TestMergeAskIsTheOneMachineAnswer(t *testing.T) {
	for _, tc := range []struct {
		recipe string
		fake   func() *runstest.Fake
	}{{"overflow", overflowFake}, {"v2-vs-v4", v2v4Fake}} {
		t.Run(tc.recipe, func(t *testing.T) {
			ctx := context.Background()
			ao := askOptions(t, tc.recipe, tc.fake())
			ao.Runs = 3
			one, err := Ask(ctx, ao)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Plan(ctx, ao, fakeKey)
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			shards(t, p, tc.fake(), root)
			s, err := runs.LoadShards([]string{root})
			if err != nil {
				t.Fatal(err)
			}
			base := lab.Options{ModuleDir: ao.ModuleDir, ResultsDir: t.TempDir()}
			merged, err := Merge(ctx, base, s)
			if err != nil {
				t.Fatal(err)
			}
			if merged.Dir != filepath.Join(base.ResultsDir, p.ID) {
				t.Errorf("merged answer in %s, want RESULTS/%s", merged.Dir, p.ID)
			}
			a, b := comparable(readAnswer(t, one)), comparable(readAnswer(t, merged))
			if !reflect.DeepEqual(a, b) {
				t.Errorf("merged answer differs from the one-machine one:\none:    %+v\nmerged: %+v", a, b)
			}
			for _, r := range merged.Runs {
				if _, err := os.Stat(filepath.Join(merged.Dir, r)); err != nil {
					t.Errorf("answer's run %s: %v", r, err)
				}
			}
		})
	}
}

func TestMergeAskMissingShard(t *testing.T) {
	ctx := context.Background()
	ao := askOptions(t, "overflow", overflowFake())
	p, err := Plan(ctx, ao, fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	shards(t, p, overflowFake(), root)
	lost := p.Jobs[1].ID
	os.RemoveAll(filepath.Join(root, lost))
	s, err := runs.LoadShards([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Merge(ctx, lab.Options{ModuleDir: ao.ModuleDir, ResultsDir: t.TempDir()}, s)
	var ie *lab.InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), lost) {
		t.Errorf("merge without %s: %v, want an infra error naming it", lost, err)
	}
}

// The shards say the recipe ran 4 times but the plan has 3 jobs: the
// replay asks for a run the plan lacks, and merge says so.
func TestMergeAskDiverged(t *testing.T) {
	ctx := context.Background()
	ao := askOptions(t, "overflow", overflowFake())
	p, err := Plan(ctx, ao, fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	shards(t, p, overflowFake(), root)
	s, err := runs.LoadShards([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	s.Plan.RunsPerKernel = 4
	_, err = Merge(ctx, lab.Options{ModuleDir: ao.ModuleDir, ResultsDir: t.TempDir()}, s)
	var de *runs.DivergedError
	var ie *lab.InfraError
	if !errors.As(err, &de) || !errors.As(err, &ie) || de.Kernel != "v2" {
		t.Errorf("merge of a diverged replay: %v, want a *runs.DivergedError naming v2 in an infra error", err)
	}
}

func TestMergeAskRefusesOtherPlans(t *testing.T) {
	_, err := Merge(context.Background(), lab.Options{}, &runs.Shards{Plan: &runs.Plan{ID: "c", Verb: "compare"}})
	var ue *lab.UsageError
	if !errors.As(err, &ue) {
		t.Errorf("merge of a compare plan as an ask: %v", err)
	}
}
