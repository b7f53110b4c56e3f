package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/kcovlab/kcovlab/internal/results"
)

// Tolerance is how far a metric may move between two runs before Compare
// reports it: a move counts when |cur-prev| > max(Absolute, Relative*|prev|).
// Negative values count as 0.
type Tolerance struct {
	Relative float64 `json:"relative"` // e.g. 0.10 for 10%
	Absolute float64 `json:"absolute"`
}

// Key names one result across runs: a kernel and a scenario, a selftest case
// ("scenario/case") or the run itself ("run").
type Key struct {
	Kernel   string `json:"kernel"`
	Scenario string `json:"scenario"`
}

func (k Key) String() string { return k.Kernel + " " + k.Scenario }

// MetricMove is a metric that moved beyond the tolerance.
type MetricMove struct {
	Key    Key     `json:"key"`
	Metric string  `json:"metric"`
	Prev   float64 `json:"prev"`
	Cur    float64 `json:"cur"`
	Change float64 `json:"change"` // Cur - Prev
}

// Diff is what changed from one set of runs (a previous nightly) to another.
// Every list is sorted by kernel, then scenario (then metric).
type Diff struct {
	// SetupWarning is set when the two sets booted different machine
	// setups (see ABComparison.SetupWarning).
	SetupWarning string `json:"setup_warning,omitempty"`
	// NewFailures fail or error now and did not before: they passed, were
	// skipped, or did not exist (a new kernel or scenario).
	NewFailures []Key `json:"new_failures"`
	// Fixed failed or errored before and pass now.
	Fixed []Key `json:"fixed"`
	// Moved are metrics of results in both sets that moved beyond the tolerance.
	Moved []MetricMove `json:"moved"`
	// Added and Removed are results in only one of the sets.
	Added   []Key `json:"added"`
	Removed []Key `json:"removed"`
	// XPass are selftest cases expected to fail (a known defect) that
	// passed in the current set: the defect did not show, or was fixed.
	XPass []Key `json:"xpass"`
}

// outcome is what Compare knows of one Key in one set of runs.
type outcome struct {
	status  string
	metrics map[string]float64
	xpass   bool
}

// Compare diffs two sets of runs keyed by (kernel name, scenario). Selftest
// cases are compared too, as "scenario/case", so a second failing case of an
// already failing selftest is a new failure; an expected failure (xfail)
// counts as passing. A run that stopped early is the result "run", in error.
// When a set holds several runs of one kernel, the last one wins.
func Compare(prev, cur []*results.Result, tol Tolerance) *Diff {
	p, c := outcomes(prev), outcomes(cur)
	// Empty lists, not null, in JSON.
	d := &Diff{NewFailures: []Key{}, Fixed: []Key{}, Moved: []MetricMove{}, Added: []Key{}, Removed: []Key{}, XPass: []Key{}}
	for k, co := range c {
		if co.xpass {
			d.XPass = append(d.XPass, k)
		}
		po, ok := p[k]
		if !ok {
			d.Added = append(d.Added, k)
		}
		switch {
		case failing(co.status) && (!ok || !failing(po.status)):
			d.NewFailures = append(d.NewFailures, k)
		case ok && failing(po.status) && co.status == results.Pass:
			d.Fixed = append(d.Fixed, k)
		}
		if ok {
			d.Moved = append(d.Moved, moves(k, po.metrics, co.metrics, tol)...)
		}
	}
	for k := range p {
		if _, ok := c[k]; !ok {
			d.Removed = append(d.Removed, k)
		}
	}
	for _, ks := range [][]Key{d.NewFailures, d.Fixed, d.Added, d.Removed, d.XPass} {
		slices.SortFunc(ks, compareKeys)
	}
	slices.SortFunc(d.Moved, func(a, b MetricMove) int {
		return cmp.Or(compareKeys(a.Key, b.Key), cmp.Compare(a.Metric, b.Metric))
	})
	d.SetupWarning = setupWarning("the previous runs", setupsOf(prev), "these", setupsOf(cur))
	return d
}

func outcomes(runs []*results.Result) map[Key]outcome {
	m := map[Key]outcome{}
	for _, r := range runs {
		if r == nil {
			continue
		}
		kernel := kernelName(r)
		for _, s := range r.Scenarios {
			m[Key{kernel, s.Name}] = outcome{status: s.Verdict, metrics: s.Metrics}
			for _, c := range s.Cases {
				status := c.Status
				if status == XFail || status == XPass {
					status = results.Pass
				}
				m[Key{kernel, s.Name + "/" + c.Name}] = outcome{status: status, xpass: c.Status == XPass}
			}
		}
		if r.Error != "" {
			m[Key{kernel, RunItem}] = outcome{status: results.Error}
		}
	}
	return m
}

func failing(status string) bool { return status == results.Fail || status == results.Error }

func moves(k Key, prev, cur map[string]float64, tol Tolerance) []MetricMove {
	var out []MetricMove
	for name, c := range cur {
		p, ok := prev[name]
		if !ok {
			continue
		}
		limit := math.Max(math.Max(tol.Absolute, 0), math.Max(tol.Relative, 0)*math.Abs(p))
		if math.Abs(c-p) > limit {
			out = append(out, MetricMove{Key: k, Metric: name, Prev: p, Cur: c, Change: c - p})
		}
	}
	return out
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Kernel, b.Kernel), cmp.Compare(a.Scenario, b.Scenario))
}

// Regressed is true when something fails that did not fail before.
func (d *Diff) Regressed() bool { return len(d.NewFailures) > 0 }

// Empty is true when nothing changed.
func (d *Diff) Empty() bool {
	return len(d.NewFailures)+len(d.Fixed)+len(d.Moved)+len(d.Added)+len(d.Removed)+len(d.XPass) == 0
}

// Write prints d for people: a section per kind of change, or "no changes".
func (d *Diff) Write(w io.Writer) {
	if d.SetupWarning != "" {
		fmt.Fprintln(w, d.SetupWarning)
	}
	if d.Empty() {
		fmt.Fprintln(w, "no changes")
		return
	}
	keys := func(title string, ks []Key) {
		if len(ks) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(ks))
		for _, k := range ks {
			fmt.Fprintf(w, "  %s\n", printable(k.String()))
		}
	}
	keys("new failures", d.NewFailures)
	keys("fixed", d.Fixed)
	if len(d.Moved) > 0 {
		fmt.Fprintf(w, "moved metrics (%d):\n", len(d.Moved))
		for _, m := range d.Moved {
			fmt.Fprintf(w, "  %s %s: %s -> %s (%s)\n", printable(m.Key.String()), printable(m.Metric),
				formatNum(m.Prev), formatNum(m.Cur), change(m))
		}
	}
	keys("added", d.Added)
	keys("removed", d.Removed)
	keys("XPASS: expected to fail, passed", d.XPass)
}

// change is the signed change, with a percentage when there is a base.
func change(m MetricMove) string {
	s := formatNum(m.Change)
	if m.Change > 0 {
		s = "+" + s
	}
	if m.Prev != 0 {
		s += fmt.Sprintf(", %+.1f%%", 100*m.Change/math.Abs(m.Prev))
	}
	return s
}
