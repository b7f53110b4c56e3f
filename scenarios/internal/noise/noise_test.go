package noise

import (
	"slices"
	"testing"

	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
)

// The syscall's own PCs are 1, 2, 3; 0x90.. stand for interrupt noise.
func TestAnalyze(t *testing.T) {
	idle := Phase{Name: "idle", Runs: []Run{
		{1, 2, 3},
		{1, 2, 2, 3}, // a repeat does not change the set
		{3, 2, 1},    // nor does the order
		{1, 0x90, 2, 3},
	}}
	loaded := Phase{Name: "loaded", Runs: []Run{
		{1, 2, 3},
		{1, 0x91, 0x90, 0x91, 2, 3},
		{1, 0x90, 2, 3},
		{1, 2}, // 3 missing
	}}
	r := Analyze([]Phase{idle, loaded})
	if !slices.Equal(r.Quiet, pcset.Set{1, 2, 3}) || r.QuietRuns != 4 {
		t.Fatalf("quiet %v in %d runs", r.Quiet, r.QuietRuns)
	}
	if !slices.Equal(r.QuietTrace, Run{1, 2, 3}) {
		t.Errorf("quiet trace %v", r.QuietTrace)
	}
	if !slices.Equal(r.Noisy, []int{1, 3}) || r.TotalNoisy() != 4 {
		t.Errorf("noisy %v", r.Noisy)
	}
	wantExtra := []PCRuns{{0x90, []int{1, 2}}, {0x91, []int{0, 1}}}
	if len(r.Extra) != 2 || r.Extra[0].PC != 0x90 || !slices.Equal(r.Extra[0].Runs, wantExtra[0].Runs) ||
		r.Extra[1].PC != 0x91 || !slices.Equal(r.Extra[1].Runs, wantExtra[1].Runs) {
		t.Errorf("extra %v, want %v", r.Extra, wantExtra)
	}
	if len(r.Missing) != 1 || r.Missing[0].PC != 3 || r.Missing[0].Total() != 1 {
		t.Errorf("missing %v", r.Missing)
	}
	if r.DistinctExtra(-1) != 2 || r.DistinctExtra(0) != 1 || r.DistinctExtra(1) != 2 {
		t.Errorf("distinct extra %d %d %d", r.DistinctExtra(-1), r.DistinctExtra(0), r.DistinctExtra(1))
	}
	ex := r.Example
	if ex == nil || ex.Phase != "idle" || ex.Index != 3 || ex.Len != 4 || !slices.Equal(ex.Extra, []uint64{0x90}) {
		t.Errorf("example %+v", ex)
	}
	if got := r.PCLine(r.Extra[0]); got != "0x0000000000000090 in 3 runs (idle 1, loaded 2)" {
		t.Errorf("PCLine = %q", got)
	}
	if got := r.NoisyLine(); got != "noisy runs: idle 1/4 (25.00 %), loaded 3/4 (75.00 %)" {
		t.Errorf("NoisyLine = %q", got)
	}
}

func TestExampleKeepsTraceOrder(t *testing.T) {
	r := Analyze([]Phase{{Name: "loaded", Runs: []Run{
		{1, 2}, {1, 2}, {0x95, 1, 0x94, 0x95, 2},
	}}})
	if r.Example == nil || !slices.Equal(r.Example.Extra, []uint64{0x95, 0x94}) {
		t.Errorf("example %+v", r.Example)
	}
}

func TestQuietTieBreak(t *testing.T) {
	// Two sets twice each: the smaller wins, whatever the order.
	a := Phase{Name: "a", Runs: []Run{{1, 2, 9}, {1, 2}, {1, 2, 9}, {1, 2}}}
	b := Phase{Name: "a", Runs: []Run{{1, 2}, {1, 2, 9}, {1, 2}, {1, 2, 9}}}
	for _, ph := range []Phase{a, b} {
		if r := Analyze([]Phase{ph}); !slices.Equal(r.Quiet, pcset.Set{1, 2}) || r.Noisy[0] != 2 {
			t.Errorf("quiet %v noisy %v", r.Quiet, r.Noisy)
		}
	}
	// Same size: the lower PCs win.
	c := Phase{Name: "c", Runs: []Run{{5}, {4}}}
	if r := Analyze([]Phase{c}); !slices.Equal(r.Quiet, pcset.Set{4}) {
		t.Errorf("quiet %v", r.Quiet)
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	r := Analyze([]Phase{{Name: "idle"}})
	if r.QuietRuns != 0 || r.Noisy[0] != 0 || r.Example != nil || len(r.Extra) != 0 {
		t.Errorf("empty analysis %+v", r)
	}
	// Runs that recorded nothing share the empty set.
	r = Analyze([]Phase{{Name: "idle", Runs: []Run{{}, nil, {7}}}})
	if len(r.Quiet) != 0 || r.QuietRuns != 2 || r.Noisy[0] != 1 {
		t.Errorf("empty runs: %+v", r)
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		n, of int
		pct   float64
		want  bool
	}{
		{30, 3000, 1, true},
		{31, 3000, 1, false},
		{0, 0, 1, true},
		{1, 0, 1, false},
	}
	for _, tt := range tests {
		if got := Within(tt.n, tt.of, tt.pct); got != tt.want {
			t.Errorf("Within(%d, %d, %v) = %v", tt.n, tt.of, tt.pct, got)
		}
	}
	if Pct(1, 0) != 0 || Pct(1, 4) != 25 {
		t.Error("Pct is wrong")
	}
}
