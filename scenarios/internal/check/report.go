package check

import "fmt"

// Report collects a scenario's verdicts as evidence lines and counts them.
// The zero value is ready to use.
type Report struct {
	Evidence                []string
	Passed, Failed, Skipped int
}

func (r *Report) count(v Verdict) {
	switch v {
	case Pass:
		r.Passed++
	case Fail:
		r.Failed++
	default:
		r.Skipped++
	}
}

// Add records a judged table row.
func (r *Report) Add(row Row) {
	r.count(row.Verdict)
	r.Evidence = append(r.Evidence, row.Line())
}

// Check records an invariant: "name: detail ok" or "name: detail FAIL".
func (r *Report) Check(name string, ok bool, detail string) {
	v := Fail
	if ok {
		v = Pass
	}
	r.count(v)
	r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s %s", name, detail, v))
}

// Skip records an invariant that does not apply.
func (r *Report) Skip(name, why string) {
	r.count(Skip)
	r.Evidence = append(r.Evidence, fmt.Sprintf("%s: skipped (%s)", name, why))
}

// Note adds an evidence line that is not a verdict.
func (r *Report) Note(format string, args ...any) {
	r.Evidence = append(r.Evidence, fmt.Sprintf(format, args...))
}

// OK is true when nothing failed.
func (r *Report) OK() bool { return r.Failed == 0 }

// Metrics stores the counts as prefix_passed, prefix_failed, prefix_skipped.
func (r *Report) Metrics(prefix string, m map[string]float64) {
	m[prefix+"_passed"] = float64(r.Passed)
	m[prefix+"_failed"] = float64(r.Failed)
	m[prefix+"_skipped"] = float64(r.Skipped)
}

// NearZero is the test for "no coverage came back": got is at most a tenth
// of ref, the count the same syscall gives after a full reset.
func NearZero(got, ref uint64) bool { return got*10 <= ref }

// CameBack is the test for "coverage came back": got is non-zero and at
// least half of ref, the count the same syscall gave before.
func CameBack(got, ref uint64) bool { return got > 0 && got*2 >= ref }

// ReductionPct is how much smaller after is than before, in percent
// (positive for fewer); ok is false when before is 0 and there is no ratio.
func ReductionPct(before, after int) (pct float64, ok bool) {
	if before == 0 {
		return 0, false
	}
	return 100 * float64(before-after) / float64(before), true
}

// Bool is a metric for a yes/no fact.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
