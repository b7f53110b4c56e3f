package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
)

// ABSchemaVersion is bumped on every incompatible change of ABComparison.
const ABSchemaVersion = 1

// SignificanceLevel is the p-value below which a metric's difference is
// called significant (and listed first).
const SignificanceLevel = 0.05

// Unfinished is the verdict of a sample whose run stopped before its
// scenarios finished (the kernel did not build or boot, the lab broke).
const Unfinished = "unfinished"

// Words compare.json uses to say what its numbers are.
const (
	SpreadMinMax = "min..max"
	TestName     = "two-sided Mann-Whitney U"
	OrderAB      = "interleaved A,B,A,B"
)

// ABComparison is compare.json: two kernels run the same scenarios the same
// number of times, every sample listed, and per-metric statistics.
type ABComparison struct {
	Schema     int       `json:"schema"`
	ID         string    `json:"id"`
	LabVersion string    `json:"lab_version"`
	Started    time.Time `json:"started"`
	Scenarios  []string  `json:"scenarios"`
	// Runs is how many runs of each kernel were asked for.
	Runs   int     `json:"runs"`
	Order  string  `json:"order"`
	Alpha  float64 `json:"alpha"`
	Spread string  `json:"spread"`
	Test   string  `json:"test"`
	// Command reruns the comparison.
	Command []string     `json:"command"`
	A       ABKernel     `json:"a"`
	B       ABKernel     `json:"b"`
	Metrics []MetricStat `json:"metrics"`
}

// ABKernel is one side of a comparison.
type ABKernel struct {
	// Name is the kernel as it was asked for: a named kernel or a series.
	Name string `json:"name"`
	// Kernel is the identity result.json recorded for its first run.
	Kernel results.Kernel `json:"kernel"`
	Accel  []string       `json:"accel"`
	// Setups are the machine setups its runs booted ("unrecorded" for a
	// result.json without one); SetupWarning compares the two sides'.
	Setups   []string   `json:"machine_setups,omitempty"`
	Verdicts Verdicts   `json:"verdicts"`
	Samples  []ABSample `json:"samples"`
}

// Verdicts counts a kernel's runs by verdict.
type Verdicts struct {
	Pass       int `json:"pass"`
	Fail       int `json:"fail"`
	Error      int `json:"error"`
	Skip       int `json:"skip"`
	Unfinished int `json:"unfinished"`
}

// Add counts one run's verdict.
func (v *Verdicts) Add(verdict string) {
	switch verdict {
	case results.Pass:
		v.Pass++
	case results.Fail:
		v.Fail++
	case results.Skip:
		v.Skip++
	case Unfinished:
		v.Unfinished++
	default:
		v.Error++
	}
}

// ABSample is one run of one kernel.
type ABSample struct {
	// Seq is the run's place in the interleaved order (1, 2, ...), Round
	// the pair it belongs to (1..Runs).
	Seq   int    `json:"seq"`
	Round int    `json:"round"`
	RunID string `json:"run_id,omitempty"`
	// Dir is the run directory, relative to the directory of compare.json.
	Dir       string `json:"dir,omitempty"`
	Verdict   string `json:"verdict"`
	ErrorKind string `json:"error_kind,omitempty"`
	Error     string `json:"error,omitempty"`
	// Data is true when the run's metrics count in the statistics.
	Data bool `json:"data"`
}

// RunVerdict is one run's verdict over its scenarios: unfinished when the
// run stopped early, else error, fail, pass or skip, the worst that any
// scenario got.
func RunVerdict(r *results.Result) string {
	if r == nil || r.Error != "" || len(r.Scenarios) == 0 {
		return Unfinished
	}
	rank := map[string]int{results.Skip: 0, results.Pass: 1, results.Fail: 2, results.Error: 3}
	worst := results.Skip
	for _, s := range r.Scenarios {
		rk, ok := rank[s.Verdict]
		if !ok {
			return results.Error
		}
		if rk > rank[worst] {
			worst = s.Verdict
		}
	}
	return worst
}

// MetricStat compares one metric of kernel A with the same metric of
// kernel B over repeated runs.
type MetricStat struct {
	Scenario string `json:"scenario"`
	Metric   string `json:"metric"`
	// A and B are nil when that kernel never reported the metric.
	A *MetricSample `json:"a"`
	B *MetricSample `json:"b"`
	// Delta is B's median minus A's; DeltaPct is Delta in percent of |A's
	// median| (nil when that is 0 and Delta is not).
	Delta    *float64 `json:"delta"`
	DeltaPct *float64 `json:"delta_pct"`
	// U and P are the Mann-Whitney U of A against B and the two-sided
	// p-value; Exact says P came from the exact distribution.
	U           *float64 `json:"u"`
	P           *float64 `json:"p"`
	Exact       bool     `json:"exact"`
	Significant bool     `json:"significant"`
}

// MetricSample is one kernel's values of a metric, in run order.
type MetricSample struct {
	Values []float64 `json:"values"`
	RunIDs []string  `json:"run_ids"`
	stats.Summary
}

// Label is "scenario: metric".
func (m MetricStat) Label() string { return m.Scenario + ": " + m.Metric }

// Both is true when both kernels reported the metric.
func (m MetricStat) Both() bool { return m.A != nil && m.B != nil }

type metricKey struct{ scenario, metric string }

// CompareSamples computes, for every scenario metric either set of runs
// reported, both kernels' median and min..max, the change of the median and
// a two-sided Mann-Whitney U p-value. Only finished runs count, and only
// scenarios whose verdict is pass or fail (fail means the kernel broke an
// invariant, but the numbers were measured); NaN and Inf values are left
// out. Metrics significant at SignificanceLevel come first (smallest p
// first), then the others by name, then those only one kernel reported.
func CompareSamples(a, b []*results.Result) []MetricStat {
	va, vb := collect(a), collect(b)
	keys := map[metricKey]bool{}
	for k := range va {
		keys[k] = true
	}
	for k := range vb {
		keys[k] = true
	}
	out := make([]MetricStat, 0, len(keys))
	for k := range keys {
		out = append(out, metricStat(k, va[k], vb[k]))
	}
	slices.SortFunc(out, compareStats)
	return out
}

// collect gathers each metric's values in run order.
func collect(runs []*results.Result) map[metricKey]*MetricSample {
	m := map[metricKey]*MetricSample{}
	for _, r := range runs {
		if r == nil || r.Error != "" {
			continue
		}
		for _, s := range r.Scenarios {
			if s.Verdict != results.Pass && s.Verdict != results.Fail {
				continue
			}
			for name, v := range s.Metrics {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				k := metricKey{s.Name, name}
				if m[k] == nil {
					m[k] = &MetricSample{}
				}
				m[k].Values = append(m[k].Values, v)
				m[k].RunIDs = append(m[k].RunIDs, r.RunID)
			}
		}
	}
	for _, s := range m {
		s.Summary, _ = stats.Summarize(s.Values) // not empty, all finite
	}
	return m
}

func metricStat(k metricKey, a, b *MetricSample) MetricStat {
	m := MetricStat{Scenario: k.scenario, Metric: k.metric, A: a, B: b}
	if !m.Both() {
		return m
	}
	d := b.Median - a.Median
	m.Delta = &d
	switch {
	case a.Median != 0:
		m.DeltaPct = ptr(100 * d / math.Abs(a.Median))
	case d == 0:
		m.DeltaPct = ptr(0)
	}
	if t, err := stats.MannWhitney(a.Values, b.Values); err == nil {
		m.U, m.P, m.Exact = &t.U, &t.P, t.Exact
		m.Significant = t.P < SignificanceLevel
	}
	return m
}

func ptr(v float64) *float64 { return &v }

// compareStats orders significant metrics first (smallest p first), then
// the other metrics both kernels reported, then the rest, each by name.
func compareStats(x, y MetricStat) int {
	group := func(m MetricStat) int {
		switch {
		case m.Significant:
			return 0
		case m.Both():
			return 1
		}
		return 2
	}
	byName := cmp.Or(cmp.Compare(x.Scenario, y.Scenario), cmp.Compare(x.Metric, y.Metric))
	if c := cmp.Compare(group(x), group(y)); c != 0 {
		return c
	}
	if x.Significant {
		return cmp.Or(cmp.Compare(*x.P, *y.P), byName)
	}
	return byName
}
