package stats

import (
	"errors"
	"math"
	"testing"
)

// seq returns n values f(0), f(1), ...
func seq(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestMannWhitneyKnownValues checks U and the two-sided p-value against
// SciPy 1.10.1 (Debian 12's python3-scipy), computed as follows:
//
//	from scipy import stats; import numpy as np
//	# no ties, small samples: the exact distribution
//	stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
//	# ties, small samples: the exact permutation distribution of U
//	stats.permutation_test((a, b),
//	    lambda x, y, axis: stats.mannwhitneyu(x, y, axis=axis).statistic,
//	    permutation_type="independent", alternative="two-sided",
//	    n_resamples=np.inf, vectorized=True)
//	# large samples: normal approximation, tie and continuity correction
//	stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
//
// SciPy's statistic is U of the first sample, as here.
func TestMannWhitneyKnownValues(t *testing.T) {
	tests := []struct {
		name  string
		a, b  []float64
		u, p  float64
		exact bool
	}{
		{name: "no ties, apart", a: []float64{1, 2, 3, 4, 5}, b: []float64{6, 7, 8, 9, 10},
			u: 0, p: 0.007936507936507936, exact: true},
		{name: "no ties, mixed", a: []float64{1.1, 2.5, 3.3, 4.0, 6.2}, b: []float64{2.0, 3.9, 5.5, 7.1, 8.4, 9.0},
			u: 7, p: 0.17748917748917747, exact: true},
		{name: "ties", a: []float64{1, 2, 2, 3, 3}, b: []float64{2, 3, 4, 4, 5},
			u: 4, p: 0.1111111111111111, exact: true},
		{name: "ties, lopsided", a: []float64{1, 1, 1, 2, 5}, b: []float64{2, 3, 3, 3, 4},
			u: 5.5, p: 0.18253968253968253, exact: true},
		// The tie structure is not symmetric: the order of the samples must
		// not change p (moremath's own two-sided p gives 0.0476 for the
		// second order).
		{name: "asymmetric ties", a: []float64{10, 10, 10, 10, 12}, b: []float64{10, 11, 11, 12, 13, 13},
			u: 5.5, p: 0.09090909090909091, exact: true},
		{name: "asymmetric ties, swapped", a: []float64{10, 11, 11, 12, 13, 13}, b: []float64{10, 10, 10, 10, 12},
			u: 24.5, p: 0.09090909090909091, exact: true},
		{name: "ten runs of a counter", a: []float64{9, 9, 9, 10, 9, 9, 11, 9, 9, 9}, b: []float64{12, 9, 12, 13, 12, 12, 12, 11, 12, 12},
			u: 6.5, p: 0.0003031024702851328, exact: true},
		{name: "one value each", a: []float64{1}, b: []float64{2}, u: 0, p: 1, exact: true},
		{name: "one against three", a: []float64{5}, b: []float64{1, 2, 3}, u: 3, p: 0.5, exact: true},
		{name: "identical samples", a: []float64{1, 2, 3}, b: []float64{1, 2, 3}, u: 4.5, p: 1, exact: true},
		{name: "large, ties (normal)",
			a: seq(30, func(i int) float64 { return float64(i % 7) }),
			b: seq(30, func(i int) float64 { return float64((i*3)%9) + 0.5*float64(i%2) }),
			u: 402.5, p: 0.48399374674643836},
		{name: "large, ties, apart (normal)",
			a: seq(26, func(i int) float64 { return float64(i % 4) }),
			b: seq(26, func(i int) float64 { return float64(i%4) + 2 }),
			u: 84, p: 2.2212729608346442e-06},
		{name: "large, no ties (normal)",
			a: seq(60, func(i int) float64 { return float64(i) * 1.01 }),
			b: seq(60, func(i int) float64 { return float64(i)*0.97 + 3.3 }),
			u: 1673, p: 0.5067205148778584},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MannWhitney(tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tt.u || !near(got.P, tt.p) || got.Exact != tt.exact {
				t.Errorf("got U=%v p=%.17g exact=%v, want U=%v p=%.17g exact=%v", got.U, got.P, got.Exact, tt.u, tt.p, tt.exact)
			}
			if got.N1 != len(tt.a) || got.N2 != len(tt.b) {
				t.Errorf("sizes %d, %d", got.N1, got.N2)
			}
		})
	}
}

// near is equality up to rounding: SciPy and moremath add the
// probabilities in different orders.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))
}

func TestMannWhitneyEdges(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []float64
		u, p    float64
		wantErr error
	}{
		{name: "all ties", a: []float64{4, 4, 4}, b: []float64{4, 4}, u: 3, p: 1},
		{name: "all ties, large", a: seq(40, func(int) float64 { return 7 }), b: seq(30, func(int) float64 { return 7 }), u: 600, p: 1},
		{name: "one value each, equal", a: []float64{3}, b: []float64{3}, u: 0.5, p: 1},
		{name: "first empty", a: nil, b: []float64{1}, wantErr: ErrEmpty},
		{name: "second empty", a: []float64{1}, b: []float64{}, wantErr: ErrEmpty},
		{name: "NaN", a: []float64{1, math.NaN()}, b: []float64{1}, wantErr: ErrNotFinite},
		{name: "Inf", a: []float64{1}, b: []float64{math.Inf(1)}, wantErr: ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MannWhitney(tt.a, tt.b)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tt.u || got.P != tt.p {
				t.Errorf("got U=%v p=%v, want U=%v p=%v", got.U, got.P, tt.u, tt.p)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		xs      []float64
		want    Summary
		wantErr error
	}{
		{name: "one", xs: []float64{7}, want: Summary{N: 1, Median: 7, Min: 7, Max: 7}},
		{name: "odd", xs: []float64{5, 1, 3}, want: Summary{N: 3, Median: 3, Min: 1, Max: 5}},
		{name: "even", xs: []float64{4, 1, 3, 10}, want: Summary{N: 4, Median: 3.5, Min: 1, Max: 10}},
		{name: "negative", xs: []float64{-2, -8}, want: Summary{N: 2, Median: -5, Min: -8, Max: -2}},
		{name: "empty", xs: nil, wantErr: ErrEmpty},
		{name: "NaN", xs: []float64{math.NaN()}, wantErr: ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.xs...)
			got, err := Summarize(tt.xs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			for i := range in {
				if in[i] != tt.xs[i] && !math.IsNaN(in[i]) {
					t.Errorf("Summarize reordered its input: %v", tt.xs)
				}
			}
		})
	}
}

func TestMinP(t *testing.T) {
	tests := []struct {
		n1, n2 int
		want   float64
	}{
		{0, 5, 1},
		{1, 1, 1},
		{3, 3, 0.1},
		{4, 4, 2.0 / 70},
		{5, 5, 2.0 / 252},
		{10, 10, 2.0 / 184756},
	}
	for _, tt := range tests {
		if got := MinP(tt.n1, tt.n2); !near(got, tt.want) {
			t.Errorf("MinP(%d, %d) = %v, want %v", tt.n1, tt.n2, got, tt.want)
		}
	}
	// MinP is what the test gives for samples that do not overlap.
	a, b := []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}
	if got, _ := MannWhitney(a, b); !near(got.P, MinP(5, 5)) {
		t.Errorf("p %v for disjoint samples, MinP %v", got.P, MinP(5, 5))
	}
}
