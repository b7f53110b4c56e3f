package bench

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// fakeSuite answers runs with stages that depend on the trial mode; the
// second serial run fails, and its time must not count.
func fakeSuite() (func(context.Context, lab.Options) (*results.Result, error), *[]bool) {
	var modes []bool
	serialRuns := 0
	return func(_ context.Context, o lab.Options) (*results.Result, error) {
		modes = append(modes, o.SerialTrials)
		r := &results.Result{Scenarios: []results.Scenario{{Name: "guardrace", Verdict: results.Pass}}}
		boot, trials := 6.0, 1.5
		if o.SerialTrials {
			boot, trials = 2.0, 7.0
			serialRuns++
			if serialRuns == 2 {
				r.Scenarios[0].Verdict = results.Fail
				boot = 100
			}
		}
		r.Stages = []results.Stage{{Name: "boot", Seconds: boot}, {Name: "scenarios", Seconds: 5}, {Name: "trials:guardrace", Seconds: trials}, {Name: "total", Seconds: boot + 5 + trials}}
		return r, nil
	}, &modes
}

func TestSuite(t *testing.T) {
	run, modes := fakeSuite()
	o := SuiteOptions{Options: lab.Options{ModuleDir: t.TempDir(), CacheDir: t.TempDir(), ResultsDir: t.TempDir(), Accel: "tcg"},
		Runs: 3, run: run, load: func() float64 { return 0.5 }}
	rep, err := Suite(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := *modes; len(got) != 6 || got[0] || !got[1] || got[2] || !got[3] {
		t.Errorf("SerialTrials per run %v: want the two modes interleaved, ahead first", got)
	}
	ahead, serial := rep.Modes[0], rep.Modes[1]
	if ahead.Name != TrialsAhead || ahead.Stages[0].Median != 6 || ahead.Stages[2].Median != 1.5 || ahead.Stages[3].Median != 12.5 || ahead.Stages[3].N != 3 {
		t.Errorf("ahead: %+v", ahead.Stages)
	}
	if serial.Stages[3].N != 2 || serial.Stages[3].Max != 14 || len(serial.Failures) != 1 || !strings.Contains(serial.Failures[0], "guardrace fail") {
		t.Errorf("serial: stages %+v failures %q: the failing run must be a failure, not a sample", serial.Stages, serial.Failures)
	}
	if strings.Join(rep.Scenarios, ",") != strings.Join(WholeSuite, ",") {
		t.Errorf("scenarios %v, want the whole suite by default", rep.Scenarios)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	for _, want := range []string{"trials booted ahead", "trials one after another", "12.5", "run 2: did not pass"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if err := rep.WriteJSON(filepath.Join(t.TempDir(), "suite.json")); err != nil {
		t.Fatal(err)
	}
}

func TestSuiteRejectsBadOptions(t *testing.T) {
	run, _ := fakeSuite()
	o := SuiteOptions{Options: lab.Options{ModuleDir: t.TempDir(), CacheDir: t.TempDir(), Accel: "tcg"}, Runs: -1, run: run}
	var usage *lab.UsageError
	if _, err := Suite(context.Background(), o); !errors.As(err, &usage) {
		t.Errorf("--runs -1: %v, want a usage error", err)
	}
	o.Runs, o.run = 1, nil // the real runner: the kernel is not in this empty cache
	o.ModuleDir = ".."
	if _, err := Suite(context.Background(), o); !errors.As(err, &usage) || !strings.Contains(err.Error(), "not built") {
		t.Errorf("uncached kernel: %v, want a usage error saying it is not built", err)
	}
}
