//go:build linux

// Command unique checks KCOV_UNIQUE_ENABLE against what the kernel should
// answer: with the series but CONFIG_KCOV_UNIQUE=n it must fail with
// ENOTSUPP (524); on a kernel without the series with ENOTTY. On a
// CONFIG_KCOV_UNIQUE kernel it must succeed and deduplicate repeated work:
// the same loop of several syscalls (see work.go) is recorded twice in
// trace mode, where PCs repeat, and once in unique mode after
// KCOV_RESET_TRACE, where
//
//   - no PC is recorded twice,
//   - the bitmap has exactly one bit per record (every guard index fits),
//   - and no PC that both trace-mode runs recorded is missing (at most
//     lostAllowance of them: a slow path taken in both trace runs may
//     still be skipped once).
//
// It fails when the work did not repeat in trace mode (the check would
// prove nothing) and errors when it cannot measure. Code that only some
// sessions run would count as stable in both trace runs and as lost in
// unique mode, so each session starts on a fresh tick of the kernel's
// coarse clock (the pipe write's time update, see work.nextTick) and on a
// fresh time slice, its thread does not take the Go runtime's preemption
// signal, and a measurement in which the thread still slept (the runtime's
// futex hand-off) or was preempted is taken again (see measureOn).
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
)

const (
	bufWords    = 64 << 10
	bitmapWords = 4 << 10
	// rounds of the work loop per measurement.
	rounds = 20
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-probe" {
		os.Exit(probe())
	}
	scenarios.Main("unique", measure)
}

// probe prints the kernel class KCOV_UNIQUE_ENABLE's answer tells
// (unique, nounique or unpatched) for a kernel whose .config the host does
// not have (run --kernel-image); it exits 1 when it cannot tell.
func probe() int {
	var class string
	var perr error
	kcov.OnNewThread(func() {
		d, err := kcov.OpenMapped(bufWords, true)
		if err != nil {
			perr = err
			return
		}
		defer d.Close()
		err = d.EnableUnique(bitmapWords)
		switch errnoOf(err) {
		case 0:
			if err != nil {
				perr = err
				return
			}
			class = "unique"
			d.Disable()
		case kcov.ENOTSUPP:
			class = "nounique"
		case syscall.ENOTTY:
			class = "unpatched"
		default:
			perr = err
		}
	})
	if perr != nil {
		fmt.Fprintln(os.Stderr, "probe:", perr)
		return 1
	}
	fmt.Println(class)
	return 0
}

func measure(o *scenarios.Outcome, kernel string) error {
	want, ok := map[string]syscall.Errno{"unique": 0, "nounique": kcov.ENOTSUPP, "unpatched": syscall.ENOTTY}[kernel]
	if !ok {
		return fmt.Errorf("-kernel %q: want unique, nounique or unpatched", kernel)
	}
	w, err := newWork()
	if err != nil {
		return err
	}
	defer w.Close()
	var merr error
	kcov.OnNewThread(func() { merr = measureOn(o, kernel, want, w) })
	return merr
}

// attempts bounds how often the measurement is taken again when the thread
// gave up its CPU during a session.
const attempts = 3

// measureOn takes the measurement on a thread of its own with the Go
// runtime's preemption signal blocked (delivered in a session it would add
// the kernel's signal code to that session's trace only) and each session
// started on a fresh time slice. A session whose thread still gave up its
// CPU (the runtime made the locked thread yield, and it slept on a futex;
// the scheduler preempted it, and the return path restored the FPU) may
// hold code that is not the work's, only in that session: in both trace
// runs it would be counted as stable, and missing from unique mode, as
// lost. Such a measurement is taken again, up to attempts times; the last
// one is judged whatever it holds, and the metric attempts says how many
// were taken.
func measureOn(o *scenarios.Outcome, kernel string, want syscall.Errno, w *work) error {
	if err := kcov.BlockPreemptSignal(); err != nil {
		return err
	}
	if err := w.run(rounds); err != nil { // warm caches before anything is measured
		return err
	}
	var again []string // why earlier attempts were not judged
	for n := 1; ; n++ {
		*o = scenarios.Outcome{Scenario: o.Scenario, Metrics: map[string]float64{}}
		switched, err := measureOnce(o, kernel, want, w)
		o.Metrics["attempts"] = float64(n)
		if err != nil || switched == "" || n == attempts {
			if switched != "" {
				again = append(again, fmt.Sprintf("attempt %d of %d: %s; judged all the same, as the last attempt", n, attempts, switched))
			}
			// First: what failed comes last in the evidence (the mutation
			// suite shows the last line).
			o.Evidence = append(again, o.Evidence...)
			return err
		}
		again = append(again, fmt.Sprintf("attempt %d: %s; measured again", n, switched))
	}
}

// measureOnce takes the two trace-mode runs and the unique-mode run;
// switched names the first session whose thread gave up its CPU ("" when
// none did).
func measureOnce(o *scenarios.Outcome, kernel string, want syscall.Errno, w *work) (switched string, err error) {
	var traces [2]kcov.Trace
	if want == 0 {
		for i := range traces {
			tr, sw, err := traceMode(w)
			if err != nil {
				return "", fmt.Errorf("trace mode run %d: %w", i+1, err)
			}
			traces[i] = tr
			if switched == "" && sw != "" {
				switched = fmt.Sprintf("trace mode run %d: %s", i+1, sw)
			}
		}
	}
	d, err := kcov.OpenMapped(bufWords, true)
	if err != nil {
		return "", err
	}
	defer d.Close()
	err = d.EnableUnique(bitmapWords)
	got := errnoOf(err)
	o.Metrics["errno"] = float64(got)
	o.Evidence = append(o.Evidence, fmt.Sprintf("KCOV_UNIQUE_ENABLE(%d) on a %s kernel: %s, want %s", bitmapWords, kernel, errText(got), errText(want)))
	if err != nil && got == 0 {
		return "", err
	}
	if got != want {
		return "", nil
	}
	if got != 0 {
		o.Pass = true
		return "", nil
	}
	s := startSession(w) // before the reset: what waiting and yielding record is cleared
	if err := d.ResetTrace(0); err != nil {
		d.Disable()
		return "", fmt.Errorf("KCOV_RESET_TRACE after KCOV_UNIQUE_ENABLE: %w", err)
	}
	werr := w.run(rounds)
	// Bits and count first, with no allocation and so no syscall between
	// them: anything the Go runtime does in the kernel afterwards (the
	// snapshot allocates) sets bits and adds records that are not the work's.
	bits, count := settled(d)
	sw := s.end()
	u, err := d.Snapshot()
	u.Count, u.PCs = count, u.PCs[:min(uint64(len(u.PCs)), count)]
	if derr := d.Disable(); err == nil {
		err = derr
	}
	if err = errors.Join(werr, err); err != nil {
		return "", err
	}
	if switched == "" && sw != "" {
		switched = "unique mode run: " + sw
	}
	judge(o, traces, u, bits)
	return switched, nil
}

// session tells whether the thread gave up its CPU during a measured
// session.
type session struct{ vol, invol int64 }

// startSession starts a session on a fresh tick of the coarse clock (see
// work.nextTick) and then on a fresh time slice: a goroutine the runtime
// finds running for 10 ms is made to yield at its next call, and the work
// under TCG (or the wait for the tick) can take that long.
func startSession(w *work) session {
	w.nextTick()
	runtime.Gosched()
	v, i, _ := kcov.ContextSwitches()
	return session{v, i}
}

// end says how the thread gave up its CPU since start ("" if it did not).
func (s session) end() string {
	v, i, err := kcov.ContextSwitches()
	switch {
	case err != nil:
		return ""
	case v != s.vol && i != s.invol:
		return fmt.Sprintf("the thread slept %d and was preempted %d times", v-s.vol, i-s.invol)
	case v != s.vol:
		return fmt.Sprintf("the thread slept %d times (the Go runtime made it yield)", v-s.vol)
	case i != s.invol:
		return fmt.Sprintf("the thread was preempted %d times", i-s.invol)
	}
	return ""
}

// settled reads the bitmap's bit count and trace[0] as one snapshot: the
// count is read before and after the bits, and again until both reads
// agree, because the kernel may still record for this thread in between
// (a preemption signal from the Go runtime is delivered through
// instrumented code, which sets bits and adds records).
func settled(d *kcov.Device) (bits int, count uint64) {
	for range 100 {
		before := d.Count()
		bits = kcov.BitmapCount(d.Buffer()[:bitmapWords])
		if count = d.Count(); count == before {
			return bits, count
		}
	}
	return bits, count
}

// traceMode records the work once in trace mode on a device of its own;
// switched says whether the thread gave up its CPU during it.
func traceMode(w *work) (tr kcov.Trace, switched string, err error) {
	d, err := kcov.OpenMapped(bufWords, true)
	if err != nil {
		return kcov.Trace{}, "", err
	}
	defer d.Close()
	if err := d.Enable(kcov.TracePC); err != nil {
		return kcov.Trace{}, "", err
	}
	s := startSession(w) // before the reset: what waiting and yielding record is cleared
	d.ResetCount()
	werr := w.run(rounds)
	count := d.Count()
	switched = s.end()
	tr, err = d.Snapshot()
	tr.Count, tr.PCs = count, tr.PCs[:min(uint64(len(tr.PCs)), count)]
	if derr := d.Disable(); err == nil {
		err = derr
	}
	return tr, switched, errors.Join(werr, err)
}

// lostAllowance is how many PCs both trace runs recorded that unique mode
// may miss: max(3, 2% of them).
func lostAllowance(stable int) int { return max(3, stable/50) }

// judge applies the three checks to the two trace-mode runs and the
// unique-mode run (u, with bits set in its bitmap).
func judge(o *scenarios.Outcome, traces [2]kcov.Trace, u kcov.Trace, bits int) {
	t1, t2 := traces[0], traces[1]
	stable := intersect(kcov.Unique(t1.PCs), kcov.Unique(t2.PCs))
	have := map[uint64]bool{}
	for _, pc := range u.PCs {
		have[pc] = true
	}
	var lost []uint64
	for _, pc := range stable {
		if !have[pc] {
			lost = append(lost, pc)
		}
	}
	dups := len(u.PCs) - len(kcov.Unique(u.PCs))
	repeats := len(t1.PCs) - len(kcov.Unique(t1.PCs))
	m := o.Metrics
	m["pcs"] = float64(u.Count)
	m["duplicates"] = float64(dups)
	m["bitmap_bits"] = float64(bits)
	m["trace_records"] = float64(t1.Count)
	m["trace_repeats"] = float64(repeats)
	m["stable_pcs"] = float64(len(stable))
	m["lost_pcs"] = float64(len(lost))
	o.Evidence = append(o.Evidence, fmt.Sprintf("the same work, %d rounds: trace mode %d records (%d repeats), unique mode %d records, %d bitmap bits",
		rounds, t1.Count, repeats, u.Count, bits))
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		o.Evidence = append(o.Evidence, fmt.Sprintf(format, args...))
	}
	switch {
	case t1.Saturated || t2.Saturated || u.Saturated:
		fail("a buffer filled up (trace %v/%v, unique %v): the comparison is incomplete", t1.Saturated, t2.Saturated, u.Saturated)
	case repeats == 0:
		fail("the work repeated no PC in trace mode: dedup cannot be judged")
	case u.Count == 0:
		fail("unique mode recorded nothing")
	}
	if dups > 0 {
		fail("unique mode recorded %d PCs more than once", dups)
	}
	if uint64(bits) != u.Count {
		fail("bitmap bits %d != unique-mode records %d: every record must set exactly one new bit", bits, u.Count)
	}
	if n := len(lost); n > lostAllowance(len(stable)) {
		fail("unique mode lost %d of the %d PCs both trace-mode runs recorded (allowed %d): %s",
			n, len(stable), lostAllowance(len(stable)), hexList(lost, 8))
	}
	o.Pass = ok
}

func intersect(a, b []uint64) []uint64 {
	in := map[uint64]bool{}
	for _, pc := range b {
		in[pc] = true
	}
	var out []uint64
	for _, pc := range a {
		if in[pc] {
			out = append(out, pc)
		}
	}
	return out
}

func errnoOf(err error) syscall.Errno {
	var e *kcov.IoctlError
	if errors.As(err, &e) {
		return e.Errno
	}
	return 0
}

func errText(e syscall.Errno) string {
	switch e {
	case 0:
		return "success"
	case kcov.ENOTSUPP:
		return "ENOTSUPP (524)"
	}
	return fmt.Sprintf("%s (%d)", e.Error(), int(e))
}

// hexList prints up to n PCs as the host's symbolizer reads them.
func hexList(pcs []uint64, n int) string {
	s := ""
	for i, pc := range pcs {
		if i == n {
			return s + fmt.Sprintf(" ... (%d more)", len(pcs)-n)
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%#x", pc)
	}
	return s
}
