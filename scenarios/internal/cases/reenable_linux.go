package cases

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// Reenable is the rows that enable an fd again after KCOV_DISABLE, which
// ends in kcov_reset() (kcov.c:483-494): mode back to INIT, trace back to
// the whole area, bitmap dropped. So the same fd can be enabled again in
// either mode, and a TRACE_PC session after a unique one counts at word 0.
func Reenable() []check.Case {
	return []check.Case{
		{Name: "ENABLE(TRACE_PC) again after DISABLE", Want: check.Everywhere(0), Run: afterDisable(0, false)},
		{Name: "UNIQUE_ENABLE(1024) after ENABLE(TRACE_PC), DISABLE", Want: check.UniqueEnable(0), Run: afterDisable(0, true)},
		{Name: "ENABLE(TRACE_PC) after UNIQUE_ENABLE, DISABLE", Want: check.OnlyUnique(0), SkipWhy: needUnique, Run: afterDisable(BitmapWords, false)},
		{Name: "UNIQUE_ENABLE(1024) again after UNIQUE_ENABLE, DISABLE", Want: check.OnlyUnique(0), SkipWhy: needUnique, Run: afterDisable(BitmapWords, true)},
	}
}

// afterDisable runs one session (TRACE_PC when first is 0, else unique
// mode), disables it, clears the buffer and probes the next enable. When
// the probe succeeds it checks the new session counts where its mode says:
// trace[0] at word 0 for TRACE_PC, at word BitmapWords for unique mode.
func afterDisable(first int, probeUnique bool) func() check.Got {
	return func() check.Got {
		d, err := enabled(first)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		syscalls(3)
		if err := d.Disable(); err != nil {
			return check.Got{Setup: err}
		}
		d.Clear()
		var g check.Got
		if probeUnique {
			g.Probe = d.EnableUnique(BitmapWords)
		} else {
			g.Probe = d.Enable(kcov.TracePC)
		}
		if g.Probe != nil {
			return g
		}
		syscalls(3)
		g.After = countsAt(d, probeUnique)
		if err := d.Disable(); err != nil && g.After == nil {
			g.After = err
		}
		return g
	}
}

// countsAt checks where the session's count word is: the words before it
// (the bitmap in unique mode) hold set bits only in unique mode, and the
// count itself is non-zero and below capacity.
func countsAt(d *kcov.Device, unique bool) error {
	buf := d.Buffer()
	word := 0
	if unique {
		word = BitmapWords
		if kcov.BitmapCount(buf[:BitmapWords]) == 0 {
			return fmt.Errorf("unique mode after DISABLE: bitmap empty after 3 syscalls")
		}
	}
	if n := buf[word]; n == 0 || n >= uint64(d.Capacity()) {
		return fmt.Errorf("trace[0] at word %d is %d after 3 syscalls", word, n)
	}
	return nil
}
