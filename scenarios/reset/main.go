//go:build linux

// Command reset compares the two ways to reset a KCOV buffer between
// measurements: the fast reset (the program stores 0 in trace[0], and in
// unique mode zeroes the bitmap too) and the series' KCOV_RESET_TRACE, on
// read-write and read-only mappings.
//
// Invariants, each an evidence line:
//   - trace mode: after either reset the same syscall records again;
//   - a fast reset through a read-only mapping faults: a child process
//     (this program re-executed with KCOVLAB_RESET_CHILD=ro) must die of
//     SIGSEGV while the parent carries on; the same write through a
//     read-write mapping (KCOVLAB_RESET_CHILD=rw) must not;
//   - unique mode: zeroing trace[0] alone brings no coverage back for the
//     same syscall (at most a tenth of what a full reset gives), zeroing
//     the bitmap too or KCOV_RESET_TRACE(0) brings it back (at least half);
//   - KCOV_RESET_TRACE refuses arg != 0, a fd that is not enabled and a
//     caller that is not the owning thread, and then leaves the buffer alone
//     (the rows of scenarios/internal/cases).
//
// Unpatched kernels run the trace-mode parts only (RESET_TRACE must be
// ENOTTY); nounique kernels run them with RESET_TRACE; unique-mode parts
// need a unique kernel. It passes iff every applicable invariant held.
package main

import (
	"os"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/cases"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
	"golang.org/x/sys/unix"
)

const (
	bufWords    = 4096
	bitmapWords = 1024
)

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	scenarios.Main("reset", measure)
}

// run is one execution of the scenario.
type run struct {
	class check.Class
	r     check.Report
	m     map[string]float64
}

func measure(o *scenarios.Outcome, kernel string) error {
	class, err := check.Start(kernel)
	if err != nil {
		return err
	}
	s := &run{class: class, m: o.Metrics}
	parts := []struct {
		name   string
		unique bool
		fn     func() error
	}{
		{"trace mode, rw", false, s.traceRW},
		{"trace mode, ro", false, s.traceRO},
		{"fast reset in a child", false, s.children},
		{"unique mode, rw", true, s.uniqueRW},
		{"unique mode, ro", true, s.uniqueRO},
	}
	for _, p := range parts {
		if p.unique && class != check.Unique {
			s.r.Skip(p.name, "needs CONFIG_KCOV_UNIQUE; kernel is "+string(class))
			continue
		}
		var err error
		kcov.OnNewThread(func() { err = p.fn() })
		if err != nil {
			s.r.Check(p.name, false, "could not run: "+err.Error())
		}
	}
	for _, k := range cases.Reset() {
		s.r.Add(k.Eval(class, kcov.OnNewThread))
	}
	s.r.Metrics("checks", o.Metrics)
	o.Evidence = s.r.Evidence
	check.AddFloor(o)
	o.Pass = s.r.OK()
	return nil
}

// work is the syscall every check repeats: stat("/dev/null"), a short path
// walk that takes the same PCs every time once the dentry cache is warm.
func work() {
	var st unix.Stat_t
	_ = unix.Stat("/dev/null", &st)
}

// tries is how often a count is taken; minOf keeps the least.
const tries = 3

// minOf returns the least of n results of f. Noise on the measuring thread
// (an interrupt's return path that reschedules) only ever adds records, so
// the minimum is the count of the syscall itself.
func minOf(n int, f func() uint64) uint64 {
	m := f()
	for range n - 1 {
		m = min(m, f())
	}
	return m
}
