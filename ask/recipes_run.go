package ask

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/noiserule"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/lab"
)

var recipes = map[string]Recipe{
	"tsc-noise": {Name: "tsc-noise", Question: "What does spurious coverage from tsc.c even mean, and is the in_task() filter broken?",
		Kernels: []string{"v2", "v2-no01", "v2-lockdep-selftest", "v2-no01-lockdep-selftest"}, Runs: bootGateRuns, answer: answerTSCNoise,
		noPlan: "it cites lines of the kernel tree each kernel was built from, and its boot gate decides what runs next"},
	"guard-size": {Name: "guard-size", Question: "How big is this for a typical kernel build?",
		Kernels: []string{"v2-nounique", "v2"}, answer: answerGuardSize,
		noPlan: "it scans the built kernels' vmlinux and boots nothing"},
	"edges-vs-nodes": {Name: "edges-vs-nodes", Question: "Does trace-pc-guard add call sites compared with trace-pc?",
		Kernels: []string{"v2-nounique", "v2"}, answer: answerEdgesVsNodes,
		noPlan: "it scans the built kernels' vmlinux and boots nothing"},
	"v2-vs-v4": {Name: "v2-vs-v4", Question: "What differs between v2 and v4 of the series, scenario by scenario?",
		Kernels: []string{"v2", "v4"}, Runs: 1, answer: answerV2VsV4},
	"overflow": {Name: "overflow", Question: "How many buffer overflows does unique mode save (the series says 225288 -> 986, -99.6 %)?",
		Kernels: []string{"v2"}, Runs: 3, answer: answerOverflow},
}

// metricValues is a scenario metric's value in each run that measured it;
// a run that did not report it counts as zero when zero is set.
func metricValues(runs []*results.Result, scenario, metric string, zero bool) []float64 {
	var xs []float64
	for _, r := range runs {
		s := findScenarioResult(r, scenario)
		if s == nil {
			continue
		}
		if v, ok := s.Metrics[metric]; ok {
			xs = append(xs, v)
		} else if zero {
			xs = append(xs, 0)
		}
	}
	return xs
}

func findScenarioResult(r *results.Result, name string) *results.Scenario {
	if r == nil {
		return nil
	}
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name && (r.Scenarios[i].Verdict == results.Pass || r.Scenarios[i].Verdict == results.Fail) {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// describe is a metric over runs: "92 (each of 3 runs)" or
// "463163 (median; 462855..463483 over 3 runs)".
func describe(xs []float64) string { return describeUnit(xs, "") }

func describeUnit(xs []float64, unit string) string {
	s, err := stats.Summarize(xs)
	if err != nil {
		return "no data"
	}
	if s.Min == s.Max {
		if s.N == 1 {
			return fmt.Sprintf("%g%s (1 run)", s.Median, unit)
		}
		return fmt.Sprintf("%g%s (each of %d runs)", s.Median, unit, s.N)
	}
	return fmt.Sprintf("%g%s (median; %g..%g over %d runs)", s.Median, unit, s.Min, s.Max, s.N)
}

func pValue(a, b []float64) string {
	u, err := stats.MannWhitney(a, b)
	if err != nil {
		return "p n/a"
	}
	return fmt.Sprintf("p = %.3g, two-sided Mann-Whitney U, %d vs %d runs", u.P, u.N1, u.N2)
}

func answerOverflow(ctx context.Context, a *asker) error {
	var runs []*results.Result
	for i := 0; i < a.runs; i++ {
		res, err := a.runOnce(ctx, a.kernels[0], "overflow")
		if err != nil && res == nil || res != nil && res.Error != "" {
			return err
		}
		runs = append(runs, res)
	}
	const buf = "@4096"
	tr := metricValues(runs, "overflow", "corpus_overflows/trace"+buf, false)
	un := metricValues(runs, "overflow", "corpus_overflows/unique"+buf, false)
	red := metricValues(runs, "overflow", "overflow_reduction_pct", false)
	progs := metricValues(runs, "overflow", "corpus_programs", false)
	if len(tr) == 0 {
		return &lab.ScenarioError{Scenario: "overflow", Err: fmt.Errorf("no run of %s measured the corpus", a.kernels[0])}
	}
	a.findf("A fixed corpus of %g syscall programs, each run with one 4096-word buffer on %s: trace mode overflowed %s, unique mode %s (same total buffer; the bitmap takes a quarter).",
		progs[0], a.kernels[0], describeUnit(tr, " times"), describeUnit(un, " times"))
	a.findf("Reduction: %s. The series reports 225288 -> 986 overflows (-99.6 %%) on syzkaller's corpus; ours is a small corpus of loops over pipes, getdents, mmap and friends, so the counts are not comparable, the direction is.", describeUnit(red, " %"))
	a.findf("Words recorded by the corpus: trace %s, unique %s.",
		describe(metricValues(runs, "overflow", "corpus_words/trace"+buf, false)), describe(metricValues(runs, "overflow", "corpus_words/unique"+buf, false)))
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %12s %12s %12s\n", "workload@buffer words", "trace words", "dup ratio", "unique words")
	var s *results.Scenario
	for i := len(runs) - 1; i >= 0 && s == nil; i-- {
		s = findScenarioResult(runs[i], "overflow") // the last run that measured
	}
	var keys []string
	for k := range s.Metrics {
		if strings.HasPrefix(k, "dup_ratio/") {
			keys = append(keys, strings.TrimPrefix(k, "dup_ratio/"))
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%-26s %12.0f %12.3f %12.0f\n", k, s.Metrics["trace_words/"+k], s.Metrics["dup_ratio/"+k], s.Metrics["unique_words/"+k])
	}
	fmt.Fprintf(&b, "(last run that measured; dup ratio = repeated records / records in trace mode; unique mode had %g repeats in total)\n", sumPrefix(s.Metrics, "unique_repeats/"))
	a.ans.Details = b.String()
	a.ans.Data = map[string][]float64{"trace_overflows": tr, "unique_overflows": un, "reduction_pct": red}
	return nil
}

func sumPrefix(m map[string]float64, prefix string) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// tscFile is the file patch 01 stops instrumenting.
const tscFile = "arch/x86/kernel/tsc.c"

// noiseFn is a ranked irqnoise evidence line once symbolized.
var noiseFn = regexp.MustCompile(`^([A-Za-z_][\w.]*)\+0x[0-9a-f]+(?: \(([^)]*)\))? in (\d+) runs`)

// noisyFunctions sums, over runs, the noise runs of each function (the
// most runs any of its PCs had, per run) and remembers its file.
func noisyFunctions(runs []*results.Result) (fns []string, total map[string]float64, files map[string]string) {
	total, files = map[string]float64{}, map[string]string{}
	for _, r := range runs {
		s := findScenarioResult(r, "irqnoise")
		if s == nil {
			continue
		}
		for k, v := range s.Metrics {
			if fn, ok := strings.CutPrefix(k, "noise_runs_by_fn/"); ok {
				total[fn] += v
			}
		}
		for _, e := range s.Evidence {
			if m := noiseFn.FindStringSubmatch(e); m != nil && m[2] != "" {
				files[m[1]] = m[2]
			}
		}
	}
	for fn := range total {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool {
		if total[fns[i]] != total[fns[j]] {
			return total[fns[i]] > total[fns[j]]
		}
		return fns[i] < fns[j]
	})
	return fns, total, files
}

func rankLine(fns []string, total map[string]float64, files map[string]string, n int) string {
	if len(fns) == 0 {
		return "none"
	}
	var parts []string
	for _, fn := range fns[:min(n, len(fns))] {
		f := files[fn]
		if f == "" {
			f = "file unknown"
		}
		parts = append(parts, fmt.Sprintf("%s (%s) %g", fn, f, total[fn]))
	}
	return strings.Join(parts, ", ")
}

func answerV2VsV4(ctx context.Context, a *asker) error {
	list := []string{"unique", "ioctl", "reset", "overflow", "irqnoise", "guardrace", "kselftest"}
	cr, err := a.compareRuns(ctx, a.kernels[0], a.kernels[1], list...)
	if err != nil {
		return err
	}
	var same, differ []string
	for _, sc := range list {
		va, vb := verdictsOf(cr.A, sc), verdictsOf(cr.B, sc)
		if va == vb {
			same = append(same, sc+" "+va)
			continue
		}
		differ = append(differ, fmt.Sprintf("%s: %s %s, %s %s", sc, a.kernels[0], va, a.kernels[1], vb))
	}
	a.findf("Verdicts the same on both: %s.", strings.Join(same, ", "))
	if len(differ) > 0 {
		a.findf("Verdicts that differ: %s.", strings.Join(differ, "; "))
	}
	if cd := caseDiffs(cr.A, cr.B, a.kernels); cd != "" {
		a.findf("kselftest cases that differ: %s.", cd)
	}
	moved := 0
	var top []string
	for _, m := range cr.Comparison.Metrics {
		if m.A == nil || m.B == nil || m.DeltaPct == nil || abs(*m.DeltaPct) < 10 {
			continue
		}
		moved++
		if len(top) < 8 {
			top = append(top, fmt.Sprintf("%s:%s %g -> %g", m.Scenario, m.Metric, m.A.Median, m.B.Median))
		}
	}
	a.findf("%d of %d metrics differ by 10 %% or more in the median (%d run(s) each; the table below has them all): %s.",
		moved, len(cr.Comparison.Metrics), a.runs, strings.Join(top, "; "))
	var b strings.Builder
	cr.Comparison.WriteText(&b, false)
	a.ans.Details = b.String()
	return nil
}

// verdictsOf lists a scenario's verdicts over runs, e.g. "pass" or "pass,fail".
func verdictsOf(runs []*results.Result, scenario string) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		for _, s := range r.Scenarios {
			if s.Name == scenario && !seen[s.Verdict] {
				seen[s.Verdict] = true
				out = append(out, s.Verdict)
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "not run"
	}
	return strings.Join(out, ",")
}

// caseDiffs names the kselftest cases whose statuses differ.
func caseDiffs(a, b []*results.Result, kernels []string) string {
	status := func(runs []*results.Result) map[string]string {
		m := map[string]string{}
		for _, r := range runs {
			for _, s := range r.Scenarios {
				for _, c := range s.Cases {
					if m[c.Name] != "" && !strings.Contains(m[c.Name], c.Status) {
						m[c.Name] += "," + c.Status
					} else if m[c.Name] == "" {
						m[c.Name] = c.Status
					}
				}
			}
		}
		return m
	}
	sa, sb := status(a), status(b)
	var out []string
	for name, st := range sa {
		if sb[name] != st {
			out = append(out, fmt.Sprintf("%s (%s %s, %s %s)", name, kernels[0], st, kernels[1], orNone(sb[name])))
		}
	}
	for name, st := range sb {
		if _, ok := sa[name]; !ok {
			out = append(out, fmt.Sprintf("%s (%s none, %s %s)", name, kernels[0], kernels[1], st))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// byRule groups functions by the noise rule that explains them.
func byRule(fns []string) string {
	groups := map[string][]string{}
	var order []string
	for _, fn := range fns {
		why := "not explained by a rule"
		if r, ok := noiserule.Classify(fn); ok {
			why = r.Why
		}
		if groups[why] == nil {
			order = append(order, why)
		}
		if !slices.Contains(groups[why], fn) {
			groups[why] = append(groups[why], fn)
		}
	}
	var parts []string
	for _, why := range order {
		parts = append(parts, fmt.Sprintf("%s (%s)", strings.Join(groups[why][:min(4, len(groups[why]))], ", "), why))
	}
	return strings.Join(parts, "; ")
}
