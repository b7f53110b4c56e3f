// Package check holds the pure parts of kcovlab's guest scenarios: the
// kernel classes the host passes with -kernel, tables of expected ioctl
// results whose rows pass, fail or are skipped by class, a report that
// turns checks into evidence lines and metrics, and small verdict helpers.
// One Linux-only helper (AddFloor) measures the harness floor.
//
// Everything but AddFloor is plain Go; tests: go test -short ./scenarios/internal/check/
package check

import (
	"fmt"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
)

// Class is what the kernel config says about KCOV_UNIQUE_ENABLE.
type Class string

// Kernel classes, as the host spells them in -kernel.
const (
	Unique    Class = "unique"    // the series with CONFIG_KCOV_UNIQUE=y
	NoUnique  Class = "nounique"  // the series with CONFIG_KCOV_UNIQUE=n
	Unpatched Class = "unpatched" // no series: both new ioctls are unknown
)

// ParseClass reads the -kernel flag.
func ParseClass(s string) (Class, error) {
	switch c := Class(s); c {
	case Unique, NoUnique, Unpatched:
		return c, nil
	}
	return "", fmt.Errorf("-kernel %q: want unique, nounique or unpatched (the lab passes it for scenarios with NeedsKernelClass)", s)
}

// Patched reports whether the kernel has the series (KCOV_RESET_TRACE).
func (c Class) Patched() bool { return c == Unique || c == NoUnique }

// Expect is the errno a case must produce on each kernel class (0 for
// success). A class missing from the map skips the case.
type Expect map[Class]syscall.Errno

// UniqueEnable is what KCOV_UNIQUE_ENABLE answers when the series' code
// gives want on a CONFIG_KCOV_UNIQUE kernel: the IS_ENABLED() test comes
// first (ENOTSUPP whatever the state), and an unpatched kernel does not
// know the command (ENOTTY).
func UniqueEnable(want syscall.Errno) Expect {
	return Expect{Unique: want, NoUnique: kcov.ENOTSUPP, Unpatched: syscall.ENOTTY}
}

// ResetTrace is what KCOV_RESET_TRACE answers: the same on both patched
// classes (it is not behind CONFIG_KCOV_UNIQUE), ENOTTY without the series.
func ResetTrace(want syscall.Errno) Expect {
	return Expect{Unique: want, NoUnique: want, Unpatched: syscall.ENOTTY}
}

// Everywhere is an answer that does not depend on the series.
func Everywhere(want syscall.Errno) Expect {
	return Expect{Unique: want, NoUnique: want, Unpatched: want}
}

// OnlyUnique is a case that needs a working KCOV_UNIQUE_ENABLE to set up.
func OnlyUnique(want syscall.Errno) Expect { return Expect{Unique: want} }

// Got is what running a case produced.
type Got struct {
	// Probe is what the call under test returned.
	Probe error
	// Setup is a failure before the probe: the case could not run.
	Setup error
	// After is a failed check after the probe (state the call must leave).
	After error
}

// Case is one row of an expected-results table.
type Case struct {
	Name string
	Want Expect
	// SkipWhy says why classes missing from Want skip the case.
	SkipWhy string
	Run     func() Got
}

// Eval runs the case on class c through run (which may move it to a thread
// of its own) and judges it; a case that does not apply is not run.
func (k Case) Eval(c Class, run func(func())) Row {
	want, ok := k.Want[c]
	if !ok {
		why := k.SkipWhy
		if why == "" {
			why = "does not apply"
		}
		return Row{Name: k.Name, Verdict: Skip, Note: fmt.Sprintf("%s; kernel is %s", why, c)}
	}
	var g Got
	run(func() { g = k.Run() })
	return Judge(k.Name, want, g)
}

// Judge compares what a case produced with what it should have.
func Judge(name string, want syscall.Errno, g Got) Row {
	r := Row{Name: name, Want: want, Verdict: Fail}
	if g.Setup != nil {
		r.Problem = "could not run: " + g.Setup.Error()
		return r
	}
	got, ok := kcov.ErrnoOf(g.Probe)
	r.Got = got
	switch {
	case !ok:
		r.Problem = "no errno: " + g.Probe.Error()
	case got != want:
	case g.After != nil:
		r.Note = g.After.Error()
	default:
		r.Verdict = Pass
	}
	return r
}

// Verdict of a row or check.
type Verdict int

// Verdicts.
const (
	Pass Verdict = iota
	Fail
	Skip
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "ok"
	case Fail:
		return "FAIL"
	}
	return "skipped"
}

// Row is a judged case.
type Row struct {
	Name    string
	Got     syscall.Errno
	Want    syscall.Errno
	Verdict Verdict
	// Problem replaces Got when the probe gave no errno to compare.
	Problem string
	// Note says why a row was skipped or what failed after the probe.
	Note string
}

// Line is the row as one evidence line, e.g.
// "UNIQUE_ENABLE(0) after mmap: got EINVAL want EINVAL ok".
func (r Row) Line() string {
	if r.Verdict == Skip {
		return fmt.Sprintf("%s: skipped (%s)", r.Name, r.Note)
	}
	got := "got " + kcov.ErrnoName(r.Got)
	if r.Problem != "" {
		got = r.Problem
	}
	line := fmt.Sprintf("%s: %s want %s %s", r.Name, got, kcov.ErrnoName(r.Want), r.Verdict)
	if r.Note != "" {
		line += " (" + r.Note + ")"
	}
	return line
}
