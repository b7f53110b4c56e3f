package lab

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
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// fakeResult is a finished run of kernel with one smoke outcome.
func fakeResult(kernel, id, verdict string, metrics map[string]float64) *results.Result {
	return &results.Result{Schema: results.SchemaVersion, RunID: id, Accel: "tcg",
		Kernel:    results.Kernel{Name: kernel, Key: "key-" + kernel, Series: strings.TrimPrefix(kernel, "vanilla"), Compiler: "clang 22"},
		Scenarios: []results.Scenario{{Name: "smoke", Verdict: verdict, Metrics: metrics}}}
}

// fakeRunner answers each run from a script indexed by kernel and the
// kernel's run number (0, 1, ...), and records every call.
type fakeRunner struct {
	calls  []Options
	script func(kernel string, n int) (*results.Result, error)
}

func (f *fakeRunner) run(ctx context.Context, o Options) (*results.Result, error) {
	n := 0
	for _, c := range f.calls {
		if c.Kernel == o.Kernel {
			n++
		}
	}
	f.calls = append(f.calls, o)
	return f.script(o.Kernel, n)
}

func (f *fakeRunner) kernels() []string {
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Kernel)
	}
	return out
}

func compareOptions(t *testing.T, f *fakeRunner, runs int) CompareOptions {
	t.Helper()
	return CompareOptions{
		Options: Options{ModuleDir: t.TempDir(), ResultsDir: t.TempDir(), Scenarios: []string{"smoke"}, Out: io.Discard},
		KernelA: "vanilla", KernelB: "v2", Runs: runs, run: f.run,
	}
}

func TestCompareWithFakeRunner(t *testing.T) {
	pcsA := []float64{9, 9, 10, 9, 9}
	pcsB := []float64{12, 500, 13, 11, 12}
	f := &fakeRunner{script: func(kernel string, n int) (*results.Result, error) {
		id := "20261126-0000" + string(rune('0'+n)) + "0-" + kernel
		if kernel == "vanilla" {
			verdict := results.Pass
			var err error
			if n == 2 { // the invariant broke, the numbers were measured
				verdict, err = results.Fail, ErrScenarioFailed
			}
			return fakeResult(kernel, id, verdict, map[string]float64{"pcs": pcsA[n], "buf": 64}), err
		}
		r := fakeResult(kernel, id, results.Pass, map[string]float64{"pcs": pcsB[n], "buf": 64, "dups": 0})
		if n == 1 { // the lab broke after the scenario: its 500 must not count
			return r, &InfraError{Stage: "report", Err: errors.New("disk full")}
		}
		return r, nil
	}}
	var out bytes.Buffer
	co := compareOptions(t, f, 5)
	co.Out = &out
	cr, err := Compare(context.Background(), co)
	var ie *InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "1 of 10 runs did not finish") {
		t.Fatalf("err %v, want an InfraError for the unfinished run", err)
	}
	wantOrder := []string{"vanilla", "v2", "vanilla", "v2", "vanilla", "v2", "vanilla", "v2", "vanilla", "v2"}
	if got := f.kernels(); !reflect.DeepEqual(got, wantOrder) {
		t.Fatalf("runs in order %v, want %v", got, wantOrder)
	}
	for _, c := range f.calls {
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
	checkCompareMetrics(t, c.Metrics)
	checkCompareFiles(t, cr, &out)
}

// checkCompareMetrics checks the statistics of TestCompareWithFakeRunner:
// pcs differs (5 against 4 values that do not overlap: exact p = 2/126),
// buf does not, dups is B's only.
func checkCompareMetrics(t *testing.T, ms []MetricStat) {
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
func checkCompareFiles(t *testing.T, cr *CompareResult, out *bytes.Buffer) {
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
		"run #4 (round 2) infra: lab report: disk full", "run #5 (round 3) fail: smoke: invariant broken", "rerun: kcovlab compare vanilla v2 --scenario smoke --runs 5\n",
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
		{name: "a scenario failed", fail: true, want: ErrScenarioFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunner{script: func(kernel string, n int) (*results.Result, error) {
				if tt.fail && kernel == "v2" && n == 0 {
					return fakeResult(kernel, "r", results.Error, nil), ErrScenarioFailed
				}
				return fakeResult(kernel, "r", results.Pass, map[string]float64{"pcs": 1}), nil
			}}
			_, err := Compare(context.Background(), compareOptions(t, f, 2))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if len(f.calls) != 4 {
				t.Errorf("%d runs, want 4", len(f.calls))
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
		{"a boot failure is retried", &BootError{Reason: "no SSH answer"}, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fakeRunner{script: func(kernel string, n int) (*results.Result, error) {
				if kernel == "v2" {
					if tt.err == context.Canceled {
						cancel()
					}
					return &results.Result{RunID: "b", Error: tt.err.Error()}, tt.err
				}
				return fakeResult(kernel, "a", results.Pass, nil), nil
			}}
			cr, err := Compare(ctx, compareOptions(t, f, 3))
			var ie *InfraError
			if tt.infra != (errors.As(err, &ie) && ie.Stage == "compare") || !tt.infra && !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v (infra %v)", err, tt.err, tt.infra)
			}
			if len(f.calls) != tt.calls {
				t.Errorf("%d runs, want %d", len(f.calls), tt.calls)
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
		mod    func(*CompareOptions)
		target any
	}{
		{"unknown kernel", func(co *CompareOptions) { co.KernelB = "v9" }, new(*UnknownKernelError)},
		{"missing kernel", func(co *CompareOptions) { co.KernelA = "" }, new(*UsageError)},
		{"unknown scenario", func(co *CompareOptions) { co.Scenarios = []string{"nope"} }, new(*scenarios.UnknownError)},
		{"negative runs", func(co *CompareOptions) { co.Runs = -1 }, new(*UsageError)},
		{"bad accel", func(co *CompareOptions) { co.Accel = "hvf" }, new(*UsageError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunner{script: func(string, int) (*results.Result, error) { return nil, nil }}
			co := compareOptions(t, f, 3)
			tt.mod(&co)
			_, err := Compare(context.Background(), co)
			if !errors.As(err, tt.target) {
				t.Fatalf("err %v (%T), want %T", err, err, tt.target)
			}
			if len(f.calls) != 0 {
				t.Errorf("%d runs started before the options were checked", len(f.calls))
			}
		})
	}
}

func TestSideOptions(t *testing.T) {
	mbox := filepath.Join(t.TempDir(), "fix.mbox")
	os.WriteFile(mbox, nil, 0o644)
	tests := []struct {
		kernel, wantKernel, wantSeries string
		ok                             bool
	}{
		{"v2-no01", "v2-no01", "", true},
		{mbox, "", mbox, true},
		{"/src/linux:v6.12..fix", "", "/src/linux:v6.12..fix", true},
		{"v9", "", "", false},
	}
	base := Options{Kernel: "v4", Series: "x", Exclude: []int{1}, Out: os.Stdout}
	for _, tt := range tests {
		o, err := sideOptions(base, tt.kernel)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.kernel, err)
			continue
		}
		if tt.ok && (o.Kernel != tt.wantKernel || o.Series != tt.wantSeries || o.Exclude != nil || o.Out != io.Discard) {
			t.Errorf("%s: kernel %q series %q exclude %v", tt.kernel, o.Kernel, o.Series, o.Exclude)
		}
	}
}

func TestStopsCompare(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrScenarioFailed, false},
		{&BootError{Reason: "timeout"}, false},
		{&InfraError{Stage: "vm", Err: errors.New("qemu exited")}, false},
		{&InfraError{Stage: "image", Err: errors.New("mkuimage")}, true},
		{&InfraError{Stage: "toolchain", Err: errors.New("no clang")}, true},
		{&kbuild.BuildError{Stage: "make", Err: errors.New("exit 2")}, true},
		{&UsageError{"bad"}, true},
		{context.Canceled, true},
	}
	for _, tt := range tests {
		if got := stopsCompare(tt.err); got != tt.want {
			t.Errorf("stopsCompare(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestCompareArgv(t *testing.T) {
	base := CompareOptions{KernelA: "vanilla", KernelB: "v4", Runs: 5,
		Options: Options{Scenarios: []string{"smoke", "irqnoise"}, Accel: "auto", CPUs: 2, MemoryMB: 1024,
			Tarball: kbuild.DefaultTarball, QEMU: "qemu-system-x86_64", ScenarioTimeout: 5 * time.Minute}}
	tests := []struct {
		name string
		mod  func(*CompareOptions)
		want string
	}{
		{"defaults", func(*CompareOptions) {}, "kcovlab compare vanilla v4 --scenario smoke,irqnoise --runs 5"},
		{"measurement flags", func(co *CompareOptions) {
			co.Accel, co.CPUs, co.MemoryMB, co.BootTimeout = "tcg", 1, 2048, 90*time.Second
		}, "kcovlab compare vanilla v4 --scenario smoke,irqnoise --runs 5 --accel tcg --cpus 1 --memory 2048 --boot-timeout 1m30s"},
		{"local tree", func(co *CompareOptions) { co.KernelSrc, co.Runs = "/src/linux", 10 },
			"kcovlab compare vanilla v4 --scenario smoke,irqnoise --runs 10 --kernel-src /src/linux"},
		{"other tarball", func(co *CompareOptions) { co.Tarball = "/tmp/l.tar.xz" },
			"kcovlab compare vanilla v4 --scenario smoke,irqnoise --runs 5 --tarball /tmp/l.tar.xz"},
	}
	for _, tt := range tests {
		co := base
		tt.mod(&co)
		if got := strings.Join(compareArgv(co), " "); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCompareMetricsOverExistingRuns(t *testing.T) {
	a := []*results.Result{fakeResult("v2", "1", results.Pass, map[string]float64{"pcs": 3}),
		fakeResult("v2", "2", results.Pass, map[string]float64{"pcs": 5})}
	b := []*results.Result{fakeResult("v4", "3", results.Pass, map[string]float64{"pcs": 8})}
	ms := CompareMetrics(a, b)
	// p: U = 0 has probability 1/3 among the three orders of 3, 5 and 8.
	if len(ms) != 1 || ms[0].A.Median != 4 || *ms[0].Delta != 4 || *ms[0].DeltaPct != 100 || math.Abs(*ms[0].P-2.0/3) > 1e-12 {
		t.Fatalf("got %+v", ms)
	}
}
