package check

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kcov"
)

func TestParseClass(t *testing.T) {
	for _, s := range []string{"unique", "nounique", "unpatched"} {
		if c, err := ParseClass(s); err != nil || string(c) != s {
			t.Errorf("ParseClass(%q) = %q, %v", s, c, err)
		}
	}
	if _, err := ParseClass(""); err == nil || !strings.Contains(err.Error(), "unique, nounique or unpatched") {
		t.Errorf("ParseClass(\"\") = %v", err)
	}
	if !Unique.Patched() || !NoUnique.Patched() || Unpatched.Patched() {
		t.Error("Patched is wrong")
	}
}

func ioctlErr(e syscall.Errno) error { return &kcov.IoctlError{Op: "UNIQUE_ENABLE", Errno: e} }

func direct(fn func()) { fn() }

func TestCaseEval(t *testing.T) {
	tests := []struct {
		name  string
		k     Case
		class Class
		want  Verdict
		line  string
	}{
		{"pass", Case{Name: "UNIQUE_ENABLE(0) after mmap", Want: UniqueEnable(syscall.EINVAL),
			Run: func() Got { return Got{Probe: ioctlErr(syscall.EINVAL)} }},
			Unique, Pass, "UNIQUE_ENABLE(0) after mmap: got EINVAL want EINVAL ok"},
		{"ENOTSUPP first on nounique", Case{Name: "x", Want: UniqueEnable(syscall.EINVAL),
			Run: func() Got { return Got{Probe: ioctlErr(kcov.ENOTSUPP)} }},
			NoUnique, Pass, "x: got ENOTSUPP want ENOTSUPP ok"},
		{"mismatch", Case{Name: "x", Want: UniqueEnable(syscall.EINVAL),
			Run: func() Got { return Got{Probe: ioctlErr(syscall.EBUSY)} }},
			Unique, Fail, "x: got EBUSY want EINVAL FAIL"},
		{"success expected", Case{Name: "x", Want: Everywhere(0), Run: func() Got { return Got{} }},
			Unpatched, Pass, "x: got success want success ok"},
		{"after check fails", Case{Name: "x", Want: ResetTrace(0),
			Run: func() Got { return Got{After: errors.New("trace[0] not zeroed")} }},
			NoUnique, Fail, "x: got success want success FAIL (trace[0] not zeroed)"},
		{"setup fails", Case{Name: "x", Want: ResetTrace(syscall.EINVAL),
			Run: func() Got { return Got{Setup: errors.New("open: ENOENT")} }},
			Unique, Fail, "x: could not run: open: ENOENT want EINVAL FAIL"},
		{"probe without errno", Case{Name: "x", Want: ResetTrace(syscall.EINVAL),
			Run: func() Got { return Got{Probe: fmt.Errorf("buffer not mapped")} }},
			Unique, Fail, "x: no errno: buffer not mapped want EINVAL FAIL"},
		{"skipped", Case{Name: "x", Want: OnlyUnique(syscall.EINVAL), SkipWhy: "needs a working UNIQUE_ENABLE",
			Run: func() Got { panic("must not run") }},
			Unpatched, Skip, "x: skipped (needs a working UNIQUE_ENABLE; kernel is unpatched)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.k.Eval(tt.class, direct)
			if r.Verdict != tt.want || r.Line() != tt.line {
				t.Errorf("got %v %q, want %v %q", r.Verdict, r.Line(), tt.want, tt.line)
			}
		})
	}
}

func TestExpectTables(t *testing.T) {
	if e := UniqueEnable(syscall.EBUSY); e[Unique] != syscall.EBUSY || e[NoUnique] != kcov.ENOTSUPP || e[Unpatched] != syscall.ENOTTY {
		t.Errorf("UniqueEnable = %v", e)
	}
	if e := ResetTrace(syscall.EINVAL); e[Unique] != syscall.EINVAL || e[NoUnique] != syscall.EINVAL || e[Unpatched] != syscall.ENOTTY {
		t.Errorf("ResetTrace = %v", e)
	}
	if e := OnlyUnique(0); len(e) != 1 {
		t.Errorf("OnlyUnique = %v", e)
	}
}

func TestReport(t *testing.T) {
	var r Report
	r.Add(Row{Name: "a", Verdict: Pass})
	r.Check("b", false, "count 5")
	r.Skip("c", "nounique kernel")
	r.Note("plain %d", 1)
	m := map[string]float64{}
	r.Metrics("rows", m)
	if r.OK() || m["rows_passed"] != 1 || m["rows_failed"] != 1 || m["rows_skipped"] != 1 {
		t.Errorf("report %+v metrics %v", r, m)
	}
	want := []string{"a: got success want success ok", "b: count 5 FAIL", "c: skipped (nounique kernel)", "plain 1"}
	if strings.Join(r.Evidence, "|") != strings.Join(want, "|") {
		t.Errorf("evidence %q", r.Evidence)
	}
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		got, ref       uint64
		near, cameBack bool
	}{
		{0, 100, true, false},
		{10, 100, true, false},
		{11, 100, false, false},
		{50, 100, false, true},
		{120, 100, false, true},
		{0, 0, true, false},
	}
	for _, tt := range tests {
		if NearZero(tt.got, tt.ref) != tt.near || CameBack(tt.got, tt.ref) != tt.cameBack {
			t.Errorf("got %d ref %d: NearZero %v CameBack %v", tt.got, tt.ref, NearZero(tt.got, tt.ref), CameBack(tt.got, tt.ref))
		}
	}
	if p, ok := ReductionPct(225288, 986); !ok || fmt.Sprintf("%.1f", p) != "99.6" {
		t.Errorf("ReductionPct(headline) = %v, %v", p, ok)
	}
	if _, ok := ReductionPct(0, 0); ok {
		t.Error("ReductionPct(0, 0) should have no ratio")
	}
}

func TestFloorLine(t *testing.T) {
	m := map[string]float64{}
	st := kcov.Stats{N: 100, Min: 3, Median: 7, Max: 40}
	FloorMetrics(m, st)
	if m["floor_words_median"] != 7 || m["floor_words_min"] != 3 || m["floor_words_max"] != 40 {
		t.Errorf("metrics %v", m)
	}
	if l := FloorLine(st); !strings.Contains(l, "100 runs): min 3 median 7 max 40 words") {
		t.Errorf("line %q", l)
	}
}
