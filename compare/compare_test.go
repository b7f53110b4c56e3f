package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs/runstest"
	"github.com/kcovlab/kcovlab/scenarios"
)

// fakeResult is a finished run of kernel with one smoke outcome.
func fakeResult(kernel, id, verdict string, metrics map[string]float64) *results.Result {
	return &results.Result{Schema: results.SchemaVersion, RunID: id, Accel: "tcg",
		Kernel:    results.Kernel{Name: kernel, Key: "key-" + kernel, Series: strings.TrimPrefix(kernel, "vanilla"), Compiler: "clang 22"},
		Scenarios: []results.Scenario{{Name: "smoke", Verdict: verdict, Metrics: metrics}}}
}

func compareOptions(t *testing.T, f *runstest.Fake, runs int) Options {
	t.Helper()
	return Options{
		Options: lab.Options{ModuleDir: t.TempDir(), ResultsDir: t.TempDir(), Scenarios: []string{"smoke"}, Out: io.Discard},
		KernelA: "vanilla", KernelB: "v2", Runs: runs, run: f.Run,
	}
}

func TestCompareWithFakeRunner(t *testing.T) {
	pcsA := []float64{9, 9, 10, 9, 9}
	pcsB := []float64{12, 500, 13, 11, 12}
	f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
		id := "20261126-0000" + string(rune('0'+n)) + "0-" + kernel
		if kernel == "vanilla" {
			verdict := results.Pass
			var err error
			if n == 2 { // the invariant broke, the numbers were measured
				verdict, err = results.Fail, lab.ErrScenarioFailed
			}
			return fakeResult(kernel, id, verdict, map[string]float64{"pcs": pcsA[n], "buf": 64}), err
		}
		r := fakeResult(kernel, id, results.Pass, map[string]float64{"pcs": pcsB[n], "buf": 64, "dups": 0})
		if n == 1 { // the lab broke after the scenario: its 500 must not count
			return r, &lab.InfraError{Stage: "report", Err: errors.New("disk full")}
		}
		return r, nil
	}}
	var out bytes.Buffer
	co := compareOptions(t, f, 5)
	co.Out = &out
	cr, err := Compare(context.Background(), co)
	var ie *lab.InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "1 of 10 runs did not finish") {
		t.Fatalf("err %v, want an InfraError for the unfinished run", err)
	}
	wantOrder := []string{"vanilla", "v2", "vanilla", "v2", "vanilla", "v2", "vanilla", "v2", "vanilla", "v2"}
	if got := f.Kernels(); !reflect.DeepEqual(got, wantOrder) {
		t.Fatalf("runs in order %v, want %v", got, wantOrder)
	}
	for _, c := range f.Calls {
		if c.Series != "" || !reflect.DeepEqual(c.Scenarios, []string{"smoke"}) || c.ResultsDir != co.ResultsDir || c.Out != io.Discard {
			t.Errorf("a run got options %+v", c)
		}
	}
	c := cr.Comparison
	if want := (report.Verdicts{Pass: 4, Fail: 1}); c.A.Verdicts != want {
		t.Errorf("A verdicts %+v, want %+v", c.A.Verdicts, want)
	}
	if want := (report.Verdicts{Pass: 4, Unfinished: 1}); c.B.Verdicts != want {
		t.Errorf("B verdicts %+v, want %+v", c.B.Verdicts, want)
	}
	bad := c.B.Samples[1]
	if bad.Data || bad.Seq != 4 || bad.Round != 2 || bad.ErrorKind != "infra" || !strings.Contains(bad.Error, "disk full") {
		t.Errorf("the unfinished sample is %+v", bad)
	}
	if c.A.Samples[2].Verdict != results.Fail || !c.A.Samples[2].Data {
		t.Errorf("the failed run is %+v, want a counted fail", c.A.Samples[2])
	}
	if len(cr.A) != 5 || len(cr.B) != 4 {
		t.Errorf("%d and %d runs counted, want 5 and 4", len(cr.A), len(cr.B))
	}
	if c.A.Kernel.Key != "key-vanilla" || c.B.Kernel.Series != "v2" || !reflect.DeepEqual(c.B.Accel, []string{"tcg"}) {
		t.Errorf("identities %+v / %+v", c.A, c.B)
	}
	checkMetrics(t, c.Metrics)
	checkCompareFiles(t, cr, &out)
}

// checkCompareMetrics checks the statistics of TestCompareWithFakeRunner:
// pcs differs (5 against 4 values that do not overlap: exact p = 2/126),
// buf does not, dups is B's only.
func checkMetrics(t *testing.T, ms []MetricStat) {
	t.Helper()
	var names []string
	for _, m := range ms {
		names = append(names, m.Metric)
	}
	if !reflect.DeepEqual(names, []string{"pcs", "buf", "dups"}) {
		t.Fatalf("metrics %v, want pcs (significant), buf, dups (B only)", names)
	}
	pcs, buf, dups := ms[0], ms[1], ms[2]
	if pcs.A.N != 5 || pcs.B.N != 4 || pcs.A.Median != 9 || pcs.B.Median != 12 || pcs.B.Max != 13 {
		t.Errorf("pcs: A %+v, B %+v", pcs.A.Summary, pcs.B.Summary)
	}
	if *pcs.Delta != 3 || math.Abs(*pcs.DeltaPct-100.0/3) > 1e-9 || math.Abs(*pcs.P-2.0/126) > 1e-12 || !pcs.Significant {
		t.Errorf("pcs: delta %v (%v%%), p %v, significant %v", *pcs.Delta, *pcs.DeltaPct, *pcs.P, pcs.Significant)
	}
	if *buf.P != 1 || buf.Significant || *buf.Delta != 0 {
		t.Errorf("buf: p %v, delta %v", *buf.P, *buf.Delta)
	}
	if dups.A != nil || dups.B == nil || dups.P != nil {
		t.Errorf("dups: %+v", dups)
	}
}

// checkCompareFiles checks compare.json, compare.html and the text.
func checkCompareFiles(t *testing.T, cr *Result, out *bytes.Buffer) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cr.Dir, report.ABJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back report.ABComparison
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.B.Samples[0].Dir; got != "../20261126-000000-v2" {
		t.Errorf("sample dir %q, want ../20261126-000000-v2", got)
	}
	if len(back.A.Samples)+len(back.B.Samples) != 10 || back.Runs != 5 {
		t.Errorf("compare.json holds %d+%d samples of %d runs", len(back.A.Samples), len(back.B.Samples), back.Runs)
	}
	if _, err := os.Stat(filepath.Join(cr.Dir, report.ABHTMLFile)); err != nil {
		t.Error(err)
	}
	for _, want := range []string{"A  vanilla  key key-vanilla", "runs: 4 pass, 0 fail, 0 error, 0 skip, 1 unfinished",
		"run #4 (round 2) infra: lab report: disk full", "run #5 (round 3) fail: smoke: invariant broken", "rerun: kcovlab compare --kernel vanilla,v2 --scenario smoke --runs 5\n",
		"results: " + cr.Dir} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCompareVerdict(t *testing.T) {
	tests := []struct {
		name string
		fail bool
		want error
	}{
		{name: "all pass"},
		{name: "a scenario failed", fail: true, want: lab.ErrScenarioFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
				if tt.fail && kernel == "v2" && n == 0 {
					return fakeResult(kernel, "r", results.Error, nil), lab.ErrScenarioFailed
				}
				return fakeResult(kernel, "r", results.Pass, map[string]float64{"pcs": 1}), nil
			}}
			_, err := Compare(context.Background(), compareOptions(t, f, 2))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if len(f.Calls) != 4 {
				t.Errorf("%d runs, want 4", len(f.Calls))
			}
		})
	}
}

func TestCompareStops(t *testing.T) {
	buildErr := &kbuild.BuildError{Stage: "make", Err: errors.New("exit 2")}
	tests := []struct {
		name  string
		err   error
		calls int
		// infra: the comparison finished, with unfinished runs left out.
		infra bool
	}{
		{"kernel B does not build", buildErr, 2, false},
		{"cancelled", context.Canceled, 2, false},
		{"a boot failure is retried", &lab.BootError{Reason: "no SSH answer"}, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &runstest.Fake{Script: func(kernel string, n int) (*results.Result, error) {
				if kernel == "v2" {
					if tt.err == context.Canceled {
						cancel()
					}
					return &results.Result{RunID: "b", Error: tt.err.Error()}, tt.err
				}
				return fakeResult(kernel, "a", results.Pass, nil), nil
			}}
			cr, err := Compare(ctx, compareOptions(t, f, 3))
			var ie *lab.InfraError
			if tt.infra != (errors.As(err, &ie) && ie.Stage == "compare") || !tt.infra && !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v (infra %v)", err, tt.err, tt.infra)
			}
			if len(f.Calls) != tt.calls {
				t.Errorf("%d runs, want %d", len(f.Calls), tt.calls)
			}
			if _, err := os.Stat(filepath.Join(cr.Dir, report.ABJSONFile)); err != nil {
				t.Errorf("compare.json not written after a stop: %v", err)
			}
		})
	}
}

func TestCompareRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Options)
		target any
	}{
		{"unknown kernel", func(co *Options) { co.KernelB = "v9" }, new(*lab.UnknownKernelError)},
		{"missing kernel", func(co *Options) { co.KernelA = "" }, new(*lab.UsageError)},
		{"unknown scenario", func(co *Options) { co.Scenarios = []string{"nope"} }, new(*scenarios.UnknownError)},
		{"negative runs", func(co *Options) { co.Runs = -1 }, new(*lab.UsageError)},
		{"bad accel", func(co *Options) { co.Accel = "hvf" }, new(*lab.UsageError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &runstest.Fake{Script: func(string, int) (*results.Result, error) { return nil, nil }}
			co := compareOptions(t, f, 3)
			tt.mod(&co)
			_, err := Compare(context.Background(), co)
			if !errors.As(err, tt.target) {
				t.Fatalf("err %v (%T), want %T", err, err, tt.target)
			}
			if len(f.Calls) != 0 {
				t.Errorf("%d runs started before the options were checked", len(f.Calls))
			}
		})
	}
}

func TestCompareMetricsOverExistingRuns(t *testing.T) {
	a := []*results.Result{fakeResult("v2", "1", results.Pass, map[string]float64{"pcs": 3}),
		fakeResult("v2", "2", results.Pass, map[string]float64{"pcs": 5})}
	b := []*results.Result{fakeResult("v4", "3", results.Pass, map[string]float64{"pcs": 8})}
	ms := Metrics(a, b)
	// p: U = 0 has probability 1/3 among the three orders of 3, 5 and 8.
	if len(ms) != 1 || ms[0].A.Median != 4 || *ms[0].Delta != 4 || *ms[0].DeltaPct != 100 || math.Abs(*ms[0].P-2.0/3) > 1e-12 {
		t.Fatalf("got %+v", ms)
	}
}
