//go:build linux

package main

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// traceRW: in trace mode a fast reset and KCOV_RESET_TRACE both let the
// same syscall record again.
func (s *run) traceRW() error {
	d, end, err := session(true, false)
	if err != nil {
		return err
	}
	defer end()
	first := minOf(tries, func() uint64 { d.ResetCount(); work(); return d.Count() })
	d.ResetCount()
	work()
	fast := d.Count()
	s.m["trace/first"], s.m["trace/fast_reset"] = float64(first), float64(fast)
	s.r.Check("trace mode, rw: trace[0]=0 then the same syscall", check.CameBack(fast, first),
		fmt.Sprintf("%d words, reference (least of %d) %d", fast, tries, first))
	if !s.class.Patched() {
		s.r.Skip("trace mode, rw: RESET_TRACE(0) then the same syscall", "no KCOV_RESET_TRACE on an unpatched kernel; its ENOTTY is a row below")
		return nil
	}
	s.resetTrace("trace mode, rw", "trace", d, first)
	return nil
}

// traceRO: through a read-only mapping the kernel's records show, and
// only KCOV_RESET_TRACE can reset (the fast reset is the child's job).
func (s *run) traceRO() error {
	d, end, err := session(false, false)
	if err != nil {
		return err
	}
	defer end()
	c1 := d.Count()
	one := minOf(tries, func() uint64 { before := d.Count(); work(); return d.Count() - before })
	s.m["trace_ro/first"], s.m["trace_ro/one_syscall"] = float64(c1), float64(one)
	s.r.Check("trace mode, ro: records show through a read-only mapping", c1 > 0 && one > 0,
		fmt.Sprintf("trace[0] %d after the first syscall, each repeat adds at least %d", c1, one))
	if !s.class.Patched() {
		s.r.Skip("trace mode, ro: RESET_TRACE(0) then the same syscall", "unpatched kernel: a read-only buffer cannot be reset at all")
		return nil
	}
	s.resetTrace("trace mode, ro", "trace_ro", d, one)
	return nil
}

// uniqueRW: with the bitmap kept, trace[0]=0 alone brings nothing back;
// zeroing the bitmap from the program or with KCOV_RESET_TRACE does.
func (s *run) uniqueRW() error {
	d, end, err := session(true, true)
	if err != nil {
		return err
	}
	defer end()
	full := minOf(tries, func() uint64 { d.FullReset(); work(); return d.Count() })
	bits := kcov.BitmapCount(d.Bitmap())
	countOnly := minOf(tries, func() uint64 { d.ResetCount(); work(); return d.Count() })
	d.FullReset()
	work()
	full2 := d.Count()
	s.m["unique/full_reset_first"], s.m["unique/bitmap_bits"] = float64(full), float64(bits)
	s.m["unique/count_only_reset"], s.m["unique/full_reset"] = float64(countOnly), float64(full2)
	s.r.Check("unique mode, rw: trace[0]=0 alone (bitmap kept) then the same syscall", full > 0 && check.NearZero(countOnly, full),
		fmt.Sprintf("%d words, after a full reset %d (near 0 = at most 10 %%)", countOnly, full))
	s.r.Check("unique mode, rw: bitmap and trace[0] zeroed by the program then the same syscall", check.CameBack(full2, full),
		fmt.Sprintf("%d words, first full reset %d", full2, full))
	s.resetTrace("unique mode, rw", "unique", d, full)
	return nil
}

// uniqueRO: through a read-only mapping, repeating the syscall adds
// nothing, and KCOV_RESET_TRACE is the one way to start over.
func (s *run) uniqueRO() error {
	d, end, err := session(false, true)
	if err != nil {
		return err
	}
	defer end()
	c1 := d.Count()
	added := minOf(tries, func() uint64 { before := d.Count(); work(); return d.Count() - before })
	s.m["unique_ro/first"], s.m["unique_ro/repeat_added"] = float64(c1), float64(added)
	s.r.Check("unique mode, ro: the same syscall again without a reset", c1 > 0 && check.NearZero(added, c1),
		fmt.Sprintf("a repeat added %d words (least of %d) to %d", added, tries, c1))
	s.resetTrace("unique mode, ro", "unique_ro", d, c1)
	return nil
}

// resetTrace issues KCOV_RESET_TRACE(0) from the owning thread, then the
// syscall. The reset must leave only its own tail (fewer words than before,
// no more bitmap bits than words) and the syscall must record again
// (check.CameBack against ref).
func (s *run) resetTrace(label, key string, d *kcov.Device, ref uint64) {
	before, bitsBefore := d.Count(), kcov.BitmapCount(d.Bitmap())
	err := d.ResetTrace(0)
	tail, bits := d.Count(), kcov.BitmapCount(d.Bitmap())
	work()
	after := d.Count()
	s.m[key+"/reset_trace_tail"], s.m[key+"/reset_trace"] = float64(tail), float64(after)
	name := label + ": RESET_TRACE(0) then the same syscall"
	if err != nil {
		s.r.Check(name, false, err.Error())
		return
	}
	ok := tail < before && uint64(bits) <= tail && check.CameBack(after, ref)
	s.r.Check(name, ok, fmt.Sprintf("trace[0] %d -> %d and bitmap bits %d -> %d at the reset, %d words after the syscall, reference %d",
		before, tail, bitsBefore, bits, after, ref))
}

// session opens a buffer mapped read-write or read-only, turns coverage on
// (unique mode with bitmapWords, else TRACE_PC) and runs the syscall once.
// end turns coverage off and closes the descriptor.
func session(writable, unique bool) (d *kcov.Device, end func(), err error) {
	d, err = kcov.OpenMapped(bufWords, writable)
	if err != nil {
		return nil, nil, err
	}
	if unique {
		err = d.EnableUnique(bitmapWords)
	} else {
		err = d.Enable(kcov.TracePC)
	}
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	work()
	return d, func() { d.Disable(); d.Close() }, nil
}
