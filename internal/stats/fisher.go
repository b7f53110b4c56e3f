package stats

import (
	"fmt"
	"math"

	moremath "github.com/aclements/go-moremath/stats"
)

// FisherTest is Fisher's exact test on a 2x2 table of counts: events in
// two groups of trials, e.g. crashed boots of two kernels.
type FisherTest struct {
	// A events of NA trials, B events of NB trials.
	A, NA, B, NB int
	// P is the two-sided p-value: the probability, with the margins
	// fixed, of a table no more likely than the one observed.
	P float64
}

// Rate is the events' share of the trials, as "7 of 14 (50%)".
func Rate(events, trials int) string {
	if trials == 0 {
		return "0 of 0"
	}
	return fmt.Sprintf("%d of %d (%.0f%%)", events, trials, 100*float64(events)/float64(trials))
}

// Fisher tests whether a of na trials and b of nb trials differ in their
// event rate. The hypergeometric probabilities come from go-moremath; the
// two-sided p sums every table whose probability is at most the observed
// one's (with a relative tolerance of 1e-7 for rounding), as R's
// fisher.test and SciPy's fisher_exact do.
func Fisher(a, na, b, nb int) (FisherTest, error) {
	if a < 0 || b < 0 || na < a || nb < b {
		return FisherTest{}, fmt.Errorf("fisher: counts %d of %d and %d of %d: want 0 <= events <= trials", a, na, b, nb)
	}
	t := FisherTest{A: a, NA: na, B: b, NB: nb, P: 1}
	if na == 0 || nb == 0 || a+b == 0 || a+b == na+nb {
		return t, nil // one margin is empty: every table is the observed one
	}
	d := moremath.HypergeometicDist{N: na + nb, K: a + b, Draws: na}
	lo, hi := d.Bounds()
	obs := d.PMF(float64(a))
	p := 0.0
	for k := lo; k <= hi; k++ {
		if pk := d.PMF(k); pk <= obs*(1+1e-7) {
			p += pk
		}
	}
	t.P = math.Min(1, p)
	return t, nil
}

// FisherRuns is the smallest number of trials per group for which x of n
// against 0 of n, x = rate*n rounded down, gives a two-sided Fisher p below
// alpha; 0 when no n up to max does.
func FisherRuns(rate, alpha float64, max int) int {
	for n := 1; n <= max; n++ {
		x := int(rate * float64(n))
		if t, err := Fisher(x, n, 0, n); err == nil && t.P < alpha {
			return n
		}
	}
	return 0
}
