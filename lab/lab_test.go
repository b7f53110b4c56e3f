package lab

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

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// fakeGuest answers scenario commands from a table.
type fakeGuest struct {
	stdout, stderr string
	code           int
	err            error
}

func (f fakeGuest) Output(ctx context.Context, cmd string) ([]byte, []byte, int, error) {
	return []byte(f.stdout), []byte(f.stderr), f.code, f.err
}

// TestRunScenarioErrorKind: a failed SSH session and a timeout say so in
// the result, so a bisect retries the first and never blames the kernel for
// it; the program's own error has no kind.
func TestRunScenarioErrorKind(t *testing.T) {
	smoke := scenarios.All["smoke"]
	tests := []struct {
		guest fakeGuest
		kind  string
	}{
		{fakeGuest{err: errors.New("ssh run: connection reset")}, results.ErrorChannel},
		{fakeGuest{err: fmt.Errorf("ssh run: %w", context.DeadlineExceeded)}, results.ErrorTimeout},
		{fakeGuest{stdout: `{"scenario":"smoke","error":"kcov: no such file"}`}, ""},
	}
	for _, tt := range tests {
		got := runScenario(context.Background(), tt.guest, smoke, scenarioEnv{timeout: time.Minute, outDir: t.TempDir()})
		if got.Verdict != results.Error || got.ErrorKind != tt.kind {
			t.Errorf("%+v: verdict %s kind %q, want error %q", tt.guest, got.Verdict, got.ErrorKind, tt.kind)
		}
	}
}

func TestRunScenarioVerdicts(t *testing.T) {
	smoke := scenarios.All["smoke"]
	tests := []struct {
		name    string
		guest   fakeGuest
		verdict string
		errHas  string
	}{
		{"pass", fakeGuest{stdout: `{"scenario":"smoke","pass":true,"metrics":{"pcs":12}}` + "\n"}, results.Pass, ""},
		{"invariant broken", fakeGuest{stdout: `{"scenario":"smoke","pass":false,"metrics":{"pcs":0}}`}, results.Fail, ""},
		{"program could not measure", fakeGuest{stdout: `{"scenario":"smoke","error":"kcov: no such file"}`}, results.Error, "no such file"},
		{"no JSON", fakeGuest{stdout: "panic: oops\n", stderr: "goroutine 1", code: 2}, results.Error, "no JSON outcome"},
		{"nonzero exit", fakeGuest{stdout: `{"scenario":"smoke","pass":true}`, code: 3}, results.Error, "exited 3"},
		{"channel lost", fakeGuest{err: errors.New("connection reset")}, results.Error, "connection reset"},
		{"wrong scenario", fakeGuest{stdout: `{"scenario":"other","pass":true}`}, results.Error, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got := runScenario(context.Background(), tt.guest, smoke, scenarioEnv{timeout: time.Minute, outDir: dir})
			if got.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s (error %q)", got.Verdict, tt.verdict, got.Error)
			}
			if !strings.Contains(got.Error, tt.errHas) {
				t.Errorf("error %q lacks %q", got.Error, tt.errHas)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "smoke.stdout")); err != nil || string(b) != tt.guest.stdout {
				t.Errorf("stdout not kept: %q, %v", b, err)
			}
		})
	}
}

func TestFindCrash(t *testing.T) {
	console := "[    0.5] Run /init as init process\n" +
		"[    1.2] BUG: kernel NULL pointer dereference, address: 0000000000000000\n" +
		"[    1.2] RIP: 0010:__sanitizer_cov_trace_pc+0x10/0x40\n" +
		"[    1.3] Kernel panic - not syncing: Fatal exception\n"
	c := FindCrash(console, nil)
	if c == nil {
		t.Fatal("no crash found")
	}
	if c.Title != "BUG: kernel NULL pointer dereference in __sanitizer_cov_trace_pc" || c.Kind != "oops" {
		t.Errorf("title %q kind %q", c.Title, c.Kind)
	}
	if !strings.Contains(c.Report, "__sanitizer_cov_trace_pc") {
		t.Errorf("report lacks the stack: %q", c.Report)
	}
	if FindCrash("[    0.1] Linux version 6.12\n[    2.0] kcovinit: ssh listening\n", nil) != nil {
		t.Error("a clean boot was taken for a crash")
	}
}

func TestBootErrorCarriesConsole(t *testing.T) {
	dir := t.TempDir()
	console := filepath.Join(dir, "console.log")
	os.WriteFile(console, []byte("line1\nKernel panic - not syncing: VFS: Unable to mount root fs\n"), 0o644)
	err := error(bootError(console, "QEMU exited", errors.New("exit status 0")))
	var be *BootError
	if !errors.As(err, &be) || be.Crash == nil {
		t.Fatalf("got %v, want a BootError with a crash", err)
	}
	if !strings.Contains(err.Error(), "Unable to mount root fs") {
		t.Errorf("error lacks the console tail:\n%v", err)
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", &kbuild.BuildError{Stage: "make", Err: errors.New("exit 2")}), "build"},
		{&BootError{Reason: "timeout"}, "boot"},
		{&InfraError{Stage: "vm", Err: errors.New("no qemu")}, "infra"},
		{fmt.Errorf("run: %w", context.Canceled), "cancelled"},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestOptionsDefaultsRejectBadAccel(t *testing.T) {
	o := Options{ModuleDir: t.TempDir(), Accel: "hvf"}
	if err := o.Defaults(); err == nil || !strings.Contains(err.Error(), "hvf") {
		t.Fatalf("got %v, want an error naming the accel", err)
	}
}

func TestRunRejectsUnknownScenario(t *testing.T) {
	_, err := Run(context.Background(), Options{ModuleDir: t.TempDir(), Scenarios: []string{"smoke,nope"}})
	var ue *scenarios.UnknownError
	if !errors.As(err, &ue) || ue.Name != "nope" {
		t.Fatalf("got %v, want UnknownError for nope", err)
	}
}

func TestKernelDef(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    string
		series  string
		frags   int
		exclude []int
		errHas  string
	}{
		{name: "default", opts: Options{}, want: "v2", series: "v2", frags: 3},
		{name: "vanilla", opts: Options{Kernel: "vanilla"}, want: "vanilla", frags: 2},
		{name: "exclude on the default kernel", opts: Options{Exclude: []int{1}}, want: "v2-without[1]", series: "v2", frags: 3, exclude: []int{1}},
		{name: "named", opts: Options{Kernel: "v4"}, want: "v4", series: "v4", frags: 3},
		{name: "series shorthand", opts: Options{Series: "v2"}, want: "v2", series: "v2", frags: 3},
		{name: "custom mbox", opts: Options{Series: "/tmp/x.mbox"}, want: "series:x.mbox", series: "/tmp/x.mbox", frags: 3},
		{name: "exclude", opts: Options{Series: "v2", Exclude: []int{1}}, want: "v2-without[1]", series: "v2", frags: 3, exclude: []int{1}},
		{name: "unknown", opts: Options{Kernel: "v9"}, errHas: "unknown kernel"},
		{name: "both", opts: Options{Kernel: "v2", Series: "v4"}, errHas: "give one"},
		{name: "exclude without series", opts: Options{Kernel: "vanilla", Exclude: []int{1}}, errHas: "needs a kernel with a series"},
		{name: "local tree", opts: Options{KernelSrc: "/src/linux"}, want: "local", frags: 2},
		{name: "local tree with fragments", opts: Options{KernelSrc: "/src/linux", Fragments: []string{"guest.config", "kcov.config", "kcov-unique.config"}}, want: "local", frags: 3},
		{name: "local tree with a series", opts: Options{KernelSrc: "/src/linux", Series: "v2"}, want: "v2", series: "v2", frags: 3},
		{name: "fragments replace the kernel's", opts: Options{Kernel: "v2", Fragments: []string{"guest.config"}}, want: "v2", series: "v2", frags: 1},
		{name: "exclude on a local tree", opts: Options{KernelSrc: "/src/linux", Exclude: []int{1}}, errHas: "needs a kernel with a series"},
		{name: "mutant", opts: Options{Kernel: "v2", Mutant: "../patches/mutants/v2/01-unique-records-every-hit.patch"}, want: "v2+mutant:unique-records-every-hit", series: "v2", frags: 3},
		{name: "q35 adds pc.config", opts: Options{Kernel: "v2", Machine: "q35"}, want: "v2+pc", series: "v2", frags: 4},
		{name: "pc-qboot adds pc.config", opts: Options{Kernel: "vanilla", Machine: "pc-qboot"}, want: "vanilla+pc", frags: 3},
		{name: "microvm named", opts: Options{Kernel: "v2", Machine: "microvm"}, want: "v2", series: "v2", frags: 3},
		{name: "pc.config already there", opts: Options{Kernel: "v2", Machine: "q35", Fragments: []string{"guest.config", "pc.config"}}, want: "v2", series: "v2", frags: 2},
		{name: "mutant without a series", opts: Options{Kernel: "vanilla", Mutant: "../patches/mutants/v2/01-unique-records-every-hit.patch"}, errHas: "needs a kernel with a series"},
		{name: "mutant that is no file", opts: Options{Kernel: "v2", Mutant: "/nonexistent.patch"}, errHas: "not a patch file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := tt.opts.KernelDef()
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil || def.Name != tt.want || def.Series != tt.series || len(def.Fragments) != tt.frags || fmt.Sprint(def.Exclude) != fmt.Sprint(tt.exclude) {
				t.Errorf("got %+v, %v", def, err)
			}
		})
	}
}

func TestNamedKernelsAreComplete(t *testing.T) {
	for name, k := range Kernels {
		if k.Name != name || k.Description == "" || len(k.Fragments) < 2 {
			t.Errorf("%s: incomplete definition %+v", name, k)
		}
		for _, f := range k.Fragments {
			if _, err := os.Stat(filepath.Join("..", "kernel-configs", f)); err != nil {
				t.Errorf("%s: fragment %s: %v", name, f, err)
			}
		}
		if k.Series != "" {
			if _, err := os.Stat(filepath.Join("..", "patches", k.Series)); err != nil {
				t.Errorf("%s: series %s not shipped: %v", name, k.Series, err)
			}
		}
	}
}

func TestKselftestVerdicts(t *testing.T) {
	ks := scenarios.All["kselftest"]
	const (
		knownFailure = "TAP version 13\n1..3\nok 1 kcov.basic\n# kcov_test.c:359:kcov_uniq_coverage:Expected before (0) > after (0)\nnot ok 2 kcov_uniq.slow_rw.kcov_uniq_coverage\nok 3 kcov.reset # SKIP no reset\n"
		otherFailure = "TAP version 13\n1..3\nok 1 kcov.basic\n# kcov_test.c:308:kcov_uniq_coverage:Expected ioctl(self->fd, KCOV_UNIQUE_ENABLE, BITMAP_SIZE) (-1) == 0 (0)\nnot ok 2 kcov_uniq.slow_rw.kcov_uniq_coverage\nok 3 kcov.reset # SKIP no reset\n"
		passes       = "TAP version 13\n1..3\nok 1 kcov.basic\nok 2 kcov_uniq.slow_rw.kcov_uniq_coverage\nok 3 kcov.reset # SKIP no reset\n"
		noPlan       = "TAP version 13\nok 1 kcov.basic\n"
	)
	withSelftest := func(id string) scenarioEnv {
		return scenarioEnv{kernelFiles: map[string]bool{"kcov_test": true}, selftest: id}
	}
	tests := []struct {
		name    string
		out     string
		env     scenarioEnv
		verdict string
		second  string
	}{
		{"no selftest in kernel", knownFailure, scenarioEnv{}, results.Skip, ""},
		{"known defect of v2's selftest, however the series was given", knownFailure, withSelftest(v2SelftestID), results.Pass, "xfail"},
		{"the same failure in another selftest", knownFailure, withSelftest("0000000000000000"), results.Fail, "fail"},
		{"another failure of the known case", otherFailure, withSelftest(v2SelftestID), results.Fail, "fail"},
		{"the known case passed: xpass", passes, withSelftest(v2SelftestID), results.Pass, "xpass"},
		{"no plan", noPlan, withSelftest(v2SelftestID), results.Error, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env.timeout, tt.env.outDir = time.Minute, t.TempDir()
			got := runScenario(context.Background(), fakeGuest{stdout: tt.out, code: 1}, ks, tt.env)
			if got.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s (%s)", got.Verdict, tt.verdict, got.Error)
			}
			if tt.second == "" {
				return
			}
			if len(got.Cases) != 3 || got.Cases[1].Status != tt.second || got.Cases[2].Status != "skip" {
				t.Errorf("cases %+v", got.Cases)
			}
			if tt.second != "fail" && got.Cases[1].Known == "" {
				t.Errorf("an expected failure (%s) does not say why", tt.second)
			}
			if tt.second != "xpass" && len(got.Cases[1].Diag) == 0 {
				t.Error("failure diagnostics lost")
			}
		})
	}
}

// The shipped v2 selftest is the one the known defects were found in: if
// the ported patch changes, the table must be checked again.
func TestKnownDefectsKeyedOnShippedSelftest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "patches", "v2", "0010-kcov-selftests-add-kcov_test.patch"))
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "diff --git"):
			in = strings.HasSuffix(line, "b/"+kselftestSource)
		case in && strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "+++"):
			src.WriteString(line[1:] + "\n")
		}
	}
	if got := SelftestID([]byte(src.String())); got != v2SelftestID {
		t.Errorf("v2's kcov_test.c hashes to %s, the known defects are keyed on %s", got, v2SelftestID)
	}
}

func TestKernelClass(t *testing.T) {
	tests := map[string]string{
		"CONFIG_KCOV=y\nCONFIG_KCOV_UNIQUE=y\nCONFIG_X=y\n": classUnique,
		"CONFIG_KCOV=y\n# CONFIG_KCOV_UNIQUE is not set\n":  classNoUnique,
		"CONFIG_KCOV=y\nCONFIG_KCOV_ENABLE_COMPARISONS=y\n": classUnpatched,
	}
	for cfg, want := range tests {
		if got := kernelClass([]byte(cfg)); got != want {
			t.Errorf("kernelClass(%q) = %s, want %s", cfg, got, want)
		}
	}
}

func TestFoldTrials(t *testing.T) {
	trials := []results.Scenario{
		{Verdict: results.Pass, Metrics: map[string]float64{"dups": 0, "pcs": 10}, Evidence: []string{"ok"}},
		{Verdict: results.Fail, Metrics: map[string]float64{"dups": 3, "pcs": 12}, Error: "3 repeats"},
		{Verdict: results.Pass, Metrics: map[string]float64{"dups": 0, "pcs": 11}},
	}
	got := foldTrials("guardrace", trials)
	if got.Verdict != results.Fail || got.Metrics["trials"] != 3 || got.Metrics["trials_failed"] != 1 || got.Metrics["dups"] != 3 || got.Metrics["pcs"] != 33 {
		t.Errorf("folded %+v", got)
	}
	if !strings.Contains(got.Error, "trial 2: fail 3 repeats") || got.Evidence[0] != "trial 1: ok" {
		t.Errorf("error %q evidence %q", got.Error, got.Evidence)
	}
	if worse(results.Fail, results.Error) != results.Error || worse(results.Pass, results.Skip) != results.Pass {
		t.Error("verdict order")
	}
	if got.ErrorKind != "" {
		t.Errorf("kind %q for trials without errors", got.ErrorKind)
	}
	crashed := foldTrials("guardrace", append(trials,
		results.Scenario{Verdict: results.Error, ErrorKind: results.ErrorChannel},
		results.Scenario{Verdict: results.Error, ErrorKind: results.ErrorCrash}))
	if crashed.Verdict != results.Error || crashed.ErrorKind != results.ErrorCrash {
		t.Errorf("a crashed trial folds to %s/%q, want error/crash", crashed.Verdict, crashed.ErrorKind)
	}
}

func TestGuiltyFrame(t *testing.T) {
	tests := []struct{ report, want string }{
		{`BUG: kernel NULL pointer dereference, address: 0000000000000000
[    0.51] RIP: 0010:__sanitizer_cov_trace_pc+0x3a/0x60
[    0.51] Call Trace:
[    0.51]  <IRQ>
[    0.51]  ? __die+0x1f/0x70
[    0.51]  native_sched_clock+0x1b/0x80
[    0.51]  sched_clock+0x9/0x20`, "native_sched_clock"},
		{`BUG: unable to handle page fault
RIP: 0010:__sanitizer_cov_trace_pc+0x3a/0x60
Call Trace:
 <IRQ>
 native_sched_clock+0x1b/0x80
 sched_clock_cpu+0x10/0x1a0`, "native_sched_clock"},
		{"Kernel panic - not syncing: no frames here", "unknown"},
	}
	for _, tt := range tests {
		if got := FindCrash(tt.report, nil).Guilty; got != tt.want {
			t.Errorf("guilty frame %q, want %q\n%s", got, tt.want, tt.report)
		}
	}
}

func TestFoldTrialsAllSkipped(t *testing.T) {
	got := foldTrials("bootgate", []results.Scenario{{Verdict: results.Skip, Error: "no CONFIG_KCOV_SELFTEST"}})
	if got.Verdict != results.Skip || got.Error != "no CONFIG_KCOV_SELFTEST" {
		t.Errorf("folded %+v", got)
	}
}

func TestNoiseByFunction(t *testing.T) {
	res := results.Scenario{Evidence: []string{
		"quiet set: 9 PCs",
		"restore_fpregs_from_fpstate+0x1a in 13 runs (idle 6, loaded 7)",
		"restore_fpregs_from_fpstate+0x2b in 11 runs (idle 6, loaded 5)",
		"read_tsc+0xc (arch/x86/kernel/tsc.c) in 1 runs (idle 1, loaded 0)",
		"native_sched_clock+0x4 (arch/x86/kernel/tsc.c:250) in 2 runs (idle 1, loaded 1)",
		"0xffffffff81000000 in 3 runs (idle 3, loaded 0)",
	}}
	noiseByFunction(&res)
	want := map[string]float64{
		"noise_runs_by_fn/restore_fpregs_from_fpstate": 13, "noise_runs_by_fn/read_tsc": 1,
		"noise_runs_by_fn/native_sched_clock": 2, "noise_runs_by_file/arch/x86/kernel/tsc.c": 2,
	}
	if len(res.Metrics) != len(want) {
		t.Fatalf("metrics %v, want %v", res.Metrics, want)
	}
	for k, v := range want {
		if res.Metrics[k] != v {
			t.Errorf("%s = %v, want %v", k, res.Metrics[k], v)
		}
	}
}

// A scenario that does not apply to the kernel is skip, with its reason,
// never pass: a run of nothing but such scenarios checked nothing.
func TestScenarioThatDoesNotApplyIsSkip(t *testing.T) {
	s := scenarios.All["guardrace"]
	out := `{"scenario":"guardrace","pass":false,"metrics":{"skipped":1},"skip":"does not apply: kernel is unpatched"}`
	got := runScenario(context.Background(), fakeGuest{stdout: out}, s, scenarioEnv{timeout: time.Minute, outDir: t.TempDir()})
	if got.Verdict != results.Skip || got.Error != "does not apply: kernel is unpatched" {
		t.Errorf("verdict %s (%q), want skip with the reason", got.Verdict, got.Error)
	}
}

// A nightly that names no kernel builds every named kernel but the
// on-demand flavours; `all` still reaches them.
func TestNightlyKernels(t *testing.T) {
	got := NightlyKernels()
	for _, want := range []string{"vanilla", "v2", "v4", "v2-no01", "v2-nounique"} {
		if !slices.Contains(got, want) {
			t.Errorf("NightlyKernels() = %v lacks %s", got, want)
		}
	}
	for _, k := range []string{"v2-debug", "v2-lockdep-selftest", "v2-no01-lockdep-selftest", "v4-lockdep-selftest", "v4-no01-lockdep-selftest"} {
		if slices.Contains(got, k) {
			t.Errorf("NightlyKernels() = %v has the on-demand %s", got, k)
		}
		if !slices.Contains(KernelNames(), k) {
			t.Errorf("KernelNames() lacks %s", k)
		}
	}
}
