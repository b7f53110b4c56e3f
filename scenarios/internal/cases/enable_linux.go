package cases

import (
	"fmt"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// Line numbers are kernel/kcov.c after patches/v2 on the Debian 6.12 tree;
// with patches/v4 the same code sits one line earlier (two from
// KCOV_INIT_TRACE on). kcov_handle_unique_enable() checks, in this order:
//
//	689-690  !IS_ENABLED(CONFIG_KCOV_UNIQUE)          -> ENOTSUPP (before any state)
//	691-692  kcov->mode != INIT || !kcov->state.area  -> EINVAL
//	693-694  kcov->t != NULL || current->kcov != NULL -> EBUSY
//	700-701  bitmap_words == 0 || >= state.size - 1   -> EINVAL
//
// An unpatched 6.12 kernel answers ENOTTY from the default branch of
// kcov_ioctl_locked() (6.12 kcov.c:699; patched 839).

const needUnique = "needs a working KCOV_UNIQUE_ENABLE to set up"

// Enable is the state and bitmap-size rows of KCOV_UNIQUE_ENABLE.
func Enable() []check.Case {
	return []check.Case{
		// 691: mode is still DISABLED before KCOV_INIT_TRACE.
		{Name: "UNIQUE_ENABLE(1024) before INIT_TRACE", Want: check.UniqueEnable(syscall.EINVAL), Run: uniqueAt(opened, BitmapWords)},
		// 691 tests kcov->state.area, the vmalloc_user() buffer that
		// INIT_TRACE allocates (867, 876), not a user mapping: enabling
		// before mmap succeeds, exactly as KCOV_ENABLE does (737).
		// (shared/docs/prior-art.md reads 691 as "no mmapped buffer" and
		// expects EINVAL; no test in the code looks at the mapping.)
		{Name: "UNIQUE_ENABLE(1024) after INIT_TRACE, before mmap", Want: check.UniqueEnable(0), Run: uniqueAt(initialized, BitmapWords)},
		{Name: "ENABLE(TRACE_PC) after INIT_TRACE, before mmap", Want: check.Everywhere(0), Run: traceAt(initialized)},
		// 700: a zero-sized bitmap.
		{Name: "UNIQUE_ENABLE(0) after mmap", Want: check.UniqueEnable(syscall.EINVAL), Run: uniqueAt(mapped, 0)},
		// 700: the trace needs two words (count + one PC).
		{Name: "UNIQUE_ENABLE(4095 = size-1) after mmap", Want: check.UniqueEnable(syscall.EINVAL), Run: uniqueAt(mapped, BufWords-1)},
		{Name: "UNIQUE_ENABLE(4096 = size) after mmap", Want: check.UniqueEnable(syscall.EINVAL), Run: uniqueAt(mapped, BufWords)},
		{Name: "UNIQUE_ENABLE(1<<40) after mmap", Want: check.UniqueEnable(syscall.EINVAL), Run: uniqueAt(mapped, 1<<40)},
		// 700-706: size-2 is the largest legal bitmap; the trace is 2 words.
		{Name: "UNIQUE_ENABLE(4094 = size-2) after mmap", Want: check.UniqueEnable(0), Run: largestBitmap},
	}
}

// largestBitmap enables with BufWords-2 bitmap words and checks the trace
// has room for exactly one PC (kcov_append_to_buffer: pos < trace_size = 2).
func largestBitmap() check.Got {
	d, err := open(mapped)
	if err != nil {
		return check.Got{Setup: err}
	}
	defer d.Close()
	g := check.Got{Probe: d.EnableUnique(BufWords - 2)}
	if g.Probe != nil {
		return g
	}
	syscalls(3)
	if n := d.Count(); n != 1 {
		g.After = fmt.Errorf("trace[0]=%d after 3 syscalls, want 1 (one slot)", n)
	}
	if err := d.Disable(); err != nil && g.After == nil {
		g.After = err
	}
	return g
}

// Busy is the rows where the fd or the thread already has coverage on.
func Busy() []check.Case {
	return []check.Case{
		// 691 comes before 693: the fd is in UNIQUE_PC mode, not INIT, so a
		// second enable on the same fd is EINVAL, not EBUSY.
		{Name: "UNIQUE_ENABLE(1024) twice on one fd", Want: check.OnlyUnique(syscall.EINVAL), SkipWhy: needUnique, Run: sameFd(BitmapWords)},
		// 691 again: the fd is in TRACE_PC mode.
		{Name: "UNIQUE_ENABLE(1024) on a fd enabled in TRACE_PC", Want: check.UniqueEnable(syscall.EINVAL), Run: sameFd(0)},
		// 693: current->kcov is the first fd.
		{Name: "UNIQUE_ENABLE(1024) on a 2nd fd while this thread traces via a 1st", Want: check.UniqueEnable(syscall.EBUSY), Run: secondFd(0, true)},
		// 740-741 (KCOV_ENABLE): the same test against a unique-mode first fd.
		{Name: "ENABLE(TRACE_PC) on a 2nd fd while this thread is in unique mode via a 1st", Want: check.OnlyUnique(syscall.EBUSY), SkipWhy: needUnique, Run: secondFd(BitmapWords, false)},
		{Name: "ENABLE(TRACE_PC) on a 2nd fd while this thread traces via a 1st", Want: check.Everywhere(syscall.EBUSY), Run: secondFd(0, false)},
		// 691 before 693: kcov->t is set, but the mode test fires first.
		{Name: "UNIQUE_ENABLE(1024) from another thread on a fd this thread traces with", Want: check.UniqueEnable(syscall.EINVAL), Run: otherThreadEnable},
	}
}

// sameFd enables an fd (TRACE_PC when first is 0, else unique mode) and
// probes KCOV_UNIQUE_ENABLE on it again.
func sameFd(first int) func() check.Got {
	return func() check.Got {
		d, err := enabled(first)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		return check.Got{Probe: d.EnableUnique(BitmapWords)}
	}
}

// secondFd turns coverage on through one fd and probes an enable on a
// second, mapped fd from the same thread.
func secondFd(first int, probeUnique bool) func() check.Got {
	return func() check.Got {
		d1, err := enabled(first)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d1.Close()
		d2, err := open(mapped)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d2.Close()
		if probeUnique {
			return probeEnable(d2, func() error { return d2.EnableUnique(BitmapWords) })
		}
		return probeEnable(d2, func() error { return d2.Enable(kcov.TracePC) })
	}
}

func otherThreadEnable() check.Got {
	d, err := enabled(0)
	if err != nil {
		return check.Got{Setup: err}
	}
	defer d.Close()
	var probe error
	kcov.OnNewThread(func() { probe = d.EnableUnique(BitmapWords) })
	return check.Got{Probe: probe}
}
