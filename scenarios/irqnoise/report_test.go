//go:build linux

package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
	"github.com/kcovlab/kcovlab/scenarios/internal/noise"
)

const (
	pcA   = 0xffffffff81000010
	pcB   = 0xffffffff81000020
	pcTSC = 0xffffffff81050000
	pcIRQ = 0xffffffff81060000
)

// runs returns n quiet runs with the given noisy runs at the end.
func runs(n int, noisy ...noise.Run) []noise.Run {
	var out []noise.Run
	for range n - len(noisy) {
		out = append(out, noise.Run{pcA, pcB})
	}
	return append(out, noisy...)
}

func TestReport(t *testing.T) {
	tests := []struct {
		name     string
		res      result
		pass     bool
		evidence []string
		metrics  map[string]float64
	}{
		{
			name: "loaded noise only",
			res: result{
				idle:     phaseResult{runs: runs(200), maxCount: 2},
				loaded:   phaseResult{runs: runs(200, noise.Run{pcA, pcIRQ, pcTSC, pcB}, noise.Run{pcA, pcTSC, pcB}), maxCount: 4, preempted: 7},
				capacity: 100, load: loadStats{wakeups: 42},
			},
			pass: true,
			evidence: []string{
				"quiet set: 2 PCs, held by 398 of 400 runs: 0xffffffff81000010 0xffffffff81000020",
				"noisy runs: idle 0/200 (0.00 %), loaded 2/200 (1.00 %)",
				"idle: at most 1 % of runs noisy: 0 of 200 (0.00 %) ok",
				"0xffffffff81050000 in 2 runs (idle 0, loaded 2)",
				"0xffffffff81060000 in 1 runs (idle 0, loaded 1)",
				"example noisy run (loaded #198, 4 records), PCs outside the quiet set in trace order: 0xffffffff81060000 0xffffffff81050000",
				"interrupt-time coverage leaked from arch/x86/kernel/tsc.c",
			},
			metrics: map[string]float64{"runs": 200, "noise_runs": 2, "noise_runs_idle": 0, "noise_runs_loaded": 2,
				"distinct_extra_pcs": 2, "quiet_set_size": 2, "saturated_runs": 0, "preemptions_loaded": 7, "timer_wakeups": 42},
		},
		{
			name: "idle noise above 1 %",
			res: result{
				idle:     phaseResult{runs: runs(100, noise.Run{pcA, pcTSC, pcB}, noise.Run{pcA, pcTSC, pcB})},
				loaded:   phaseResult{runs: runs(100)},
				capacity: 100,
			},
			evidence: []string{"idle: at most 1 % of runs noisy: 2 of 100 (2.00 %) FAIL"},
			metrics:  map[string]float64{"noise_runs_idle": 2, "noise_runs": 2, "checks_failed": 1},
		},
		{
			name: "saturation fails",
			res: result{
				idle:     phaseResult{runs: runs(100), saturated: 1, maxCount: 100},
				loaded:   phaseResult{runs: runs(100)},
				capacity: 100,
			},
			evidence: []string{"no run saturated the buffer: 1 saturated runs; largest trace[0] 100 of 100 slots FAIL"},
			metrics:  map[string]float64{"saturated_runs": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := scenarios.Outcome{Metrics: map[string]float64{}}
			report(&o, tt.res, "read(-1, NULL, 0)", check.Unpatched)
			if o.Pass != tt.pass {
				t.Errorf("pass = %v, want %v; evidence:\n%s", o.Pass, tt.pass, strings.Join(o.Evidence, "\n"))
			}
			all := strings.Join(o.Evidence, "\n")
			for _, want := range tt.evidence {
				if !strings.Contains(all, want) {
					t.Errorf("evidence lacks %q:\n%s", want, all)
				}
			}
			for k, v := range tt.metrics {
				if got, ok := o.Metrics[k]; !ok || got != v {
					t.Errorf("metric %s = %v (present %v), want %v", k, got, ok, v)
				}
			}
		})
	}
}

func TestClassNote(t *testing.T) {
	if classNote("") != "" {
		t.Error("no class, no note")
	}
	for _, c := range []check.Class{check.Unique, check.NoUnique, check.Unpatched} {
		if !strings.Contains(classNote(c), "patch 01 stops instrumenting") {
			t.Errorf("%s: %q", c, classNote(c))
		}
	}
}

// TestLoad starts and stops the load threads and runs the measuring
// thread's helpers on a thread of its own. It needs CPU 0 in the test's
// affinity mask and skips otherwise.
func TestLoad(t *testing.T) {
	l, err := startLoad(100)
	if err != nil {
		t.Skipf("cannot load CPU %d here: %v", measureOn, err)
	}
	for l.wakeups.Load() == 0 {
		runtime.Gosched()
	}
	if got := l.stop(); got.wakeups == 0 {
		t.Errorf("timer thread never woke: %+v", got)
	}
	kcov.OnNewThread(func() {
		if err := pin(measureOn); err != nil {
			t.Error(err)
		}
		if err := kcov.BlockPreemptSignal(); err != nil {
			t.Error(err)
		}
		if _, err := involuntarySwitches(); err != nil {
			t.Error(err)
		}
	})
}
