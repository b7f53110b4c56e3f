package bisect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

// bisectRepo is testutil.StateRepo: commit i writes states[i] to the
// file "state", which fakeLab reads to decide what the step's run does.
func bisectRepo(t *testing.T, states ...string) (string, []string) {
	t.Helper()
	return testutil.StateRepo(t, states...)
}

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return testutil.Git(t, dir, args...)
}

// fakeLab stands in for lab.Run. The checked-out "state" file holds words:
// pass or fail (the scenario's verdict), errno=N (a metric), build (the
// kernel does not build), boot (it does not boot), crash (it crashes in
// the scenario), flaky (every third run of the commit fails), flip (every
// second run fails), infra-once /
// ssh-once (the first attempt of each run hits a lab failure / a lost SSH
// session), infra (every attempt does), cancel (cancels the bisect).
type fakeLab struct {
	mu     sync.Mutex
	calls  map[string]int
	cancel context.CancelFunc
}

func (f *fakeLab) run(ctx context.Context, o lab.Options) (*results.Result, error) {
	head, err := exec.Command("git", "-C", o.KernelSrc, "rev-parse", "HEAD").Output()
	if err != nil {
		return nil, err
	}
	commit := strings.TrimSpace(string(head))
	raw, err := os.ReadFile(filepath.Join(o.KernelSrc, "state"))
	if err != nil {
		return nil, err
	}
	words := map[string]string{}
	for _, w := range strings.Fields(string(raw)) {
		k, v, _ := strings.Cut(w, "=")
		words[k] = v
	}
	has := func(k string) bool { _, ok := words[k]; return ok }
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	n := f.calls[commit]
	f.calls[commit]++
	f.mu.Unlock()
	res := &results.Result{
		RunID:  fmt.Sprintf("run-%d", n),
		Kernel: results.Kernel{SourceID: "git:" + commit, Cached: n > 0},
		Stages: []results.Stage{{Name: "kernel", Seconds: 600}, {Name: "boot", Seconds: 7}, {Name: "scenarios", Seconds: 1}},
	}
	s := results.Scenario{Name: o.Scenarios[0], Verdict: results.Pass}
	switch {
	case has("cancel"):
		f.cancel()
		return nil, fmt.Errorf("kernel make: %w", ctx.Err())
	case has("build"):
		return res, &kbuild.BuildError{Stage: "config", Err: errors.New("init/Kconfig:3: syntax error")}
	case has("boot"):
		return res, &lab.BootError{Reason: "no SSH answer within 3m"}
	case has("infra"), has("infra-once") && n%2 == 0:
		return res, &lab.InfraError{Stage: "vm", Err: errors.New("qemu: could not start")}
	case has("ssh-once") && n%2 == 0:
		s.Verdict, s.ErrorKind, s.Error = results.Error, results.ErrorChannel, "scenario x: ssh run: connection reset"
	case has("crash"):
		s.Verdict, s.ErrorKind, s.Error = results.Error, results.ErrorCrash, "kernel crashed: BUG: KASAN\nreport"
	case has("fail"), has("flaky") && n%3 == 2, has("flip") && n%2 == 1:
		s.Verdict = results.Fail
	}
	if v, ok := words["errno"]; ok {
		x, _ := strconv.ParseFloat(v, 64)
		s.Metrics = map[string]float64{"errno": x}
	}
	res.Scenarios = []results.Scenario{s}
	if s.Verdict != results.Pass {
		return res, lab.ErrScenarioFailed
	}
	return res, nil
}

func bisectOptions(t *testing.T, tree string, f *fakeLab) Options {
	t.Helper()
	return Options{
		Options:  lab.Options{KernelSrc: tree, ModuleDir: t.TempDir(), ResultsDir: t.TempDir(), CacheDir: t.TempDir()},
		Scenario: "unique", Runner: f.run,
	}
}

// checkReset fails unless tree is back on branch main at head, not bisecting.
func checkReset(t *testing.T, tree, head string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(tree, ".git", "BISECT_START")); err == nil {
		t.Error("the tree was left mid-bisect")
	}
	if ref := gitT(t, tree, "symbolic-ref", "-q", "HEAD"); ref != "refs/heads/main" {
		t.Errorf("HEAD is %s, want refs/heads/main", ref)
	}
	if got := gitT(t, tree, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD at %s, want %s", got, head)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestBisectFindsFirstBad(t *testing.T) {
	t.Parallel()
	tree, h := bisectRepo(t, append(repeat("pass", 6), repeat("fail", 4)...)...)
	f := &fakeLab{}
	bo := bisectOptions(t, tree, f)
	bo.Good, bo.Bad = h[0], "main"
	var out bytes.Buffer
	bo.Out = &out
	rep, err := Bisect(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	checkReset(t, tree, h[9])
	if rep.First == nil || rep.First.Commit != h[6] || rep.First.Subject != "c6: fail" {
		t.Fatalf("first = %+v, want c6 %s", rep.First, h[6])
	}
	if rep.Inverted || rep.Confidence != 1 || rep.InRange != 9 || len(rep.Steps) == 0 {
		t.Errorf("report %+v", rep)
	}
	for _, st := range rep.Steps {
		if st.Verdict == Skip || st.Split != "" || st.BuildSeconds != 600 || st.KernelCached {
			t.Errorf("step %+v", st)
		}
	}
	for _, want := range []string{"first bad commit: " + h[6] + " c6: fail", "the first commit where scenario unique stops passing",
		"git -C " + tree + " bisect start " + h[9] + " " + h[0], "bisect run kcovlab bisect-step --kernel-src " + tree, "bisect reset"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"bisect.json", "bisect.txt"} {
		if _, err := os.Stat(filepath.Join(rep.Dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// bisectCases are whole bisects over ten-commit trees with the fake lab.
var bisectCases = []struct {
	name       string
	states     []string
	good, bad  int // commit indexes
	opts       func(*Options)
	first      int
	confidence float64
	check      func(t *testing.T, rep *Report, h []string)
}{
	{name: "inverted: the good revision is newer", states: append(repeat("fail", 3), repeat("pass", 7)...),
		good: 9, bad: 0, first: 3, confidence: 1, check: func(t *testing.T, rep *Report, h []string) {
			if !rep.Inverted || rep.FirstIs != "first good commit" || rep.FirstMeans != "the first commit where scenario unique passes" ||
				!strings.Contains(strings.Join(rep.Reproduce, "\n"), "--term-old broken --term-new fixed "+h[9]+" "+h[0]) ||
				!strings.Contains(rep.Reproduce[2], "--invert") {
				t.Errorf("inverted report: %+v", rep)
			}
		}},
	{name: "check on a metric, inverted: the verdict passes throughout",
		states: append(repeat("pass errno=25", 8), repeat("pass errno=0", 2)...),
		good:   9, bad: 0, first: 8, confidence: 1, opts: func(bo *Options) { bo.Check = "errno==0" },
		check: func(t *testing.T, rep *Report, h []string) {
			if rep.FirstMeans != "the first commit where errno==0 (scenario unique) holds" || rep.Steps[0].Runs[0].Value == nil {
				t.Errorf("report: %+v", rep)
			}
		}},
	{name: "a commit that does not build is skipped, not blamed",
		states: []string{"pass", "pass", "pass", "pass", "build", "pass", "fail", "fail", "fail", "fail"},
		good:   0, bad: 9, first: 6, confidence: 1, opts: func(bo *Options) { bo.Runs = 3 },
		check: func(t *testing.T, rep *Report, h []string) {
			st := stepOf(t, rep, h[4])
			if st.Verdict != Skip || len(st.Runs) != 1 || !st.KernelFailed || !strings.Contains(st.Why, "did not build") {
				t.Errorf("the non-building commit: %+v (want one run, skipped)", st)
			}
		}},
	{name: "lab failures and lost sessions are retried, never bad",
		states: append(repeat("pass infra-once", 6), repeat("fail ssh-once", 4)...),
		good:   0, bad: 9, first: 6, confidence: 1, check: func(t *testing.T, rep *Report, h []string) {
			for _, st := range rep.Steps {
				if st.Runs[0].Attempts != 2 {
					t.Errorf("step %s: %d attempts, want 2", short(st.Commit), st.Runs[0].Attempts)
				}
			}
		}},
	{name: "a flaky step shows its split and lowers the confidence",
		states: []string{"pass", "pass", "pass", "pass", "flaky", "pass", "fail", "fail", "fail", "fail"},
		good:   0, bad: 9, first: 6, confidence: 2.0 / 3, opts: func(bo *Options) { bo.Runs = 3 },
		check: func(t *testing.T, rep *Report, h []string) {
			st := stepOf(t, rep, h[4])
			if st.Verdict != Good || st.Split != "2 good, 1 bad" || st.Confidence != 2.0/3 {
				t.Errorf("flaky step: %+v", st)
			}
		}},
	{name: "a step's runs at once (--jobs 3): the same split",
		states: []string{"pass", "pass", "pass", "pass", "flaky", "pass", "fail", "fail", "fail", "fail"},
		good:   0, bad: 9, first: 6, confidence: 2.0 / 3, opts: func(bo *Options) { bo.Runs, bo.Parallel = 3, 3 },
		check: func(t *testing.T, rep *Report, h []string) {
			st := stepOf(t, rep, h[4])
			if st.Verdict != Good || st.Split != "2 good, 1 bad" || len(st.Runs) != 3 {
				t.Errorf("flaky step on the pool: %+v", st)
			}
		}},
	{name: "runs at once (--jobs 3): a commit that does not build is one skipped run",
		states: []string{"pass", "pass", "pass", "pass", "build", "pass", "fail", "fail", "fail", "fail"},
		good:   0, bad: 9, first: 6, confidence: 1, opts: func(bo *Options) { bo.Runs, bo.Parallel = 3, 3 },
		check: func(t *testing.T, rep *Report, h []string) {
			st := stepOf(t, rep, h[4])
			if st.Verdict != Skip || len(st.Runs) != 1 || !st.KernelFailed {
				t.Errorf("the non-building commit on the pool: %+v (want one run, skipped)", st)
			}
		}},
	{name: "runs at once (--jobs 3): a run the lab broke is retried on its own",
		states: append(repeat("pass infra-once", 6), repeat("fail", 4)...),
		good:   0, bad: 9, first: 6, confidence: 1, opts: func(bo *Options) { bo.Runs, bo.Parallel = 3, 3 },
		check: func(t *testing.T, rep *Report, h []string) {
			retried := 0
			for _, st := range rep.Steps {
				for _, r := range st.Runs {
					if r.Attempts > 1 {
						retried++
					}
				}
				if st.Verdict == Skip || len(st.Runs) != 3 {
					t.Errorf("step %s: %+v", short(st.Commit), st)
				}
			}
			if retried == 0 {
				t.Error("no run was retried")
			}
		}},
	{name: "a crash in the scenario is bad",
		states: append(repeat("pass", 5), repeat("crash", 5)...), good: 0, bad: 9, first: 5, confidence: 1},
	{name: "adjacent revisions: git knows without a step", states: []string{"pass", "fail"}, good: 0, bad: 1, first: 1, confidence: 1,
		check: func(t *testing.T, rep *Report, h []string) {
			if len(rep.Steps) != 0 {
				t.Errorf("%d steps, want none", len(rep.Steps))
			}
		}},
	{name: "a boot failure is skipped",
		states: []string{"pass", "pass", "pass", "pass", "boot", "pass", "fail", "fail", "fail", "fail"},
		good:   0, bad: 9, first: 6, confidence: 1, check: func(t *testing.T, rep *Report, h []string) {
			if st := stepOf(t, rep, h[4]); st.Verdict != Skip || !strings.Contains(st.Why, "did not boot") {
				t.Errorf("boot failure: %+v", st)
			}
		}},
}

func TestBisectCases(t *testing.T) {
	t.Parallel()
	for _, tt := range bisectCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tree, h := bisectRepo(t, tt.states...)
			bo := bisectOptions(t, tree, &fakeLab{})
			bo.Good, bo.Bad = h[tt.good], h[tt.bad]
			if tt.opts != nil {
				tt.opts(&bo)
			}
			rep, err := Bisect(context.Background(), bo)
			checkReset(t, tree, h[len(h)-1])
			if err != nil {
				t.Fatal(err)
			}
			if rep.First == nil || rep.First.Commit != h[tt.first] {
				t.Fatalf("first = %+v, want c%d; steps %+v", rep.First, tt.first, rep.Steps)
			}
			if rep.Confidence != tt.confidence {
				t.Errorf("confidence %v, want %v", rep.Confidence, tt.confidence)
			}
			if tt.check != nil {
				tt.check(t, rep, h)
			}
		})
	}
}

func stepOf(t *testing.T, rep *Report, commit string) Step {
	t.Helper()
	for _, st := range rep.Steps {
		if st.Commit == commit {
			return st
		}
	}
	t.Fatalf("commit %s was never tested; steps %+v", short(commit), rep.Steps)
	return Step{}
}

// TestBisectUndecided: a commit that does not build right before the
// change leaves git two candidates; the report lists them.
func TestBisectUndecided(t *testing.T) {
	t.Parallel()
	tree, h := bisectRepo(t, "pass", "pass", "pass", "pass", "pass", "build", "fail", "fail", "fail", "fail")
	bo := bisectOptions(t, tree, &fakeLab{})
	bo.Good, bo.Bad = h[0], h[9]
	var out bytes.Buffer
	bo.Out = &out
	rep, err := Bisect(context.Background(), bo)
	checkReset(t, tree, h[9])
	if !errors.Is(err, ErrUndecided) || rep.First != nil || len(rep.Candidates) != 2 {
		t.Fatalf("got %v, first %+v, candidates %+v; want c5 and c6 as candidates", err, rep.First, rep.Candidates)
	}
	if !strings.Contains(out.String(), "undecided") || !strings.Contains(out.String(), "c5: build") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestBisectStopsAndResets: whatever stops a bisect, the tree is reset to
// where it was and the report keeps the steps so far.
func TestBisectStopsAndResets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		states []string
		opts   func(*Options)
		want   func(error) bool
	}{
		{"the lab keeps failing", append(repeat("pass", 4), repeat("infra", 6)...), nil,
			func(err error) bool {
				var ie *lab.InfraError
				return errors.As(err, &ie) && strings.Contains(err.Error(), "3 times")
			}},
		{"cancelled", append(repeat("pass", 4), repeat("cancel", 6)...), nil,
			func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"--on-build-error abort", append(repeat("pass", 4), repeat("build", 6)...),
			func(bo *Options) { bo.OnBuildError = Abort },
			func(err error) bool { var be *kbuild.BuildError; return errors.As(err, &be) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tree, h := bisectRepo(t, tt.states...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fakeLab{cancel: cancel}
			bo := bisectOptions(t, tree, f)
			bo.Good, bo.Bad = h[0], h[9]
			if tt.opts != nil {
				tt.opts(&bo)
			}
			rep, err := Bisect(ctx, bo)
			checkReset(t, tree, h[9])
			if !tt.want(err) {
				t.Fatalf("got %v", err)
			}
			if rep == nil || rep.Error == "" {
				t.Fatalf("report %+v does not carry the error", rep)
			}
			if _, err := os.Stat(filepath.Join(rep.Dir, "bisect.json")); err != nil {
				t.Errorf("no report written: %v", err)
			}
		})
	}
}

func TestBisectRefusesTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tree, h := bisectRepo(t, "pass", "fail")
	bo := bisectOptions(t, tree, &fakeLab{})
	bo.Good, bo.Bad = h[0], h[1]
	if err := os.WriteFile(filepath.Join(tree, "state"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Bisect(ctx, bo); !errors.Is(err, gitbisect.ErrDirty) || !strings.Contains(err.Error(), tree) {
		t.Errorf("dirty tree: %v, want ErrDirty naming the tree", err)
	}
	gitT(t, tree, "checkout", "-q", "--", "state")
	gitT(t, tree, "bisect", "start", h[1], h[0])
	if _, err := Bisect(ctx, bo); !errors.Is(err, gitbisect.ErrBisecting) {
		t.Errorf("mid-bisect tree: %v, want ErrBisecting", err)
	}
	gitT(t, tree, "bisect", "reset")
	var ue *lab.UsageError
	for name, mod := range map[string]func(*Options){
		"no scenario": func(bo *Options) { bo.Scenario = "" },
		"bad check":   func(bo *Options) { bo.Check = "errno=0" },
		"same revs":   func(bo *Options) { bo.Good = h[1] },
		"bad rev":     func(bo *Options) { bo.Bad = "nope" },
		"a series":    func(bo *Options) { bo.Series = "v2" },
	} {
		b := bo
		mod(&b)
		if _, err := Bisect(ctx, b); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a lab.UsageError", name, err)
		}
	}
	checkReset(t, tree, h[1])
}

// TestBisectExitCodes: bisect-step's exit codes are git bisect run's.
func TestBisectExitCodes(t *testing.T) {
	t.Parallel()
	tree, h := bisectRepo(t, "pass", "fail", "build", "flip", "infra", "pass errno=25")
	tests := []struct {
		commit int
		opts   func(*Options)
		invert bool
		want   int
	}{
		{0, nil, false, 0},
		{0, nil, true, 1},
		{1, nil, false, 1},
		{1, nil, true, 0},
		{2, nil, false, 125},
		{2, func(bo *Options) { bo.OnBuildError = Bad }, false, 1},
		{2, func(bo *Options) { bo.OnBuildError = Abort }, false, 128},
		{3, func(bo *Options) { bo.Runs = 2 }, false, 125}, // one good, one bad: a tie
		{4, nil, false, 128},
		{5, func(bo *Options) { bo.Check = "errno==0" }, false, 1},
		{5, func(bo *Options) { bo.Check = "errno==0" }, true, 0},
	}
	for _, tt := range tests {
		gitT(t, tree, "checkout", "-q", h[tt.commit])
		bo := bisectOptions(t, tree, &fakeLab{})
		if tt.opts != nil {
			tt.opts(&bo)
		}
		st, err := StepAt(context.Background(), bo)
		if got := ExitCode(st, err, tt.invert); got != tt.want {
			t.Errorf("commit %d invert %v: exit %d, want %d (step %+v, err %v)", tt.commit, tt.invert, got, tt.want, st, err)
		}
	}
}

func TestParseCheck(t *testing.T) {
	tests := []struct {
		in    string
		want  Check
		holds map[float64]bool
		err   bool
	}{
		{in: "errno==0", want: Check{"errno", "==", 0}, holds: map[float64]bool{0: true, 25: false}},
		{in: " errno != 25 ", want: Check{"errno", "!=", 25}, holds: map[float64]bool{0: true, 25: false}},
		{in: "pcs>=10", want: Check{"pcs", ">=", 10}, holds: map[float64]bool{10: true, 9: false}},
		{in: "pcs>10", want: Check{"pcs", ">", 10}, holds: map[float64]bool{10: false, 11: true}},
		{in: "dups<=0.5", want: Check{"dups", "<=", 0.5}, holds: map[float64]bool{0.5: true, 1: false}},
		{in: "trace/unique@64<1e3", want: Check{"trace/unique@64", "<", 1000}, holds: map[float64]bool{999: true, 1000: false}},
		{in: "errno=0", err: true},
		{in: "errno", err: true},
		{in: "==0", err: true},
		{in: "errno==zero", err: true},
		{in: "my metric==1", err: true},
	}
	for _, tt := range tests {
		got, err := ParseCheck(tt.in)
		if tt.err {
			var ue *lab.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "METRIC OP NUMBER") {
				t.Errorf("ParseCheck(%q) = %v, %v; want a usage error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCheck(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		for v, want := range tt.holds {
			if got.Holds(v) != want {
				t.Errorf("%s holds for %v: %v, want %v", tt.in, v, !want, want)
			}
		}
	}
}

// TestBisectReportText pins the report people read: steps with their
// splits and timings, why a step was skipped, the answer in the user's
// words, the confidence and the commands that reproduce it.
func TestBisectReportText(t *testing.T) {
	one := 1.0
	rep := &Report{
		ID: "20260101-000000-abcdef", Tree: "/src/linux", Predicate: "errno==0 in scenario unique", Runs: 3,
		Good:     CommitInfo{Commit: strings.Repeat("a", 40), Subject: "kcov: use enum kcov_mode in kcov_mode_enabled()"},
		Bad:      CommitInfo{Commit: strings.Repeat("b", 40), Subject: "base: tarball:585a4a074597aefa"},
		Inverted: true, InRange: 13,
		Steps: []Step{
			{Commit: strings.Repeat("c", 40), Subject: "kcov: x86: introduce CONFIG_KCOV_UNIQUE", Verdict: Bad, Bad: 3, Confidence: 1,
				BuildSeconds: 655, BootSeconds: 21.3, ScenarioSeconds: 1.5, Runs: make([]StepRun, 3)},
			{Commit: strings.Repeat("d", 40), Subject: "bisect fixture: break the build", Verdict: Skip, Skipped: 1,
				Why: "the kernel did not build (config)", BuildSeconds: 31, KernelFailed: true, Runs: make([]StepRun, 1)},
			{Commit: strings.Repeat("e", 40), Subject: "kcov: add ioctl(KCOV_UNIQUE_ENABLE)", Verdict: Good, Good: 2, Bad: 1,
				Split: "2 good, 1 bad", Confidence: 2.0 / 3, KernelCached: true, BootSeconds: 20, ScenarioSeconds: 1.2,
				Runs: []StepRun{{Verdict: Good, Value: &one}}},
		},
		FirstIs: "first good commit", FirstMeans: "the first commit where errno==0 (scenario unique) holds",
		Reproduce: []string{"kcovlab bisect ...", "git -C /src/linux bisect start ...", "git -C /src/linux bisect run kcovlab bisect-step ...", "git -C /src/linux bisect reset"},
	}
	rep.First = &CommitInfo{Commit: rep.Steps[2].Commit, Subject: rep.Steps[2].Subject}
	rep.finish(time.Now(), nil)
	var b bytes.Buffer
	rep.Text(&b)
	testutil.Golden(t, "bisect.txt", b.Bytes())
}

// needClang skips a test that resolves a real kernel spec (it asks clang
// its version) on a host without a kernel toolchain.
func needClang(t *testing.T) {
	t.Helper()
	if _, err := kbuild.FindClang(context.Background(), 0); err != nil {
		t.Skipf("no kernel toolchain: %v", err)
	}
}

// TestBisectKernels: each commit between the ends has its own kernel key,
// all built in the tree's one build directory, with the series' selftest
// when the commit has it; a kernel put in the cache shows as cached.
func TestBisectKernels(t *testing.T) {
	needClang(t)
	t.Parallel()
	tree, h := bisectRepo(t, "pass", "pass", "fail", "fail")
	bo := bisectOptions(t, tree, &fakeLab{})
	bo.ModuleDir, bo.Good, bo.Bad = "..", h[0], h[3]
	bo.Fragments = []string{"guest.config", "kcov.config", "kcov-unique.config"}
	ks, err := Kernels(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Commit != h[2] || ks[1].Commit != h[1] || ks[0].Key == ks[1].Key || ks[0].Cached {
		t.Fatalf("kernels %+v, want c2 and c1, uncached, with two keys", ks)
	}
	entry := filepath.Join(bo.CacheDir, "kernels", ks[1].Key)
	if err := os.MkdirAll(entry, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(entry, "meta.json"), []byte(`{"key":"`+ks[1].Key+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Kernels(context.Background(), bo)
	if err != nil || again[0].Cached || !again[1].Cached {
		t.Errorf("after caching c1: %+v, %v", again, err)
	}

	o := bo.Options
	if err := o.Defaults(); err != nil {
		t.Fatal(err)
	}
	def, err := o.KernelDef()
	if err != nil {
		t.Fatal(err)
	}
	src, err := kbuild.LocalTree(context.Background(), tree)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := lab.KernelSpec(context.Background(), o, def, src)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Prepare != nil || spec.Source != src || spec.Selftest != "tools/testing/selftests/kcov/kcov_test.c" || len(spec.Fragments) != 3 || def.Name != "local" {
		t.Errorf("local tree spec %+v (kernel %s): want the tree as it is, with the selftest and three fragments", spec, def.Name)
	}
}

// A step's runs go through the pool at once with Parallel: all three are
// in the lab together (a sequential step never has two).
func TestBisectStepRunsAtOnce(t *testing.T) {
	t.Parallel()
	tree, _ := bisectRepo(t, "pass", "pass")
	f := &fakeLab{}
	var mu sync.Mutex
	in, most := 0, 0
	all := make(chan struct{})
	bo := bisectOptions(t, tree, f)
	bo.Runs, bo.Parallel = 3, 3
	bo.built = func(context.Context, lab.Options) (bool, error) { return true, nil }
	bo.Runner = func(ctx context.Context, o lab.Options) (*results.Result, error) {
		mu.Lock()
		in++
		most = max(most, in)
		if in == 3 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second): // one at a time: never all three
		}
		defer func() {
			mu.Lock()
			in--
			mu.Unlock()
		}()
		return f.run(ctx, o)
	}
	st, err := StepAt(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	if most != 3 || st.Verdict != Good || len(st.Runs) != 3 {
		t.Errorf("%d runs at once (want 3), step %+v", most, st)
	}
}
