package runs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// diskRun is a lab.Run stand-in that writes a run directory: every
// scenario passes except "reset", which fails.
func diskRun(_ context.Context, o lab.Options) (*results.Result, error) {
	r := &results.Result{Schema: results.SchemaVersion, Accel: "tcg",
		Kernel: results.Kernel{Name: o.Kernel, Key: "k-" + o.Kernel, Cached: true}, Image: results.Image{Cached: true}}
	r.AddStage("boot", time.Second)
	var err error
	for _, s := range o.Scenarios {
		v := results.Pass
		if s == "reset" {
			v, err = results.Fail, lab.ErrScenarioFailed
		}
		r.Scenarios = append(r.Scenarios, results.Scenario{Name: s, Verdict: v, Metrics: map[string]float64{"pcs": 9}})
	}
	if werr := runstest.WriteRun(o, r); werr != nil {
		return nil, werr
	}
	return r, err
}

func built(context.Context, lab.Options) (bool, error) { return true, nil }

func testPlan(t *testing.T, id string) *Plan {
	t.Helper()
	p, err := NewPlan(context.Background(), PlanOptions{ID: id, Verb: "nightly", Split: true, Key: fakeKey},
		[]Request{req("vanilla", "smoke", "reset"), req("v2", "smoke", "reset")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runAll runs every run job of p, each into its own shard directory under root.
func runAll(t *testing.T, p *Plan, root string) {
	t.Helper()
	for _, j := range p.Jobs {
		_, err := Jobs{Run: diskRun, Key: fakeKey, Built: built}.Do(context.Background(), p, j.ID, lab.Options{ResultsDir: filepath.Join(root, j.ID)})
		if err != nil && !errors.Is(err, lab.ErrScenarioFailed) {
			t.Fatal(err)
		}
	}
}

func TestJobsDo(t *testing.T) {
	p := testPlan(t, "nightly-1")
	otherKey := func(context.Context, lab.Options) (string, error) { return "0000000000000bad", nil }
	notBuilt := func(context.Context, lab.Options) (bool, error) { return false, nil }
	cases := []struct {
		name string
		jobs Jobs
		id   string
		want func(error) bool
	}{
		{"a run job runs", Jobs{Run: diskRun, Key: fakeKey, Built: built}, "v2-smoke", func(err error) bool { return err == nil }},
		{"a failed scenario is the run's error", Jobs{Run: diskRun, Key: fakeKey, Built: built}, "v2-reset",
			func(err error) bool { return errors.Is(err, lab.ErrScenarioFailed) }},
		{"an unknown job", Jobs{Run: diskRun, Key: fakeKey, Built: built}, "v3-smoke",
			func(err error) bool {
				var ue *lab.UsageError
				return errors.As(err, &ue) && strings.Contains(err.Error(), "v2-smoke")
			}},
		{"another key on this machine", Jobs{Run: diskRun, Key: otherKey, Built: built}, "v2-smoke",
			func(err error) bool {
				var ke *KeyMismatchError
				return errors.As(err, &ke) && lab.ErrorKind(err) == "infra"
			}},
		{"the kernel is not imported", Jobs{Run: diskRun, Key: fakeKey, Built: notBuilt}, "v2-smoke",
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "cache import") }},
		{"--build lets it build", Jobs{Run: diskRun, Key: fakeKey, Built: notBuilt, AllowBuild: true}, "v2-smoke",
			func(err error) bool { return err == nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			res, err := c.jobs.Do(context.Background(), p, c.id, lab.Options{ResultsDir: dir})
			if !c.want(err) {
				t.Fatalf("err %v", err)
			}
			if res != nil {
				if _, err := os.Stat(filepath.Join(dir, res.RunID, JobFile)); err != nil {
					t.Fatalf("no %s: %v", JobFile, err)
				}
			}
		})
	}
}

func TestLoadShards(t *testing.T) {
	p := testPlan(t, "nightly-1")
	root := t.TempDir()
	runAll(t, p, root)
	s, err := LoadShards([]string{root})
	if err != nil || len(s.Found) != 4 || len(s.Missing) != 0 {
		t.Fatalf("all shards: %v, %+v", err, s)
	}
	for i, sh := range s.Found {
		if sh.Job.ID != p.Jobs[i].ID {
			t.Fatalf("shard %d is %s, want the plan's order (%s)", i, sh.Job.ID, p.Jobs[i].ID)
		}
	}

	t.Run("a missing shard is listed", func(t *testing.T) {
		os.RemoveAll(filepath.Join(root, "v2-reset"))
		s, err := LoadShards([]string{root})
		if err != nil || len(s.Missing) != 1 || s.Missing[0].ID != "v2-reset" {
			t.Fatalf("%v %+v", err, s.Missing)
		}
		if MissingError(s.Missing) == nil {
			t.Fatal("a missing shard is no error")
		}
	})
	t.Run("a shard given twice is refused", func(t *testing.T) {
		other := t.TempDir()
		os.CopyFS(filepath.Join(other, "again"), os.DirFS(filepath.Join(root, "v2-smoke")))
		_, err := LoadShards([]string{root, other})
		var se *ShardsError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "job v2-smoke ran 2 times") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("shards of another plan are refused", func(t *testing.T) {
		other := t.TempDir()
		runAll(t, testPlan(t, "nightly-2"), other)
		_, err := LoadShards([]string{root, other})
		var se *ShardsError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "belongs to plan") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no shards at all", func(t *testing.T) {
		_, err := LoadShards([]string{t.TempDir()})
		var ue *lab.UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestCombine(t *testing.T) {
	sc := func(names ...string) []results.Scenario {
		var out []results.Scenario
		for _, n := range names {
			out = append(out, results.Scenario{Name: n, Verdict: results.Pass})
		}
		return out
	}
	part := func(id string, n int, cached bool, errText string, scen ...string) Shard {
		r := &results.Result{RunID: "run-" + id, Kernel: results.Kernel{Name: "v2", Cached: cached}, Scenarios: sc(scen...),
			Stages: []results.Stage{{Name: "boot", Seconds: 7}, {Name: "total", Seconds: 10}}, Error: errText}
		if errText != "" {
			r.ErrorKind = "boot"
		}
		return Shard{Job: RunJob{ID: id, Part: n}, Result: r}
	}
	cases := []struct {
		name    string
		parts   []Shard
		missing []RunJob
		scen    string // name:verdict, in order
		runID   string
		boot    float64
		cached  bool
		errText string
	}{
		{name: "parts in plan order whatever the order found",
			parts: []Shard{part("b", 1, true, "", "unique"), part("a", 0, true, "", "smoke")},
			scen:  "smoke:pass unique:pass", runID: "run-a", boot: 14, cached: true},
		{name: "cached only when every part was",
			parts: []Shard{part("a", 0, true, "", "smoke"), part("b", 1, false, "", "unique")},
			scen:  "smoke:pass unique:pass", runID: "run-a", boot: 14},
		{name: "a missing part is its scenarios' error",
			parts:   []Shard{part("a", 0, true, "", "smoke")},
			missing: []RunJob{{ID: "v2-unique", Part: 1, Scenarios: []string{"unique"}}},
			scen:    "smoke:pass unique:error", runID: "run-a", boot: 7, cached: true},
		{name: "a part that did not finish keeps its error",
			parts: []Shard{part("a", 0, true, "", "smoke"), part("b", 1, true, "boot timeout")},
			scen:  "smoke:pass", runID: "run-a", boot: 14, cached: true, errText: "b: boot timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Combine(c.parts, c.missing)
			var got []string
			for _, s := range r.Scenarios {
				got = append(got, s.Name+":"+s.Verdict)
			}
			boot, _ := r.Stage("boot")
			if strings.Join(got, " ") != c.scen || r.RunID != c.runID || boot != c.boot || r.Kernel.Cached != c.cached || r.Error != c.errText {
				t.Fatalf("got %v run %s boot %v cached %v error %q", got, r.RunID, boot, r.Kernel.Cached, r.Error)
			}
		})
	}
}

func TestCopyShardKeepsPermissions(t *testing.T) {
	src := filepath.Join(t.TempDir(), "run")
	os.MkdirAll(filepath.Join(src, "keys"), 0o700)
	os.WriteFile(filepath.Join(src, "keys", "id_ed25519"), []byte("private"), 0o600)
	os.WriteFile(filepath.Join(src, "result.json"), []byte("{}"), 0o644)
	dst := filepath.Join(t.TempDir(), "copy")
	if err := CopyShard(src, dst); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dst, "keys", "id_ed25519"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the key: %v %v", st.Mode(), err)
	}
	if err := CopyShard(src, dst); err == nil {
		t.Fatal("copied over an existing directory")
	}
}
