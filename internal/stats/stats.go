// Package stats summarises repeated measurements of one metric and tests
// whether two sets of them differ: median, min..max and a two-sided
// Mann-Whitney U test. The U distribution comes from
// github.com/aclements/go-moremath/stats (the module benchstat uses); this
// package fixes the two-sided p-value with ties and gives every edge case
// (empty, one value, all equal) a defined answer.
//
// It is plain Go with no host requirements. go test -short ./internal/stats/
// checks it against p-values computed with SciPy (the test file says how).
package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	moremath "github.com/aclements/go-moremath/stats"
)

// Sentinel errors callers branch on.
var (
	// ErrEmpty means a sample holds no values.
	ErrEmpty = errors.New("empty sample")
	// ErrNotFinite means a sample holds NaN or an infinity.
	ErrNotFinite = errors.New("sample holds NaN or Inf")
)

// Summary describes one sample.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Summarize returns the size, median (the mean of the two middle values for
// an even size), minimum and maximum of xs.
func Summarize(xs []float64) (Summary, error) {
	if err := check(xs); err != nil {
		return Summary{}, err
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{N: n, Median: med, Min: s[0], Max: s[n-1]}, nil
}

func check(xs []float64) error {
	if len(xs) == 0 {
		return ErrEmpty
	}
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ErrNotFinite
		}
	}
	return nil
}

// UTest is the outcome of a two-sided Mann-Whitney U test.
type UTest struct {
	N1, N2 int
	// U counts the pairs (a, b) with a > b, ties counting one half; it lies
	// in [0, N1*N2] and is N1*N2/2 when neither sample tends higher.
	U float64
	// P is the two-sided p-value: twice the smaller one-sided tail, at most 1.
	P float64
	// Exact is true when P comes from the exact distribution of U (given
	// the ties), false for the normal approximation with tie and continuity
	// correction used for larger samples.
	Exact bool
}

// MannWhitney tests whether a and b come from the same distribution against
// the alternative that one tends to be larger, without assuming normality.
// Two samples whose values are all equal get P = 1. An empty sample is
// ErrEmpty; NaN or Inf is ErrNotFinite.
//
// The exact distribution is used up to 50 values per sample without ties
// and 25 with ties, as moremath does. Moremath's own two-sided exact p
// doubles the lower tail of the first sample's U at min(U1, U2), which with
// ties depends on which sample comes first (the conditional distribution is
// not symmetric). Here both one-sided tails are computed and the smaller is
// doubled, as SciPy's exact permutation test does, so swapping a and b
// never changes P.
func MannWhitney(a, b []float64) (UTest, error) {
	if err := check(a); err != nil {
		return UTest{}, fmt.Errorf("first sample: %w", err)
	}
	if err := check(b); err != nil {
		return UTest{}, fmt.Errorf("second sample: %w", err)
	}
	t := UTest{N1: len(a), N2: len(b), Exact: exact(a, b)}
	lower, err := moremath.MannWhitneyUTest(a, b, moremath.LocationLess)
	if errors.Is(err, moremath.ErrSamplesEqual) {
		t.U, t.P = float64(t.N1*t.N2)/2, 1
		return t, nil
	}
	if err != nil {
		return UTest{}, fmt.Errorf("mann-whitney: %w", err)
	}
	// U of b against a is N1*N2 - U, so its lower tail is a's upper tail.
	upper, err := moremath.MannWhitneyUTest(b, a, moremath.LocationLess)
	if err != nil {
		return UTest{}, fmt.Errorf("mann-whitney: %w", err)
	}
	t.U = lower.U
	t.P = math.Min(1, 2*math.Min(lower.P, upper.P))
	return t, nil
}

// exact mirrors moremath's choice between the exact distribution and the
// normal approximation.
func exact(a, b []float64) bool {
	limit := moremath.MannWhitneyExactLimit
	if hasTies(a, b) {
		limit = moremath.MannWhitneyTiesExactLimit
	}
	return len(a) <= limit && len(b) <= limit
}

func hasTies(a, b []float64) bool {
	all := slices.Concat(a, b)
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			return true
		}
	}
	return false
}

// MinP is the smallest two-sided p-value the exact test can give for two
// samples of n1 and n2 distinct values: 2 / C(n1+n2, n1), capped at 1. With
// 3 runs per kernel it is 0.1, so no difference can be significant at 0.05;
// with 4 it is 0.029, with 5 0.0079.
func MinP(n1, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	// C(n1+n2, n1) as a float: exact enough for the sizes the lab runs.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
