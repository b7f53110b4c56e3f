package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/series"
	"github.com/kcovlab/kcovlab/lab"
)

// TestBrokenSeriesNamesPatchFileHunk feeds the deliberately broken fixture
// series: the run must stop before building, naming patch, file and hunk.
func TestBrokenSeriesNamesPatchFileHunk(t *testing.T) {
	needLab(t)
	opts := labOptions(t)
	opts.Series = "../internal/series/testdata/broken"
	opts.Scenarios = []string{"smoke"}
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := lab.Run(ctx, opts)
	t.Logf("summary:\n%s", out.String())
	var ae *series.ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an ApplyError", err)
	}
	for _, want := range []string{"kcov: document the layout of comparison records", "kernel/kcov.c", "hunk 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, ok := res.Stage("boot"); ok {
		t.Error("the run booted a kernel although its series did not apply")
	}
	if res.ErrorKind != "series" {
		t.Errorf("error kind %q, want series", res.ErrorKind)
	}
	// The summary names the kernel and the patch that failed.
	if res.Kernel.Name != "series:broken" {
		t.Errorf("result.json kernel name %q, want series:broken", res.Kernel.Name)
	}
	for _, want := range []string{"kernel series:broken (not built), not booted", "series:broken  run  ERROR  series: apply [PATCH 2/2] kcov: document the layout"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "(, )") {
		t.Error("summary prints an empty kernel identity")
	}
}

// seriesCase is one kernel of the series acceptance table.
type seriesCase struct {
	kernel    string
	scenarios []string
	// ciBuilds: CI builds this kernel even on an empty cache. The others
	// run when already built, or with KCOVLAB_E2E_FULL=1.
	ciBuilds bool
}

var allScenarios = []string{"unique", "ioctl", "reset", "overflow", "irqnoise", "guardrace", "kselftest"}

// kselftestCases are the series' selftest cases and what each must be on
// a kernel: pass, or (v2's known defects) xfail or xpass, never fail.
var kselftestCases = map[string]map[string][]string{
	"v2": {
		"kcov.mode_trace_pc.kcov_basic_syscall_coverage":  {"pass"},
		"kcov.mode_trace_cmp.kcov_basic_syscall_coverage": {"pass"},
		"kcov.reset_ioctl_rw.kcov_basic_syscall_coverage": {"pass"},
		"kcov.reset_ioctl_ro.kcov_basic_syscall_coverage": {"pass"},
		"kcov_uniq.fast_rw.kcov_uniq_coverage":            {"xfail", "xpass"},
		"kcov_uniq.slow_rw.kcov_uniq_coverage":            {"xfail", "xpass"},
		"kcov_uniq.slow_ro.kcov_uniq_coverage":            {"xfail", "xpass"},
	},
}

var seriesCases = []seriesCase{
	{kernel: "vanilla", scenarios: allScenarios, ciBuilds: true},
	{kernel: "v2", scenarios: allScenarios, ciBuilds: true},
	// Variants of v2 right after it: incremental builds in the shared tree.
	{kernel: "v2-no01", scenarios: []string{"irqnoise"}},
	{kernel: "v2-no01-selftest", scenarios: []string{"bootgate"}},
	{kernel: "v2-selftest", scenarios: []string{"bootgate"}},
	// A full rebuild of the shared tree (its headers differ from v2's):
	// on an empty cache CI has time for two cold kernels only.
	{kernel: "v4", scenarios: allScenarios},
	{kernel: "v2-nounique", scenarios: []string{"unique", "ioctl"}},
}

// TestSeriesKernels boots the series kernels: KCOV_UNIQUE_ENABLE works on
// CONFIG_KCOV_UNIQUE kernels, answers ENOTTY on vanilla and ENOTSUPP with
// the series but the option off; the series' selftest runs case by case.
func TestSeriesKernels(t *testing.T) {
	needLab(t)
	for _, tc := range seriesCases {
		t.Run(tc.kernel, func(t *testing.T) {
			opts := labOptions(t)
			opts.Kernel = tc.kernel
			opts.Scenarios = tc.scenarios
			if !tc.ciBuilds && os.Getenv("KCOVLAB_E2E_FULL") != "1" && !built(t, opts.Kernel) {
				t.Skipf("%s is not built yet and CI builds it only with KCOVLAB_E2E_FULL=1 (make e2e-full)", tc.kernel)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
			defer cancel()
			res, err := lab.Run(ctx, opts)
			if res == nil {
				t.Fatal(err)
			}
			t.Logf("MEASURED kernel=%s key=%s cached=%v build_s=%.0f", tc.kernel, res.Kernel.Key, res.Kernel.Cached, res.Kernel.BuildSeconds)
			for _, s := range res.Scenarios {
				t.Logf("MEASURED kernel=%s scenario=%s verdict=%s metrics=%v evidence=%q error=%q", tc.kernel, s.Name, s.Verdict, s.Metrics, s.Evidence, s.Error)
				for _, c := range s.Cases {
					t.Logf("MEASURED kernel=%s case=%s status=%s known=%q", tc.kernel, c.Name, c.Status, c.Known)
				}
			}
			checkSeriesRun(t, tc, res, err)
		})
	}
}

// checkSeriesRun asserts every verdict: each scenario passes, or skips
// saying why (kselftest on a kernel without the series' selftest,
// guardrace on an unpatched kernel); kselftest's cases are checked one by
// one; guardrace must have raced on 2 CPUs and judged the union.
func checkSeriesRun(t *testing.T, tc seriesCase, res *results.Result, err error) {
	t.Helper()
	if res.Error != "" {
		t.Fatalf("run failed (%s): %v", res.ErrorKind, err)
	}
	for _, s := range res.Scenarios {
		if s.Verdict == results.Skip {
			if s.Error == "" {
				t.Errorf("%s on %s skipped without saying why", s.Name, tc.kernel)
			}
			if s.Name == "kselftest" && tc.kernel != "vanilla" {
				t.Errorf("kselftest skipped on %s, which has the series' selftest: %s", tc.kernel, s.Error)
			}
			continue
		}
		if s.Name == "kselftest" && tc.kernel == "vanilla" {
			t.Errorf("kselftest on vanilla: %s, want skip (no selftest in 6.12)", s.Verdict)
		}
		if s.Verdict != results.Pass {
			t.Errorf("%s on %s: %s: %s %q", s.Name, tc.kernel, s.Verdict, s.Error, s.Evidence)
		}
		switch s.Name {
		case "kselftest":
			checkSelftestCases(t, tc.kernel, s)
		case "bootgate":
			if s.Metrics["boots"] == 0 {
				t.Errorf("bootgate on %s did not boot the selftest kernel: %s", tc.kernel, s.Error)
			}
		case "guardrace":
			if s.Metrics["skipped"] != 0 {
				break
			}
			trials := s.Metrics["trials"]
			if s.Metrics["cpus"] < 2*trials || s.Metrics["cpus_used"] < 1 {
				t.Errorf("guardrace on %s: cpus %v over %v trials", tc.kernel, s.Metrics["cpus"], trials)
			}
			if _, ok := s.Metrics["union_unexplained"]; !ok {
				t.Errorf("guardrace on %s did not judge the union against the reference", tc.kernel)
			}
		}
	}
}

// checkSelftestCases checks each case's status: every one passes, except
// the known defects of the kernel's selftest, which may be xfail or xpass.
func checkSelftestCases(t *testing.T, kernel string, s results.Scenario) {
	t.Helper()
	if len(s.Cases) != 7 {
		t.Errorf("kselftest on %s: %d cases, want the series' 7 (%s)", kernel, len(s.Cases), s.Error)
	}
	want := kselftestCases[kernel]
	for _, c := range s.Cases {
		allowed := []string{"pass"}
		if w, ok := want[c.Name]; ok {
			allowed = w
		}
		if !slices.Contains(allowed, c.Status) {
			t.Errorf("kselftest on %s: %s is %s, want %v (%q)", kernel, c.Name, c.Status, allowed, c.Diag)
		}
	}
}

// built reports whether the named kernel is in the cache, built from
// today's inputs (an older build of the same name does not count).
func built(t *testing.T, name string) bool {
	t.Helper()
	opts := labOptions(t)
	opts.Kernel = name
	ok, err := lab.Built(context.Background(), opts)
	if err != nil {
		t.Logf("is %s built? %v", name, err)
	}
	return ok
}
