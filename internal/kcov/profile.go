package kcov

import (
	"fmt"
	"slices"
)

// Capacity is how many PCs fit in a buffer of bufWords words once the
// bitmap (bitmapWords, 0 in trace mode) and the count word are taken out.
func Capacity(bufWords, bitmapWords int) int { return bufWords - bitmapWords - 1 }

// Profile sums up one decoded trace.
type Profile struct {
	// Count is trace[0] as the kernel left it.
	Count uint64
	// Records are the PCs actually in the buffer: min(Count, capacity).
	Records int
	// Distinct is how many different PCs were recorded.
	Distinct int
	// Repeats are records beyond the first of each PC: Records - Distinct.
	Repeats int
	// RepeatedPCs is how many different PCs were recorded more than once.
	RepeatedPCs int
	// Saturated is true when the kernel had no slot left.
	Saturated bool
}

// Analyze profiles a decoded trace.
func Analyze(tr Trace) Profile {
	seen := make(map[uint64]int, len(tr.PCs))
	for _, pc := range tr.PCs {
		seen[pc]++
	}
	p := Profile{Count: tr.Count, Records: len(tr.PCs), Distinct: len(seen), Saturated: tr.Saturated}
	p.Repeats = p.Records - p.Distinct
	for _, n := range seen {
		if n > 1 {
			p.RepeatedPCs++
		}
	}
	return p
}

// DupRatio is the share of records that repeat an earlier PC,
// 1 - distinct/records, and 0 for an empty trace.
func (p Profile) DupRatio() float64 {
	if p.Records == 0 {
		return 0
	}
	return 1 - float64(p.Distinct)/float64(p.Records)
}

// Truncate keeps the first n records of tr, as if the kernel had stopped at
// trace[0] = n; use it to drop what a later call (KCOV_DISABLE) appended.
func Truncate(tr Trace, n uint64, capacity int) Trace {
	out := Trace{Count: n, Saturated: n >= uint64(capacity)}
	out.PCs = tr.PCs[:min(n, uint64(len(tr.PCs)))]
	return out
}

// CheckDedup checks a unique-mode trace against its bitmap. In
// __sanitizer_cov_trace_pc_guard (kernel/kcov.c of the series) a PC whose
// guard index fits the bitmap sets its bit and is appended once; a PC whose
// index does not fit is appended every time. With the bitmap and trace[0]
// zeroed together before the interval and a trace that did not saturate,
// every set bit is therefore exactly one distinct recorded PC, so:
//   - bits set <= distinct PCs, and
//   - the PCs recorded more than once are among the distinct-bits PCs
//     that did not fit; when every PC fit (bits == distinct) none repeats.
//
// checked is false for a saturated trace, which cannot be judged that way.
func CheckDedup(p Profile, bitsSet int) (checked bool, err error) {
	if p.Saturated {
		return false, nil
	}
	if bitsSet > p.Distinct {
		return true, fmt.Errorf("bitmap has %d bits set but only %d distinct PCs were recorded", bitsSet, p.Distinct)
	}
	if unfit := p.Distinct - bitsSet; p.RepeatedPCs > unfit {
		return true, fmt.Errorf("%d PCs recorded more than once, but only %d recorded PCs can have a guard index beyond the bitmap", p.RepeatedPCs, unfit)
	}
	return true, nil
}

// CheckSlots checks a trace area (count word first) that was zeroed before
// coverage went on: trace[0] never exceeds the capacity, the slots below it
// are filled and the slots above it untouched. The kernel bumps trace[0]
// only when the slot exists (kcov_append_to_buffer: pos < size), so
// "saturated" (trace[0] == capacity) means exactly "the last slot is used".
func CheckSlots(area []uint64) error {
	if len(area) < 2 {
		return fmt.Errorf("trace area of %d words has no slot", len(area))
	}
	capacity := uint64(len(area) - 1)
	n := area[0]
	if n > capacity {
		return fmt.Errorf("trace[0]=%d exceeds the capacity of %d slots", n, capacity)
	}
	if i := slices.Index(area[1:1+n], 0); i >= 0 {
		return fmt.Errorf("slot %d is empty below trace[0]=%d", i+1, n)
	}
	if i := slices.IndexFunc(area[1+n:], func(v uint64) bool { return v != 0 }); i >= 0 {
		return fmt.Errorf("slot %d beyond trace[0]=%d was written", uint64(i)+n+1, n)
	}
	return nil
}

// Stats are the minimum, median and maximum of a series of word counts.
type Stats struct {
	N                int
	Min, Median, Max uint64
}

// Summarize computes Stats; the median of an even series is the mean of
// the two middle values, rounded down.
func Summarize(vals []uint64) Stats {
	if len(vals) == 0 {
		return Stats{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	st := Stats{N: len(s), Min: s[0], Max: s[len(s)-1], Median: s[len(s)/2]}
	if len(s)%2 == 0 {
		a, b := s[len(s)/2-1], s[len(s)/2]
		st.Median = a + (b-a)/2
	}
	return st
}
