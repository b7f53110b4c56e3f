package cases

import (
	"fmt"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// Reset is the rows of KCOV_RESET_TRACE (kcov.c:754-768), which checks,
// in this order:
//
//	756-757  arg != 0 || current->kcov != kcov  -> EINVAL (not enabled, other thread, after DISABLE)
//	759-760  WARN_ON(kcov->t != current)        -> EINVAL (unreachable from user space)
//	762-763  kcov->mode < KCOV_MODE_TRACE_PC    -> EINVAL
//
// then zeroes the bitmap (if any) and trace[0]. It is not behind
// CONFIG_KCOV_UNIQUE, so nounique kernels answer like unique ones.
func Reset() []check.Case {
	return []check.Case{
		{Name: "RESET_TRACE(1) on an enabled fd", Want: check.ResetTrace(syscall.EINVAL), Run: resetOwner(0, 1)},
		{Name: "RESET_TRACE(0) on a mapped fd that is not enabled", Want: check.ResetTrace(syscall.EINVAL), Run: resetAt(mapped)},
		{Name: "RESET_TRACE(0) before INIT_TRACE", Want: check.ResetTrace(syscall.EINVAL), Run: resetAt(opened)},
		{Name: "RESET_TRACE(0) after DISABLE", Want: check.ResetTrace(syscall.EINVAL), Run: resetAfterDisable},
		{Name: "RESET_TRACE(0) from another thread", Want: check.ResetTrace(syscall.EINVAL), Run: resetOtherThread(0)},
		{Name: "RESET_TRACE(0) from another thread in unique mode", Want: check.OnlyUnique(syscall.EINVAL), SkipWhy: needUnique, Run: resetOtherThread(BitmapWords)},
		{Name: "RESET_TRACE(0) on a TRACE_PC fd", Want: check.ResetTrace(0), Run: resetOwner(0, 0)},
		{Name: "RESET_TRACE(0) in unique mode", Want: check.OnlyUnique(0), SkipWhy: needUnique, Run: resetOwner(BitmapWords, 0)},
		{Name: "RESET_TRACE(1) in unique mode", Want: check.OnlyUnique(syscall.EINVAL), SkipWhy: needUnique, Run: resetOwner(BitmapWords, 1)},
	}
}

// resetAt probes KCOV_RESET_TRACE(0) on an fd set up to s, not enabled.
func resetAt(s stage) func() check.Got {
	return func() check.Got {
		d, err := open(s)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		return check.Got{Probe: d.ResetTrace(0)}
	}
}

func resetAfterDisable() check.Got {
	d, err := enabled(0)
	if err != nil {
		return check.Got{Setup: err}
	}
	defer d.Close()
	if err := d.Disable(); err != nil {
		return check.Got{Setup: err}
	}
	return check.Got{Probe: d.ResetTrace(0)}
}

// resetOwner probes KCOV_RESET_TRACE(arg) from the thread that enabled the
// fd (TRACE_PC when bitmap is 0). A reset that succeeds must leave only
// its own tail in the trace (fewer words than the 5 syscalls before it)
// and, in unique mode, no more bits than words; one that fails must leave
// trace[0] and the bitmap alone.
func resetOwner(bitmap int, arg uintptr) func() check.Got {
	return func() check.Got {
		d, err := enabled(bitmap)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		syscalls(5)
		count, bits := d.Count(), kcov.BitmapCount(d.Bitmap())
		g := check.Got{Probe: d.ResetTrace(arg)}
		tail, tailBits := d.Count(), kcov.BitmapCount(d.Bitmap())
		switch {
		case g.Probe == nil && (tail >= count || uint64(tailBits) > tail):
			g.After = fmt.Errorf("after the reset trace[0]=%d bits=%d, before %d/%d", tail, tailBits, count, bits)
		case g.Probe != nil && (tail < count || tailBits < bits):
			g.After = fmt.Errorf("failed reset changed trace[0] %d -> %d, bits %d -> %d", count, tail, bits, tailBits)
		}
		return g
	}
}

// resetOtherThread enables an fd on this thread (TRACE_PC when bitmap is
// 0) and probes KCOV_RESET_TRACE(0) from another one (current->kcov !=
// kcov); the owner's trace[0] and bitmap must be left alone.
func resetOtherThread(bitmap int) func() check.Got {
	return func() check.Got {
		d, err := enabled(bitmap)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		syscalls(5)
		count, bits := d.Count(), kcov.BitmapCount(d.Bitmap())
		var probe error
		kcov.OnNewThread(func() { probe = d.ResetTrace(0) })
		g := check.Got{Probe: probe}
		after, afterBits := d.Count(), kcov.BitmapCount(d.Bitmap())
		if after < count || afterBits < bits {
			g.After = fmt.Errorf("owner's trace[0] went %d -> %d, bits %d -> %d", count, after, bits, afterBits)
		}
		return g
	}
}
