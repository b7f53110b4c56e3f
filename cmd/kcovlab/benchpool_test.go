package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
)

func TestVerdictsDiffer(t *testing.T) {
	tests := []struct {
		a, b map[string]string
		want []string
	}{
		{map[string]string{"v2 smoke": "pass"}, map[string]string{"v2 smoke": "pass"}, []string{}},
		{map[string]string{"v2 smoke": "pass", "v2 irqnoise": "pass"}, map[string]string{"v2 smoke": "pass", "v2 irqnoise": "fail"},
			[]string{"v2 irqnoise: pass -> fail"}},
		{map[string]string{"v2 smoke": "pass"}, map[string]string{"vanilla smoke": "pass"},
			[]string{"v2 smoke: pass -> none", "vanilla smoke: none -> pass"}},
	}
	for _, tt := range tests {
		if got := verdictsDiffer(tt.a, tt.b); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("verdictsDiffer(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// The benchmark runs the same nightly once per --jobs value, each into its
// own root, and reports the ratio of the wall times and the verdicts that
// moved; a failed scenario does not stop it.
func TestBenchPoolRun(t *testing.T) {
	var got []int
	night := func(_ context.Context, no nightly.Options) (*nightly.Result, error) {
		got = append(got, no.Parallel)
		verdict := results.Pass
		if no.Parallel > 1 {
			verdict = results.Fail // contention broke a timing check
		} else {
			time.Sleep(40 * time.Millisecond)
		}
		r := &results.Result{Kernel: results.Kernel{Name: "v2"}, Scenarios: []results.Scenario{{Name: "irqnoise", Verdict: verdict}}}
		return &nightly.Result{Dir: no.ResultsDir + "/nightly-x", Runs: []*results.Result{r}}, nil
	}
	b := &poolBench{Kernels: []string{"v2"}, Scenarios: []string{"irqnoise"}, Dir: t.TempDir(), Host: benchHost{Accel: "tcg", Cores: 2}}
	o := lab.Options{Log: slog.New(slog.DiscardHandler)}
	if err := b.run(context.Background(), night, o, []int{1, 3}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []int{1, 3}) {
		t.Fatalf("nightlies with --jobs %v, want 1 then 3", got)
	}
	if b.Sides[0].Dir == b.Sides[1].Dir {
		t.Errorf("both nightlies wrote to %s", b.Sides[0].Dir)
	}
	if b.Ratio <= 1 {
		t.Errorf("ratio %.2f: the --jobs 1 side took longer", b.Ratio)
	}
	if !reflect.DeepEqual(b.Differ, []string{"v2 irqnoise: pass -> fail"}) {
		t.Errorf("differ %v", b.Differ)
	}
	if b.Sides[1].Error != "" {
		t.Errorf("a failed scenario is recorded as the side's error: %s", b.Sides[1].Error)
	}
	var out bytes.Buffer
	b.text(&out)
	for _, want := range []string{"--jobs 1 ", "--jobs 3 ", "ratio ", "verdicts differ: v2 irqnoise: pass -> fail"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}

// A nightly that did not finish a kernel makes the times incomparable:
// both sides still run, and the benchmark's error says so.
func TestBenchPoolUnfinished(t *testing.T) {
	night := func(_ context.Context, no nightly.Options) (*nightly.Result, error) {
		if no.Parallel > 1 {
			return &nightly.Result{}, &lab.InfraError{Stage: "nightly", Err: errors.New("kernels that did not finish: vanilla")}
		}
		return &nightly.Result{}, lab.ErrScenarioFailed
	}
	b := &poolBench{Kernels: []string{"vanilla"}, Dir: t.TempDir()}
	err := b.run(context.Background(), night, lab.Options{Log: slog.New(slog.DiscardHandler)}, []int{1, 2})
	var ie *lab.InfraError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "--jobs 2: ") || len(b.Sides) != 2 {
		t.Fatalf("err %v after %d sides, want an InfraError naming --jobs 2 after both", err, len(b.Sides))
	}
}
