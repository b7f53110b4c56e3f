package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/lab"
)

// TestCompareVanillaWithItself runs vanilla against itself twice each
// (four boots of the cached kernel) and checks the wiring: every sample's
// run directory exists, both sides name the same kernel, and no metric is
// called significant (with 2 runs each no p-value can fall below 1/3).
func TestCompareVanillaWithItself(t *testing.T) {
	needLab(t)
	opts := labOptions(t)
	opts.Scenarios = []string{"smoke"}
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	cr, err := lab.Compare(ctx, lab.CompareOptions{Options: opts, KernelA: "vanilla", KernelB: "vanilla", Runs: 2})
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, out.String())
	}
	t.Logf("MEASURED compare_dir=%s\n%s", cr.Dir, out.String())
	c := cr.Comparison
	if c.A.Kernel.Key == "" || c.A.Kernel.Key != c.B.Kernel.Key {
		t.Errorf("kernel keys %q and %q, want the same", c.A.Kernel.Key, c.B.Kernel.Key)
	}
	for _, k := range []report.ABKernel{c.A, c.B} {
		if k.Verdicts.Pass != 2 || len(k.Samples) != 2 {
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
	if !strings.Contains(out.String(), "rerun: kcovlab compare vanilla vanilla --scenario smoke --runs 2") {
		t.Errorf("no rerun line:\n%s", out.String())
	}
}
