package ask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// scenarioResult is a finished run of kernel with the given scenarios.
func askResult(kernel string, n int, sc ...results.Scenario) *results.Result {
	return &results.Result{Schema: results.SchemaVersion, RunID: fmt.Sprintf("run-%s-%d", kernel, n), Accel: "tcg",
		Kernel:    results.Kernel{Name: kernel, Key: "key-" + kernel, Series: "v2", SourceID: "tarball:abc", Fragments: []string{"guest.config"}, Compiler: "clang 22"},
		Scenarios: sc}
}

func askOptions(t *testing.T, recipe string, f *runstest.Fake) Options {
	t.Helper()
	return Options{
		Options: lab.Options{ModuleDir: t.TempDir(), ResultsDir: t.TempDir(), Out: io.Discard},
		Recipe:  recipe, run: f.Run,
	}
}

func checkAnswer(t *testing.T, ans *Answer, wants ...string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ans.Dir, "answer.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if !strings.HasPrefix(text, "Q: "+ans.Question) || !strings.Contains(text, "Kernels (") {
		t.Errorf("answer does not start with the question and the kernels:\n%s", text)
	}
	if !strings.Contains(text, "To reproduce") || !strings.Contains(text, "$ kcovlab ask "+ans.Recipe) {
		t.Errorf("answer does not end with the commands:\n%s", text)
	}
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("answer lacks %q:\n%s", w, text)
		}
	}
	if _, err := os.Stat(filepath.Join(ans.Dir, "answer.json")); err != nil {
		t.Error(err)
	}
}

// fakeTree is the built source the tsc-noise answer cites, one line per
// fact, at known line numbers.
var fakeTree = map[string]string{
	"kernel/kcov.c":                    "x\nstatic notrace enum kcov_mode get_kcov_mode(struct task_struct *t)\n{\n\tif (!in_task() && !(in_softirq_really() && t->kcov_softirq))\n\t * in_interrupt() returns false (e.g. preempt_schedule_irq()).\n",
	"include/linux/preempt.h":          "# define in_task()\t\t(!((preempt_count() & (NMI_MASK | HARDIRQ_MASK)) | in_serving_softirq()))\n#else\n# define in_task()\t\t(!(preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)))\n",
	"kernel/entry/common.c":            "void raw_irqentry_exit_cond_resched(void)\n{\n\tif (!preempt_count()) {\n\t\tif (need_resched())\n\t\t\tpreempt_schedule_irq();\n",
	"kernel/sched/core.c":              "asmlinkage __visible void __sched preempt_schedule_irq(void)\n{\n\tBUG_ON(preempt_count() || !irqs_disabled());\n",
	"kernel/sched/Makefile":            "KCOV_INSTRUMENT := n\n",
	"kernel/locking/Makefile":          "\nKCOV_INSTRUMENT\t\t:= n\n",
	"kernel/entry/Makefile":            "\n\nKCOV_INSTRUMENT := n\n",
	"kernel/locking/lockdep.c":         "static struct pin_cookie __lock_pin_lock(struct lockdep_map *lock)\n{\n\t\t\tcookie.val = 1 + (sched_clock() & 0xffff);\n",
	"arch/x86/kernel/tsc.c":            "\n\nnotrace u64 sched_clock(void)\n",
	"arch/x86/kernel/Makefile":         "KCOV_INSTRUMENT_tsc.o\t\t\t\t\t:= n\n",
	"kernel/sched/pelt.h":              "static inline void update_rq_clock_pelt(struct rq *rq, s64 delta)\n{\n\tdelta = cap_scale(delta, arch_scale_cpu_capacity(cpu_of(rq)));\n",
	"arch/x86/kernel/cpu/aperfmperf.c": "unsigned long arch_scale_cpu_capacity(int cpu)\n",
}

func fakeSource(tree map[string]string) func(context.Context, lab.Options, string) ([]byte, error) {
	return func(_ context.Context, o lab.Options, path string) ([]byte, error) {
		src, ok := tree[path]
		if !ok || path == "arch/x86/kernel/Makefile" && strings.Contains(o.Kernel, "no01") {
			return nil, fmt.Errorf("no %s in %s", path, o.Kernel)
		}
		return []byte(src), nil
	}
}

// tscScript fakes tsc-noise's runs: the no-01 lockdep kernel crashes in
// crashes of its boots, on patch 01's path.
func tscScript(crashes int, traced bool) func(kernel string, n int) (*results.Result, error) {
	return tscScriptWith(crashes, traced, 0)
}

// tscScriptWith is tscScript where the kernel with patch 01 crashes in
// withCrashes boots as well (no trace), as it does on 6.12.
func tscScriptWith(crashes int, traced bool, withCrashes int) func(kernel string, n int) (*results.Result, error) {
	return func(kernel string, n int) (*results.Result, error) {
		switch kernel {
		case "v2-lockdep-selftest":
			sc := results.Scenario{Name: "bootgate", Verdict: results.Pass, Metrics: map[string]float64{"boots": 14}}
			if withCrashes > 0 {
				sc.Verdict = results.Fail
				sc.Metrics["crashes"], sc.Metrics["crashes_selftest"] = float64(withCrashes), float64(withCrashes)
			}
			return askResult(kernel, n, sc), nil
		case "v2":
			return askResult(kernel, n, results.Scenario{Name: "irqnoise", Verdict: results.Pass,
				Metrics:  map[string]float64{"noise_runs": float64(1 + n%2), "noise_runs_by_fn/switch_fpu_return": 1},
				Evidence: []string{"switch_fpu_return+0x12 (arch/x86/kernel/fpu/core.c) in 1 runs (idle 1, loaded 0)"}}), nil
		case "v2-no01":
			return askResult(kernel, n, results.Scenario{Name: "irqnoise", Verdict: results.Pass,
				Metrics: map[string]float64{"noise_runs": float64(7 + n), "noise_runs_by_fn/read_tsc": 2,
					"noise_runs_by_file/arch/x86/kernel/tsc.c": 2, "noise_runs_by_fn/switch_fpu_return": 3},
				Evidence: []string{"read_tsc+0xc (arch/x86/kernel/tsc.c) in 2 runs (idle 0, loaded 2)"}}), nil
		case "v2-no01-lockdep-selftest":
			sc := results.Scenario{Name: "bootgate", Verdict: results.Pass, Metrics: map[string]float64{"boots": 14}}
			if crashes > 0 {
				sc.Verdict = results.Fail
				sc.Metrics["crashes"], sc.Metrics["crashes_selftest"] = float64(crashes), float64(crashes)
				if !traced {
					sc.Evidence = []string{"trial 1: crash: BUG: kernel NULL pointer dereference, address: 0000000000000000",
						"trial 1: during KCOV's selftest, in __sanitizer_cov_trace_pc_guard+0x61/0xd0",
						"trial 1: console: BUG: kernel NULL pointer dereference | Thread overran stack, or stack corrupted | RIP: 0010:__sanitizer_cov_trace_pc_guard+0x61/0xd0 | Call Trace: (empty)"}
					return askResult(kernel, n, sc), nil
				}
				sc.Metrics["crashes_patch01"] = float64(crashes)
				for i := 1; i <= crashes; i++ {
					sc.Evidence = append(sc.Evidence, fmt.Sprintf("trial %d: crash: BUG: unable to handle page fault", i),
						fmt.Sprintf("trial %d: guilty frame: sched_clock+0x12 (arch/x86/kernel/tsc.c)", i),
						fmt.Sprintf("trial %d: path: sched_clock <- lock_pin_lock <- __schedule <- preempt_schedule_irq <- irqentry_exit <- asm_sysvec_reschedule_ipi <- selftest", i),
						fmt.Sprintf("trial %d: patch 01 trace: matches (guilty sched_clock, patch 01's sched_clock; preempt_schedule_irq on the path); 7 of 7 of its frames in order: sched_clock, lock_pin_lock, __schedule, preempt_schedule_irq, irqentry_exit, asm_sysvec_reschedule_ipi, selftest", i))
				}
			}
			return askResult(kernel, n, sc), nil
		default:
			return askResult(kernel, n, results.Scenario{Name: "bootgate", Verdict: results.Pass, Metrics: map[string]float64{"boots": 14}}), nil
		}
	}
}

func TestAskTSCNoise(t *testing.T) {
	f := &runstest.Fake{Script: tscScript(9, true)}
	o := askOptions(t, "tsc-noise", f)
	o.source = fakeSource(fakeTree)
	ans, err := Ask(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v2-lockdep-selftest", "v2-no01-lockdep-selftest", "v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01"}
	if got := f.Kernels(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("runs %v, want %v", got, want)
	}
	for _, c := range f.Calls {
		if strings.Contains(c.Kernel, "selftest") && c.BootRuns != 14 {
			t.Errorf("%s booted with BootRuns %d, want the recipe's 14", c.Kernel, c.BootRuns)
		}
	}
	checkAnswer(t, ans, "$ kcovlab compare --kernel v2,v2-no01 --scenario irqnoise --runs 5", "booted under TCG",
		"$ kcovlab run --kernel v2-no01-lockdep-selftest --scenario bootgate --boot-runs=14")
	text := strings.Join(ans.Findings, "\n")
	if !strings.HasPrefix(text, "without patch 01: 9 of 14 boots crashed in sched_clock (tsc.c) under preempt_schedule_irq; with it: 0 of 14 (p = 0.00058, two-sided Fisher's exact test, 14 vs 14 boots)") {
		t.Errorf("the answer does not lead with the crash rates:\n%s", text)
	}
	for _, w := range []string{
		"v2 1 (median; 1..2 over 5 runs), v2-no01 9 (median; 7..11 over 5 runs); p = 0.0079",
		"Runs with PCs in arch/x86/kernel/tsc.c: v2 0 (each of 5 runs), v2-no01 2 (each of 5 runs)",
		"read_tsc (arch/x86/kernel/tsc.c) 10",
		"switch_fpu_return (arch/x86/kernel/fpu/core.c) 15", // the file from the other kernel's runs
		"guilty frames: sched_clock+0x12 (arch/x86/kernel/tsc.c) x9",
		"Against patch 01's trace (first crash): matches",
		"v2-lockdep-selftest: 0 of 14 boots crashed",
		"passed kernel/kcov.c:4 `if (!in_task() && !(in_softirq_really() && t->kcov_softirq))`",
		"kernel/entry/common.c:3 `if (!preempt_count()) {`, then kernel/entry/common.c:5 `preempt_schedule_irq();`",
		"include/linux/preempt.h:3 `# define in_task()",
		"kernel/entry/Makefile:3 `KCOV_INSTRUMENT := n`, kernel/sched/Makefile:1 `KCOV_INSTRUMENT := n`, kernel/locking/Makefile:2 `KCOV_INSTRUMENT\t\t:= n`",
		"kernel/locking/lockdep.c:3 `cookie.val = 1 + (sched_clock() & 0xffff);`",
		"arch/x86/kernel/tsc.c:3 `notrace u64 sched_clock(void)`",
		"kernel/kcov.c:5 `* in_interrupt() returns false (e.g. preempt_schedule_irq()).`",
		"arch/x86/kernel/Makefile:1 `KCOV_INSTRUMENT_tsc.o\t\t\t\t\t:= n`, in v2-lockdep-selftest's tree",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	if len(ans.Kernels) != 4 {
		t.Errorf("identities of %d kernels, want 4", len(ans.Kernels))
	}
}

// Red: no crash without patch 01 is "not reproduced", never a contrast;
// and a built tree without the cited lines gets no claim.
func TestAskTSCNoiseNotReproduced(t *testing.T) {
	f := &runstest.Fake{Script: tscScript(0, true)}
	o := askOptions(t, "tsc-noise", f)
	tree := maps.Clone(fakeTree)
	tree["kernel/kcov.c"] = strings.ReplaceAll(tree["kernel/kcov.c"], "in_task()", "in_interrupt()")
	o.source = fakeSource(tree)
	ans, err := Ask(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(ans.Findings, "\n")
	for _, w := range []string{
		"not reproduced: 0 of 14 boots of v2-no01-lockdep-selftest (without patch 01) crashed in sched_clock (tsc.c) under preempt_schedule_irq or in KCOV's selftest; with patch 01 (v2-lockdep-selftest): 0 of 14",
		"Configs tried: fragments guest.config",
		"cannot cite the built source, so no claim is made: kernel/kcov.c: no line with \"if (!in_task()\" after \"enum kcov_mode get_kcov_mode(\"",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	for _, bad := range []string{"without patch 01: ", "Did it pass"} {
		if strings.Contains(text, bad) {
			t.Errorf("findings claim %q without the evidence:\n%s", bad, text)
		}
	}
}

func TestAskOverflow(t *testing.T) {
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		return askResult(kernel, n, results.Scenario{Name: "overflow", Verdict: results.Pass, Metrics: map[string]float64{
			"corpus_programs": 200, "corpus_overflows/trace@4096": float64(90 + n), "corpus_overflows/unique@4096": 0,
			"overflow_reduction_pct": 100, "dup_ratio/pipe_1m@4096": 0.97, "trace_words/pipe_1m@4096": 4095, "unique_words/pipe_1m@4096": 131,
		}}), nil
	}}
	ans, err := Ask(context.Background(), askOptions(t, "overflow", f))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, ans, "trace mode overflowed 91 times (median; 90..92 over 3 runs), unique mode 0 times (each of 3 runs)", "-99.6 %", "pipe_1m@4096")
}

// The last run's overflow scenario erred (no result to read the table
// from): the answer uses the last run that measured, it does not panic.
func TestAskOverflowLastRunErrored(t *testing.T) {
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		if n == 2 {
			return askResult(kernel, n, results.Scenario{Name: "overflow", Verdict: results.Error, Error: "scenario program exited 2"}), lab.ErrScenarioFailed
		}
		return askResult(kernel, n, results.Scenario{Name: "overflow", Verdict: results.Pass, Metrics: map[string]float64{
			"corpus_programs": 200, "corpus_overflows/trace@4096": 90, "corpus_overflows/unique@4096": 0,
			"overflow_reduction_pct": 100, "dup_ratio/pipe_1m@4096": 0.97, "trace_words/pipe_1m@4096": 4095, "unique_words/pipe_1m@4096": 131,
		}}), nil
	}}
	ans, err := Ask(context.Background(), askOptions(t, "overflow", f))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, ans, "pipe_1m@4096", "last run that measured")
}

func TestAskV2VsV4(t *testing.T) {
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		status := "pass"
		if kernel == "v2" {
			status = "xfail"
		}
		return askResult(kernel, n,
			results.Scenario{Name: "unique", Verdict: results.Pass, Metrics: map[string]float64{"pcs": 9}},
			results.Scenario{Name: "kselftest", Verdict: results.Pass, Cases: []results.Case{{Name: "kcov_uniq.slow_rw", Status: status}}},
			results.Scenario{Name: "guardrace", Verdict: map[string]string{"v2": results.Fail, "v4": results.Pass}[kernel], Metrics: map[string]float64{"union_unexplained": map[string]float64{"v2": 3, "v4": 0}[kernel]}}), nil
	}}
	ans, err := Ask(context.Background(), askOptions(t, "v2-vs-v4", f))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, ans, "guardrace: v2 fail, v4 pass", "kcov_uniq.slow_rw (v2 xfail, v4 pass)", "unique pass")
}

func TestAskRejects(t *testing.T) {
	f := &runstest.Fake{Script: func(string, int) (*results.Result, error) { return nil, errors.New("must not run") }}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"unknown recipe", func(o *Options) { o.Recipe = "nope" }, `unknown recipe "nope"`},
		{"kernel count", func(o *Options) { o.Kernels = []string{"v2"} }, "takes 4 kernels"},
		{"unknown kernel", func(o *Options) { o.Kernels = []string{"v2", "v9", "a", "b"} }, "v9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := askOptions(t, "tsc-noise", f)
			tc.edit(&o)
			_, err := Ask(context.Background(), o)
			var ue *lab.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a usage error with %q", err, tc.want)
			}
		})
	}
	if len(f.Calls) != 0 {
		t.Errorf("%d runs started for bad input", len(f.Calls))
	}
}

// The crash as this machine shows it: in the selftest, no trace left.
func TestAskTSCNoiseSelftestNoTrace(t *testing.T) {
	f := &runstest.Fake{Script: tscScript(14, false)}
	o := askOptions(t, "tsc-noise", f)
	o.source = fakeSource(fakeTree)
	ans, err := Ask(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(ans.Findings, "\n")
	for _, w := range []string{
		"without patch 01: 14 of 14 boots crashed in KCOV's selftest (the coverage callback ran for the selftest task and faulted on its NULL buffer); with it: 0 of 14 (p = 5e-08",
		"No call trace survived to name sched_clock or preempt_schedule_irq",
		"Console (first crash): BUG: kernel NULL pointer dereference | Thread overran stack",
		"Did it pass check_kcov_mode()'s in_task() test? Yes",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "crashed in sched_clock (tsc.c) under") {
		t.Errorf("the answer claims the sched_clock path without a trace:\n%s", text)
	}
}

// As measured on 6.12: both kernels crash in the selftest; the answer must
// not credit tsc.c with the whole crash.
func TestAskTSCNoisePatch01NotEnough(t *testing.T) {
	f := &runstest.Fake{Script: tscScriptWith(14, false, 9)}
	o := askOptions(t, "tsc-noise", f)
	o.source = fakeSource(fakeTree)
	ans, err := Ask(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(ans.Findings, "\n")
	for _, w := range []string{
		"without patch 01: 14 of 14 boots crashed in KCOV's selftest",
		"with it: 9 of 14 (p = 0.041",
		"Patch 01 does not stop the crash on v2-lockdep-selftest: 9 of 14 boots",
		"calls arch_scale_cpu_capacity() (kernel/sched/pelt.h:3 `delta = cap_scale(delta, arch_scale_cpu_capacity(cpu_of(rq)));`), defined in arch/x86/kernel/cpu/aperfmperf.c:1",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "so the crash needs tsc.c instrumented") {
		t.Errorf("the answer credits tsc.c although patch 01's kernel crashed too:\n%s", text)
	}
}

// The comparison's kernel cannot run (not built, a build that fails): the
// crash contrast and the in_task() answer are still given.
func TestAskTSCNoiseCompareFails(t *testing.T) {
	script := tscScriptWith(14, false, 3)
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		if kernel == "v2-no01" {
			return nil, &lab.InfraError{Stage: "kernel", Err: errors.New("build lock lost")}
		}
		return script(kernel, n)
	}}
	o := askOptions(t, "tsc-noise", f)
	o.source = fakeSource(fakeTree)
	ans, err := Ask(context.Background(), o)
	if err == nil {
		t.Fatal("no error for a comparison that could not run")
	}
	text := strings.Join(ans.Findings, "\n")
	for _, w := range []string{"without patch 01: 14 of 14 boots crashed in KCOV's selftest", "Did it pass check_kcov_mode()'s in_task() test? Yes"} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	for _, k := range ans.Kernels {
		if k.Key == "" {
			t.Errorf("an empty kernel identity: %+v", ans.Kernels)
		}
	}
}
