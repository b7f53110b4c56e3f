package mutants

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

func moduleDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// The shipped mutants parse, each names an invariant and its judges, and
// every judge is a scenario the series' kernel runs (or the boot).
func TestShippedMutants(t *testing.T) {
	for _, series := range []string{"v2", "v4"} {
		t.Run(series, func(t *testing.T) { checkShipped(t, series) })
	}
}

func checkShipped(t *testing.T, series string) {
	ms, err := List(context.Background(), moduleDir(t), series)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 10 {
		t.Fatalf("%d mutants shipped for %s, want at least 10", len(ms), series)
	}
	invariants := map[string]bool{}
	for _, m := range ms {
		invariants[m.Invariant] = true
		for _, k := range m.KilledBy {
			if k != BootJudge && !contains(DefaultScenarios, k) {
				t.Errorf("mutant %s: judge %q is not a scenario the suite runs (%v)", m.Name, k, DefaultScenarios)
			}
		}
		if !strings.Contains(readFile(t, m.Path), "kernel/kcov.c") {
			t.Errorf("mutant %s does not edit kernel/kcov.c", m.Name)
		}
	}
	for _, want := range []string{"dedup", "boot", "WARN paths", "ioctl error table", "interrupt filtering", "remote coverage"} {
		if !invariants[want] {
			t.Errorf("no mutant breaks %q", want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJudge(t *testing.T) {
	red := func(name, verdict, kind string) ScenarioVerdict {
		return ScenarioVerdict{Name: name, Verdict: verdict, ErrorKind: kind, Evidence: name + " evidence"}
	}
	green := func(name string) ScenarioVerdict { return ScenarioVerdict{Name: name, Verdict: results.Pass} }
	cases := []struct {
		name     string
		killedBy []string
		out      *Outcome
		err      error
		want     string
		evidence string
	}{
		{"judge failed", []string{"unique"}, &Outcome{Scenarios: []ScenarioVerdict{green("smoke"), red("unique", results.Fail, "")}}, nil, Killed, "unique: unique evidence"},
		{"all green", []string{"unique"}, &Outcome{Scenarios: []ScenarioVerdict{green("smoke"), green("unique")}}, nil, Survived, ""},
		{"another scenario failed", []string{"unique"}, &Outcome{Scenarios: []ScenarioVerdict{red("overflow", results.Fail, ""), green("unique")}}, nil, Survived, "red only outside its judges (overflow)"},
		{"judge red by a crash only", []string{"reset"}, &Outcome{Scenarios: []ScenarioVerdict{red("reset", results.Error, results.ErrorCrash)}}, nil, Survived, "red only outside its judges (reset)"},
		{"judge red by a lost channel", []string{"reset"}, &Outcome{Scenarios: []ScenarioVerdict{red("reset", results.Error, results.ErrorChannel)}}, nil, Survived, "red only outside its judges (reset)"},
		{"judge errored on its own check", []string{"ioctl"}, &Outcome{Scenarios: []ScenarioVerdict{red("ioctl", results.Error, "")}}, nil, Killed, "ioctl: ioctl evidence"},
		{"boot mutant crashed at boot", []string{BootJudge}, nil, &lab.BootError{Reason: "QEMU exited", Crash: &lab.KernelCrash{Title: "Kernel panic - not syncing: kcov"}}, Killed, "boot: Kernel panic - not syncing: kcov"},
		{"boot mutant timed out without crash", []string{BootJudge}, nil, &lab.BootError{Reason: "no SSH answer"}, Survived, "boot: no SSH answer"},
		{"non-boot mutant did not boot", []string{"unique"}, nil, &lab.BootError{Reason: "x", Crash: &lab.KernelCrash{Title: "BUG"}}, Survived, "boot: BUG"},
		{"lab failure", []string{"unique"}, nil, &lab.InfraError{Stage: "vm", Err: errors.New("qemu missing")}, NotJudged, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := Row{Mutant: Mutant{Name: "m", KilledBy: c.killedBy}}
			Judge(&row, c.out, c.err)
			if row.Verdict != c.want || row.Evidence != c.evidence {
				t.Errorf("verdict %q evidence %q, want %q %q", row.Verdict, row.Evidence, c.want, c.evidence)
			}
		})
	}
}

// Run runs the clean kernel first, then each mutant with its patch, and
// fails (ErrSurvived) when one survives; the table names it.
func TestRunScoresAndNamesSurvivors(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	fake := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		mu.Lock()
		seen = append(seen, o.Kernel+"+"+lab.MutantName(o.Mutant))
		mu.Unlock()
		if strings.Contains(o.Mutant, "unique-records-every-hit") {
			return scenarioResult("unique", results.Fail), lab.ErrScenarioFailed
		}
		return scenarioResult("unique", results.Pass), nil
	}
	var out strings.Builder
	rep, err := Run(context.Background(), Options{
		Lab:  lab.Options{ModuleDir: moduleDir(t), ResultsDir: t.TempDir()},
		Only: []string{"unique-records-every-hit", "guard-index-collide"}, Run: fake, Out: &out,
	})
	if !errors.Is(err, ErrSurvived) {
		t.Fatalf("err = %v, want ErrSurvived", err)
	}
	if len(seen) != 3 || seen[0] != "v2+" || seen[1] != "v2+unique-records-every-hit" {
		t.Errorf("runs %v: want the clean kernel, then each mutant", seen)
	}
	if rep.Killed != 1 || rep.Total != 2 || !rep.BaselineOK {
		t.Errorf("score %d/%d baseline %v", rep.Killed, rep.Total, rep.BaselineOK)
	}
	for _, want := range []string{"mutation score: 1/2 killed", "guard-index-collide SURVIVED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(rep.Dir, "mutants.json")); err != nil {
		t.Error(err)
	}
}

// A red clean kernel makes the score worthless: the suite fails.
func TestRunBaselineRed(t *testing.T) {
	fake := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		return scenarioResult("unique", results.Fail), lab.ErrScenarioFailed
	}
	var out strings.Builder
	rep, err := Run(context.Background(), Options{
		Lab:  lab.Options{ModuleDir: moduleDir(t), ResultsDir: t.TempDir()},
		Only: []string{"unique-records-every-hit"}, Run: fake, Out: &out,
	})
	if !errors.Is(err, ErrSurvived) || rep.BaselineOK {
		t.Fatalf("err %v baseline %v: a red clean kernel must fail the suite", err, rep.BaselineOK)
	}
	if !strings.Contains(out.String(), "NOT GREEN") {
		t.Errorf("table does not say the clean kernel was red:\n%s", out.String())
	}
}

func TestSelectUnknown(t *testing.T) {
	_, err := Select([]Mutant{{Name: "a"}}, []string{"b"})
	var ue *lab.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "have: a") {
		t.Errorf("err = %v, want a usage error listing the mutants", err)
	}
}

// JudgesOnly runs each mutant's judges (smoke for the boot) and the clean
// kernel every judge of the list.
func TestRunJudgesOnly(t *testing.T) {
	got := map[string]string{}
	fake := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		got[lab.MutantName(o.Mutant)] = strings.Join(o.Scenarios, ",")
		return &results.Result{}, nil
	}
	_, err := Run(context.Background(), Options{
		Lab:  lab.Options{ModuleDir: moduleDir(t), ResultsDir: t.TempDir()},
		Only: []string{"boot-panic", "warn-on-reset"}, Run: fake, JudgesOnly: true,
	})
	if !errors.Is(err, ErrSurvived) {
		t.Fatalf("err %v", err)
	}
	want := map[string]string{"": "smoke,reset,ioctl", "boot-panic": "smoke", "warn-on-reset": "reset,ioctl"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%q ran %q, want %q", k, got[k], w)
		}
	}
}

func TestFirstEvidence(t *testing.T) {
	cases := []struct {
		err      string
		evidence []string
		want     string
	}{
		{"3 case(s) failed\nmore", []string{"a ok"}, "3 case(s) failed"},
		{"", []string{"UNIQUE_ENABLE(0): got EINVAL want EINVAL ok", "REMOTE_ENABLE x: got success want EINVAL FAIL"}, "REMOTE_ENABLE x: got success want EINVAL FAIL"},
		{"", []string{"UNIQUE_ENABLE: success, want success", "unique mode recorded 40 PCs more than once"}, "unique mode recorded 40 PCs more than once"},
		{"", nil, ""},
	}
	for _, c := range cases {
		if got := firstEvidence(c.err, c.evidence); got != c.want {
			t.Errorf("firstEvidence(%q, %q) = %q, want %q", c.err, c.evidence, got, c.want)
		}
	}
}

// scenarioResult is a run's result with one scenario's verdict.
func scenarioResult(name, verdict string) *results.Result {
	return &results.Result{RunID: "run-" + name, Scenarios: []results.Scenario{{Name: name, Verdict: verdict}}}
}

// The suite on a pool (--jobs 3): one mutant's kernel build at a time, and
// the table lists the mutants in the suite's order with their verdicts.
func TestRunOnPool(t *testing.T) {
	only := []string{"unique-records-every-hit", "guard-index-collide", "warn-on-reset", "boot-panic"}
	var mu sync.Mutex
	builds, most := 0, 0
	fake := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		if o.AfterKernel != nil { // this run builds its kernel: alone
			mu.Lock()
			builds++
			most = max(most, builds)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			builds--
			mu.Unlock()
			if err := o.AfterKernel(ctx, nil); err != nil {
				return nil, err
			}
		}
		name := lab.MutantName(o.Mutant)
		if name == "boot-panic" {
			return &results.Result{}, &lab.BootError{Reason: "QEMU exited", Crash: &lab.KernelCrash{Title: "Kernel panic"}}
		}
		if name == "unique-records-every-hit" {
			return scenarioResult("unique", results.Fail), lab.ErrScenarioFailed
		}
		return scenarioResult("unique", results.Pass), nil
	}
	rep, err := Run(context.Background(), Options{
		Lab:  lab.Options{ModuleDir: moduleDir(t), ResultsDir: t.TempDir()},
		Only: only, Run: fake, Parallel: 3,
		built: func(_ context.Context, o lab.Options) (bool, error) { return o.Mutant == "", nil },
	})
	if !errors.Is(err, ErrSurvived) {
		t.Fatalf("err = %v, want ErrSurvived (two survive)", err)
	}
	var names, verdicts []string
	for _, r := range rep.Rows {
		names, verdicts = append(names, r.Name), append(verdicts, r.Verdict)
	}
	if !slices.Equal(names, only) || !slices.Equal(verdicts, []string{Killed, Survived, Survived, Killed}) {
		t.Errorf("rows %v %v, want %v in order, killed/survived/survived/killed", names, verdicts, only)
	}
	if !rep.BaselineOK || rep.Killed != 2 {
		t.Errorf("baseline %v, killed %d", rep.BaselineOK, rep.Killed)
	}
	if most != 1 {
		t.Errorf("%d kernel builds at once, want 1", most)
	}
}
