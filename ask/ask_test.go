package ask

import (
	"context"
	"errors"
	"fmt"
	"io"
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

func TestAskTSCNoise(t *testing.T) {
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		switch kernel {
		case "v2":
			return askResult(kernel, n, results.Scenario{Name: "irqnoise", Verdict: results.Pass,
				Metrics:  map[string]float64{"noise_runs": float64(1 + n%2), "noise_runs_by_fn/switch_fpu_return": 1},
				Evidence: []string{"switch_fpu_return+0x12 (arch/x86/kernel/fpu/core.c) in 1 runs (idle 1, loaded 0)"}}), nil
		case "v2-no01":
			return askResult(kernel, n, results.Scenario{Name: "irqnoise", Verdict: results.Pass,
				Metrics: map[string]float64{"noise_runs": float64(7 + n), "noise_runs_by_fn/read_tsc": 2,
					"noise_runs_by_file/arch/x86/kernel/tsc.c": 2, "noise_runs_by_fn/switch_fpu_return": 3},
				Evidence: []string{"read_tsc+0xc (arch/x86/kernel/tsc.c) in 2 runs (idle 0, loaded 2)"}}), nil
		case "v2-no01-selftest":
			return askResult(kernel, n, results.Scenario{Name: "bootgate", Verdict: results.Fail,
				Metrics:  map[string]float64{"boots": 5, "crashes": 1},
				Evidence: []string{"trial 3: crash: BUG: unable to handle page fault", "trial 3: guilty frame: native_sched_clock"}}), nil
		default:
			return askResult(kernel, n, results.Scenario{Name: "bootgate", Verdict: results.Pass, Metrics: map[string]float64{"boots": 5}}), nil
		}
	}}
	ans, err := Ask(context.Background(), askOptions(t, "tsc-noise", f))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01", "v2", "v2-no01", "v2-selftest", "v2-no01-selftest"}
	if got := f.Kernels(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("runs %v, want %v", got, want)
	}
	checkAnswer(t, ans, "$ kcovlab compare --kernel v2,v2-no01 --scenario irqnoise --runs 5", "booted under TCG")
	text := strings.Join(ans.Findings, "\n")
	for _, w := range []string{
		"v2 1 (median; 1..2 over 5 runs), v2-no01 9 (median; 7..11 over 5 runs); p = 0.0079",
		"Runs with PCs in arch/x86/kernel/tsc.c: v2 0 (each of 5 runs), v2-no01 2 (each of 5 runs)",
		"read_tsc (arch/x86/kernel/tsc.c) 10",
		"switch_fpu_return (arch/x86/kernel/fpu/core.c) 15", // the file from the other kernel's runs
		"in_task() check holds",
		"v2-no01-selftest crashed in 1 of 5 boots (guilty frames: native_sched_clock x1)",
		"v2-selftest crashed in 0 of 5 boots",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("findings lack %q:\n%s", w, text)
		}
	}
	if len(ans.Kernels) != 4 {
		t.Errorf("identities of %d kernels, want 4", len(ans.Kernels))
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
