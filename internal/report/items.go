package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// XFail is the status of a kselftest case that failed as expected (a known
// upstream defect): it counts as a pass.
const XFail = "xfail"

// XPass is the status of a kselftest case expected to fail (a known defect)
// that passed: it counts as a pass and is shown as XPASS everywhere.
const XPass = "xpass"

// RunItem is the name of the pseudo test case that carries a run's own error
// (the kernel did not build or boot) in JUnit, KTAP and Compare.
const RunItem = "run"

// item is one test case of a run as the flat writers (JUnit, KTAP) see it:
// a scenario, a kselftest case ("scenario/case"), or the run itself.
type item struct {
	Name    string
	Status  string // results.Pass, Fail, Error, Skip, XFail or XPass
	Kind    string // JUnit failure/error type
	Message string // one line
	Detail  []string
	Out     []string // what passed tests print: metrics, the expected failure
	Metrics map[string]float64
	Seconds float64
}

// runError is the first line of a run's error, led by its kind ("boot: ...").
func runError(r *results.Result) string {
	l := firstLine(r.Error)
	if r.ErrorKind == "" || strings.HasPrefix(l, r.ErrorKind+":") {
		return l
	}
	return r.ErrorKind + ": " + l
}

// kernelName is the run's kernel name, or its key for older results.
func kernelName(r *results.Result) string {
	switch {
	case r.Kernel.Name != "":
		return r.Kernel.Name
	case r.Kernel.Key != "":
		return r.Kernel.Key
	}
	return "unknown"
}

// items flattens a run into test cases: one per scenario, one per case of a
// scenario with cases, and "run" when the run stopped with an error.
func items(r *results.Result) []item {
	var out []item
	for _, s := range r.Scenarios {
		out = append(out, scenarioItems(s)...)
	}
	if r.Error != "" {
		kind := r.ErrorKind
		if kind == "" {
			kind = results.Error
		}
		out = append(out, item{Name: RunItem, Status: results.Error, Kind: kind,
			Message: firstLine(r.Error), Detail: lines(r.Error)})
	}
	return out
}

func scenarioItems(s results.Scenario) []item {
	if len(s.Cases) == 0 {
		return []item{scenarioItem(s)}
	}
	var out []item
	explained := false
	for _, c := range s.Cases {
		it := caseItem(s.Name, c)
		if it.Status == results.Fail || it.Status == results.Error {
			explained = true
		}
		out = append(out, it)
	}
	// A verdict no case explains (an incomplete selftest) must not be lost.
	if (s.Verdict != results.Pass && s.Verdict != results.Skip) && !explained {
		it := scenarioItem(s)
		it.Out = nil
		out = append(out, it)
	}
	return out
}

func scenarioItem(s results.Scenario) item {
	it := item{Name: s.Name, Status: s.Verdict, Kind: s.Verdict, Seconds: s.Seconds}
	it.Detail = append(append(it.Detail, s.Evidence...), lines(s.Error)...)
	switch s.Verdict {
	case results.Pass:
	case results.Fail:
		it.Message = firstOf(firstLine(s.Error), first(s.Evidence), "scenario failed")
	case results.Error:
		it.Message = firstOf(firstLine(s.Error), "scenario could not measure")
	case results.Skip:
		it.Message = firstOf(firstLine(s.Error), "skipped")
	default:
		it.Status, it.Kind = results.Error, "verdict"
		it.Message = fmt.Sprintf("unknown verdict %q", s.Verdict)
	}
	it.Out, it.Metrics = metricLines(s.Metrics), s.Metrics
	return it
}

func caseItem(scenario string, c results.Case) item {
	it := item{Name: scenario + "/" + c.Name, Status: c.Status, Kind: c.Status, Detail: c.Diag}
	switch c.Status {
	case results.Pass:
	case XFail:
		it.Out = append([]string{"expected failure: " + firstOf(c.Known, "known defect")}, c.Diag...)
		it.Detail = nil
	case XPass:
		it.Out = []string{"XPASS: " + firstOf(c.Known, "expected to fail, passed")}
		it.Detail = nil
	case results.Fail:
		it.Message = firstOf(first(c.Diag), "case failed")
	case results.Skip, "todo":
		it.Status = results.Skip
		it.Message = firstOf(first(c.Diag), c.Status)
	case results.Error:
		it.Message = firstOf(first(c.Diag), "case could not run")
	default:
		it.Status, it.Kind = results.Error, "status"
		it.Message = fmt.Sprintf("unknown case status %q", c.Status)
	}
	return it
}

// count tallies items by status.
type count struct{ Tests, Failures, Errors, Skipped int }

func countItems(its []item) count {
	var c count
	for _, it := range its {
		c.Tests++
		switch it.Status {
		case results.Fail:
			c.Failures++
		case results.Error:
			c.Errors++
		case results.Skip:
			c.Skipped++
		}
	}
	return c
}

// runSeconds is the run's wall time: its "total" stage, else the sum of the
// stages, else the sum of the scenarios.
func runSeconds(r *results.Result) float64 {
	if t, ok := r.Stage("total"); ok {
		return t
	}
	var sum float64
	for _, s := range r.Stages {
		sum += s.Seconds
	}
	if sum == 0 {
		for _, s := range r.Scenarios {
			sum += s.Seconds
		}
	}
	return sum
}

func metricLines(m map[string]float64) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, k+"="+formatNum(m[k]))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatNum prints integers exactly and other numbers with a few digits.
func formatNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) < 1:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
