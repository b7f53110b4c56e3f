package e2e

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/nightly"
)

// seedPrevious writes a previous nightly as a fixture: vanilla's smoke
// failed then, v2's unique saw far fewer PCs, and a kernel v9 existed.
func seedPrevious(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, "nightly-20000101-000000")
	runs := []*results.Result{
		{Kernel: results.Kernel{Name: "vanilla"}, Scenarios: []results.Scenario{
			{Name: "smoke", Verdict: results.Fail, Metrics: map[string]float64{"pcs": 0}},
			{Name: "unique", Verdict: results.Pass, Metrics: map[string]float64{"errno": 25}}}},
		{Kernel: results.Kernel{Name: "v2"}, Scenarios: []results.Scenario{
			{Name: "smoke", Verdict: results.Pass, Metrics: map[string]float64{"pcs": 9}},
			{Name: "unique", Verdict: results.Pass, Metrics: map[string]float64{"pcs": 1, "errno": 0}}}},
		{Kernel: results.Kernel{Name: "v9"}, Scenarios: []results.Scenario{{Name: "smoke", Verdict: results.Pass}}},
	}
	for i, r := range runs {
		r.Schema, r.RunID, r.LabVersion = results.SchemaVersion, "20000101-000000-00000"+string(rune('0'+i)), "seed"
		d := filepath.Join(dir, r.RunID)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestNightlyTwoKernels runs a nightly over vanilla and v2, compares it with
// the seeded previous nightly, and checks the JUnit file and the rendered
// HTML report.
func TestNightlyTwoKernels(t *testing.T) {
	needLab(t)
	testutil.NeedFile(t, report.Chromium)
	root := t.TempDir()
	prev := seedPrevious(t, root)
	opts := labOptions(t)
	opts.ResultsDir = root
	testutil.CheckResultsUnder(t, root)
	opts.Scenarios = []string{"smoke", "unique"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	nr, err := nightly.Nightly(ctx, nightly.Options{Options: opts, Kernels: []string{"vanilla", "v2"}})
	if err != nil {
		t.Fatalf("nightly: %v", err)
	}
	if nr.Prev != prev || nr.Diff == nil {
		t.Fatalf("compared with %q, want %q", nr.Prev, prev)
	}
	d := nr.Diff
	if !slices.Contains(d.Fixed, report.Key{Kernel: "vanilla", Scenario: "smoke"}) {
		t.Errorf("vanilla smoke not reported fixed: %+v", d)
	}
	if !slices.Contains(d.Removed, report.Key{Kernel: "v9", Scenario: "smoke"}) {
		t.Errorf("kernel v9 not reported removed: %+v", d)
	}
	moved := false
	for _, m := range d.Moved {
		moved = moved || (m.Key == report.Key{Kernel: "v2", Scenario: "unique"} && m.Metric == "pcs")
	}
	if !moved {
		t.Errorf("v2 unique pcs (1 before) not reported moved: %+v", d.Moved)
	}
	checkJUnit(t, filepath.Join(nr.Dir, report.JUnitFile), 2)
	shot := filepath.Join(t.TempDir(), "report.png")
	if err := report.Screenshot(ctx, filepath.Join(nr.Dir, report.HTMLFile), shot, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	colours, bars, err := report.Pixels(shot, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEASURED nightly_dir=%s screenshot=%s colours=%d bar_pixels=%v", nr.Dir, shot, colours, bars)
	for i, n := range bars {
		if n < 200 {
			t.Errorf("kernel %d's bars cover %d pixels in the screenshot: the charts did not render", i, n)
		}
	}
}

func checkJUnit(t *testing.T, path string, suites int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	if len(doc.Suites) != suites {
		t.Fatalf("junit.xml has %d testsuites, want %d", len(doc.Suites), suites)
	}
	for _, s := range doc.Suites {
		if s.Tests != len(s.Cases) || s.Tests == 0 {
			t.Errorf("suite %s: tests=%d with %d testcases", s.Name, s.Tests, len(s.Cases))
		}
	}
}
