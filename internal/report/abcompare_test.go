package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/internal/testutil"
)

// abRun is one run of kernel with one scenario's verdict and metrics.
func abRun(kernel, id, scenario, verdict string, metrics map[string]float64) *results.Result {
	return &results.Result{Schema: results.SchemaVersion, RunID: id, Kernel: results.Kernel{Name: kernel},
		Scenarios: []results.Scenario{{Name: scenario, Verdict: verdict, Metrics: metrics}}}
}

// abRuns makes one passing smoke run per value of pcs, with fixed extras.
func abRuns(kernel string, pcs []float64, extra map[string]float64) []*results.Result {
	var out []*results.Result
	for i, v := range pcs {
		m := map[string]float64{"pcs": v}
		for k, x := range extra {
			m[k] = x
		}
		out = append(out, abRun(kernel, kernel+"-"+string(rune('a'+i)), "smoke", results.Pass, m))
	}
	return out
}

func TestCompareSamples(t *testing.T) {
	a := abRuns("vanilla", []float64{9, 9, 9, 10, 9}, map[string]float64{"buf": 64, "zero": 0, "only_a": 1})
	b := abRuns("v2", []float64{12, 11, 13, 12, 12}, map[string]float64{"buf": 64, "zero": 3, "only_b": 2})
	// Not data: a run that stopped, a scenario that could not measure, a
	// skipped one, and values that are not numbers.
	stopped := abRun("v2", "v2-stopped", "smoke", results.Pass, map[string]float64{"pcs": 1000})
	stopped.Error = "boot failed"
	b = append(b, stopped,
		abRun("v2", "v2-error", "smoke", results.Error, map[string]float64{"pcs": 2000}),
		abRun("v2", "v2-skip", "smoke", results.Skip, map[string]float64{"pcs": 3000}),
		abRun("v2", "v2-nan", "smoke", results.Fail, map[string]float64{"pcs": math.NaN(), "buf": math.Inf(1), "zero": 3}),
		nil)
	got := CompareSamples(a, b)
	var order []string
	by := map[string]MetricStat{}
	for _, m := range got {
		order = append(order, m.Metric)
		by[m.Metric] = m
	}
	// zero (p 0.0043) and pcs (p 0.0079) are significant.
	if want := []string{"zero", "pcs", "buf", "only_a", "only_b"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("order %v, want %v (significant by p, then by name, one-sided last)", order, want)
	}
	pcs := by["pcs"]
	if pcs.A.N != 5 || pcs.B.N != 5 || pcs.A.Median != 9 || pcs.B.Median != 12 || pcs.B.Min != 11 || pcs.B.Max != 13 {
		t.Errorf("pcs samples: A %+v, B %+v", pcs.A.Summary, pcs.B.Summary)
	}
	if !reflect.DeepEqual(pcs.B.RunIDs, []string{"v2-a", "v2-b", "v2-c", "v2-d", "v2-e"}) {
		t.Errorf("pcs run ids %v", pcs.B.RunIDs)
	}
	if *pcs.Delta != 3 || math.Abs(*pcs.DeltaPct-100.0/3) > 1e-9 || !pcs.Significant || *pcs.P >= 0.05 || !pcs.Exact {
		t.Errorf("pcs: delta %v pct %v p %v significant %v", *pcs.Delta, *pcs.DeltaPct, *pcs.P, pcs.Significant)
	}
	// Equal values on both sides: no difference at all.
	if buf := by["buf"]; buf.A.N != 5 || buf.B.N != 5 || *buf.P != 1 || *buf.Delta != 0 || *buf.DeltaPct != 0 || buf.Significant {
		t.Errorf("buf: %+v", buf)
	}
	// The failed run's zero counts (fail means the numbers were measured);
	// its NaN pcs and Inf buf did not. A change from 0 has no percentage.
	if zero := by["zero"]; zero.B.N != 6 || zero.DeltaPct != nil || *zero.Delta != 3 {
		t.Errorf("zero: n %d, delta %v, pct %v; want 6, 3 and none", zero.B.N, *zero.Delta, zero.DeltaPct)
	}
	for _, m := range got[3:] {
		if m.Both() || m.P != nil || m.Delta != nil || m.Significant {
			t.Errorf("%s is only on one side but has statistics: %+v", m.Metric, m)
		}
	}
	if got[3].A == nil || got[4].B == nil {
		t.Errorf("one-sided metrics lost their side: %+v %+v", got[3], got[4])
	}
	if len(CompareSamples(nil, nil)) != 0 {
		t.Error("no runs gave metrics")
	}
}

func TestRunVerdict(t *testing.T) {
	sc := func(v ...string) *results.Result {
		r := &results.Result{}
		for _, x := range v {
			r.Scenarios = append(r.Scenarios, results.Scenario{Verdict: x})
		}
		return r
	}
	stopped := sc(results.Pass)
	stopped.Error = "boot failed"
	tests := []struct {
		name string
		r    *results.Result
		want string
	}{
		{"nil", nil, Unfinished},
		{"stopped", stopped, Unfinished},
		{"no scenarios", sc(), Unfinished},
		{"pass", sc(results.Pass, results.Skip), results.Pass},
		{"skip only", sc(results.Skip), results.Skip},
		{"fail", sc(results.Pass, results.Fail), results.Fail},
		{"error wins", sc(results.Fail, results.Error, results.Pass), results.Error},
		{"unknown verdict", sc("weird"), results.Error},
	}
	for _, tt := range tests {
		if got := RunVerdict(tt.r); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// abFixture is a comparison of vanilla and v2 over five rounds: v2's fourth
// run did not boot and its second errored; a metric name is hostile.
func abFixture() *ABComparison {
	a := abRuns("vanilla", []float64{9, 9, 9, 10, 9}, map[string]float64{"buf_words": 65536, "only_a": 1})
	b := abRuns("v2", []float64{12, 11, 13}, map[string]float64{"buf_words": 65536, hostile: 2.5})
	c := &ABComparison{
		Schema: ABSchemaVersion, ID: "compare-20261126-020000-dddddd", LabVersion: "test",
		Started: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC), Scenarios: []string{"smoke"}, Runs: 5,
		Order: OrderAB, Alpha: SignificanceLevel, Spread: SpreadMinMax, Test: TestName,
		Command: []string{"kcovlab", "compare", "vanilla", "v2", "--scenario", "smoke", "--runs", "5"},
		A: ABKernel{Name: "vanilla", Accel: []string{"tcg"},
			Kernel: results.Kernel{Name: "vanilla", Key: "4c5fdee7b715c400", SourceID: "tarball:585a4a074597aefa",
				Compiler: "Debian clang version 22.1.8 (1~deb12u1)"}},
		B: ABKernel{Name: "v2", Accel: []string{"tcg"},
			Kernel: results.Kernel{Name: "v2", Series: "v2", Key: "9a8b7c6d5e4f3a21", SourceID: "tarball:585a4a074597aefa+series:1f2e",
				Compiler: "Debian clang version 22.1.8 (1~deb12u1)"}},
	}
	for i := range 5 {
		id := "20261126-0200" + string(rune('0'+2*i)) + "0-aaaaaa"
		c.A.Samples = append(c.A.Samples, ABSample{Seq: 2*i + 1, Round: i + 1, RunID: id, Dir: "../" + id, Verdict: results.Pass, Data: true})
		c.A.Verdicts.Add(results.Pass)
		s := ABSample{Seq: 2*i + 2, Round: i + 1, Verdict: results.Pass, Data: true,
			RunID: "20261126-0200" + string(rune('1'+2*i)) + "0-bbbbbb"}
		switch i {
		case 1:
			s.Verdict, s.Data, s.Error = results.Error, false, "smoke: no JSON outcome"
		case 3:
			s.Verdict, s.Data, s.ErrorKind, s.Error = Unfinished, false, "boot", "boot failed: no SSH answer within 3m0s\n  console tail:"
		}
		s.Dir = "../" + s.RunID
		c.B.Samples = append(c.B.Samples, s)
		c.B.Verdicts.Add(s.Verdict)
	}
	c.Metrics = CompareSamples(a, b)
	return c
}

func TestABTextGolden(t *testing.T) {
	var b bytes.Buffer
	abFixture().WriteText(&b, false)
	checkGolden(t, "compare.txt", b.Bytes())
	if strings.Contains(b.String(), "\x1b") {
		t.Error("plain text holds an escape sequence")
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blank (mail clients mangle them): %q", l)
		}
	}
	b.Reset()
	abFixture().WriteText(&b, true)
	if !strings.Contains(b.String(), "\x1b[1mpcs") {
		t.Errorf("with color the significant row is not bold:\n%s", b.String())
	}
}

func TestABTextFewRuns(t *testing.T) {
	c := abFixture()
	c.Metrics = CompareSamples(abRuns("vanilla", []float64{1, 2, 3}, nil), abRuns("v2", []float64{7, 8, 9}, nil))
	c.A.Verdicts, c.B.Verdicts = Verdicts{Pass: 3}, Verdicts{Pass: 3}
	var b bytes.Buffer
	c.WriteText(&b, false)
	if !strings.Contains(b.String(), "note: with 3 and 3 runs no p can fall below 0.05 (the smallest is 0.1)") {
		t.Errorf("no note on the sample size:\n%s", b.String())
	}
	c.Metrics = nil
	b.Reset()
	c.WriteText(&b, false)
	if !strings.Contains(b.String(), "no metrics") {
		t.Errorf("no word on the missing metrics:\n%s", b.String())
	}
}

func TestABHTMLGolden(t *testing.T) {
	got := render(t, func(b *bytes.Buffer) error { return ABHTML(b, abFixture()) })
	checkGolden(t, "compare.html", got)
	html := string(got)
	if m := remote.FindString(html); m != "" {
		t.Errorf("the page fetches something: %q", m)
	}
	for _, bad := range []string{"<script", "<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	// Every data run is a dot; pcs and buf_words are charted, the one-sided
	// metrics are not.
	if n := strings.Count(html, "<circle"); n != 2*(5+3) {
		t.Errorf("%d dots, want 16", n)
	}
	if !strings.Contains(html, `href="../20261126-020000-aaaaaa/report.html"`) {
		t.Error("a run is not linked to its report")
	}
}

func TestStripAxis(t *testing.T) {
	tests := []struct {
		lo, hi         float64
		wantLo, wantHi float64
		ticks          int
	}{
		{9, 13, 9, 13, 5},
		{1000, 1010, 1000, 1010, 3},
		{5, 5, 4, 6, 5},
		{0, 0, -1, 1, 5},
		{-3, 0.5, -3, 1, 5},
	}
	for _, tt := range tests {
		lo, hi, ticks := stripAxis(tt.lo, tt.hi)
		if lo != tt.wantLo || hi != tt.wantHi || len(ticks) != tt.ticks || ticks[0] != lo {
			t.Errorf("stripAxis(%v, %v) = %v, %v, %v; want %v, %v and %d ticks", tt.lo, tt.hi, lo, hi, ticks, tt.wantLo, tt.wantHi, tt.ticks)
		}
	}
}

func TestWriteABDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "compare-x")
	if err := WriteABDir(dir, abFixture()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ABJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back ABComparison
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, abFixture()) {
		t.Errorf("compare.json does not round-trip:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(dir, ABHTMLFile)); err != nil {
		t.Error(err)
	}
}

// TestABSchemaDocumented keeps docs/compare-json.md and the Go types in step.
func TestABSchemaDocumented(t *testing.T) {
	testutil.CheckSchemaDoc(t, "../../docs/compare-json.md", ABSchemaVersion, ABComparison{}, stats.Summary{})
}
