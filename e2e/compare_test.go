package e2e

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/compare"
	"github.com/kcovlab/kcovlab/internal/report"
)

// TestCompareVanillaWithItself runs vanilla against itself four times
// each (eight boots of the cached kernel) and checks the wiring: every
// sample's run directory exists, both sides name the same kernel, and no
// metric is called significant. With 4 runs each two fully separated
// samples give p = 2/70 < 0.05, so a metric that differed would be caught.
func TestCompareVanillaWithItself(t *testing.T) {
	const runs = 4
	cr, out := compareE2E(t, "vanilla", "vanilla", "smoke", runs)
	c := cr.Comparison
	if c.A.Kernel.Key == "" || c.A.Kernel.Key != c.B.Kernel.Key {
		t.Errorf("kernel keys %q and %q, want the same", c.A.Kernel.Key, c.B.Kernel.Key)
	}
	for _, k := range []report.ABKernel{c.A, c.B} {
		if k.Verdicts.Pass != runs || len(k.Samples) != runs {
			t.Errorf("%s: verdicts %+v over %d samples", k.Name, k.Verdicts, len(k.Samples))
		}
		for _, s := range k.Samples {
			if _, err := os.Stat(filepath.Join(cr.Dir, s.Dir, "result.json")); err != nil || !s.Data {
				t.Errorf("sample %d: run dir %q: %v (data %v)", s.Seq, s.Dir, err, s.Data)
			}
		}
	}
	if len(c.Metrics) == 0 {
		t.Fatal("no metrics compared")
	}
	for _, m := range c.Metrics {
		if m.Significant || !m.Both() {
			t.Errorf("%s: significant %v, both sides %v", m.Label(), m.Significant, m.Both())
		}
	}
	for _, f := range []string{report.ABJSONFile, report.ABHTMLFile} {
		if _, err := os.Stat(filepath.Join(cr.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "rerun: kcovlab compare --kernel vanilla,vanilla --scenario smoke --runs 4") {
		t.Errorf("no rerun line:\n%s", out.String())
	}
}

// TestCompareVanillaWithV2 runs the unique scenario on vanilla and v2, four
// runs each: KCOV_UNIQUE_ENABLE fails with ENOTTY (25) on every vanilla run
// and succeeds on every v2 run, so errno must come out significant with the
// exact p-value of two fully separated samples of 4 (2/70).
func TestCompareVanillaWithV2(t *testing.T) {
	cr, _ := compareE2E(t, "vanilla", "v2", "unique", 4)
	var errno *report.MetricStat
	for i, m := range cr.Comparison.Metrics {
		if m.Scenario == "unique" && m.Metric == "errno" {
			errno = &cr.Comparison.Metrics[i]
		}
	}
	if errno == nil || !errno.Both() {
		t.Fatalf("unique:errno not compared on both kernels: %+v", errno)
	}
	if errno.A.Median != 25 || errno.B.Median != 0 || errno.P == nil || math.Abs(*errno.P-2.0/70) > 1e-9 || !errno.Significant {
		t.Errorf("errno: vanilla %v, v2 %v, p %v, significant %v; want 25, 0, 2/70, true", errno.A.Median, errno.B.Median, errno.P, errno.Significant)
	}
	if cr.Comparison.A.Kernel.Key == cr.Comparison.B.Kernel.Key {
		t.Error("both sides ran the same kernel")
	}
}

// compareE2E compares two kernels on one scenario and returns the result
// and the printed comparison.
func compareE2E(t *testing.T, a, b, scenario string, runs int) (*compare.Result, *bytes.Buffer) {
	t.Helper()
	needLab(t)
	opts := labOptions(t)
	opts.Scenarios = []string{scenario}
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	cr, err := compare.Compare(ctx, compare.Options{Options: opts, KernelA: a, KernelB: b, Runs: runs})
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, out.String())
	}
	t.Logf("MEASURED compare_dir=%s\n%s", cr.Dir, out.String())
	return cr, &out
}
