package stats

import (
	"math"
	"testing"
)

// Reference p-values: every table with the same margins enumerated with
// exact fractions (Python's math.comb and fractions.Fraction), two-sided by
// summing the tables no more likely than the observed one.
func TestFisher(t *testing.T) {
	for _, tc := range []struct {
		a, na, b, nb int
		want         float64
	}{
		{7, 14, 0, 14, 0.005797101449275362},
		{6, 12, 0, 12, 0.013729977116704805},
		{5, 10, 0, 10, 0.032507739938080496},
		{3, 5, 1, 5, 0.5238095238095238},
		{1, 10, 11, 14, 0.0027594561852200836},
		{14, 14, 0, 14, 4.985467362637911e-08},
		{2, 20, 0, 20, 0.48717948717948717},
		{8, 16, 0, 16, 0.002447163515016685},
		{0, 5, 0, 5, 1},
		{5, 5, 5, 5, 1},
		{0, 0, 3, 5, 1},
	} {
		got, err := Fisher(tc.a, tc.na, tc.b, tc.nb)
		if err != nil {
			t.Fatalf("Fisher(%d/%d, %d/%d): %v", tc.a, tc.na, tc.b, tc.nb, err)
		}
		if math.Abs(got.P-tc.want) > 1e-9*math.Max(1, tc.want) && math.Abs(got.P-tc.want)/tc.want > 1e-6 {
			t.Errorf("Fisher(%d/%d, %d/%d) p = %.12g, want %.12g", tc.a, tc.na, tc.b, tc.nb, got.P, tc.want)
		}
		// Swapping the groups never changes a two-sided p.
		if sw, _ := Fisher(tc.b, tc.nb, tc.a, tc.na); math.Abs(sw.P-got.P) > 1e-12 {
			t.Errorf("Fisher swapped p = %g, want %g", sw.P, got.P)
		}
	}
}

func TestFisherBadCounts(t *testing.T) {
	for _, c := range [][4]int{{3, 2, 0, 5}, {-1, 5, 0, 5}, {0, 5, 6, 5}} {
		if _, err := Fisher(c[0], c[1], c[2], c[3]); err == nil {
			t.Errorf("Fisher%v: no error for impossible counts", c)
		}
	}
}

func TestFisherRuns(t *testing.T) {
	// Half the boots crashing against none: 14 each is the first n with
	// p < 0.01 (7/14 vs 0/14: 0.0058; 6/12 vs 0/12: 0.0137).
	if n := FisherRuns(0.5, 0.01, 100); n != 14 {
		t.Errorf("FisherRuns(0.5, 0.01) = %d, want 14", n)
	}
	if n := FisherRuns(0, 0.01, 50); n != 0 {
		t.Errorf("FisherRuns(0, 0.01) = %d, want 0: no crashes can never differ", n)
	}
}

func TestRate(t *testing.T) {
	if got := Rate(7, 14); got != "7 of 14 (50%)" {
		t.Errorf("Rate(7, 14) = %q", got)
	}
	if got := Rate(0, 0); got != "0 of 0" {
		t.Errorf("Rate(0, 0) = %q", got)
	}
}
