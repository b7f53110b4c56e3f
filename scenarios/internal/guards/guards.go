// Package guards judges the sessions of a guardrace trial. With
// CONFIG_KCOV_UNIQUE the kernel gives each coverage call site (guard) its
// bitmap index the first time the site runs with unique mode on, once per
// boot (init_pc_guard in the series' kernel/kcov.c: atomic_inc_return of
// kcov_guard_max_index, cmpxchg into the guard, the loser's index parked
// in a per-CPU slot). Several threads that reach the same fresh guards at
// once race there. Whatever the interleaving, each session must record
// every PC at most once, set exactly one bitmap bit per recorded PC, and
// all sessions together must cover what one thread covers alone.
//
// Plain Go; tests: go test -short ./scenarios/internal/guards/
package guards

import (
	"math/bits"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
)

// Session is one unique-mode session as the buffer held it after DISABLE.
type Session struct {
	Trace  kcov.Trace
	Bitmap []uint64
}

// Check is the verdict on one session.
type Check struct {
	Records  int // PCs in the trace
	Distinct int // different PCs among them
	Bits     int // bitmap bits set
	// MaxBit is the highest bitmap index set, -1 for none.
	MaxBit    int
	Saturated bool
	// Dups are the PCs recorded more than once, with their record counts,
	// most first; DupRecords the records beyond the first of each.
	Dups       []pcset.Count
	DupRecords int
	// Judged is true when bits and records can be compared: the trace
	// did not saturate (no bit set for a PC the kernel had no slot for)
	// and its distinct PCs fit the bitmap. Mismatch is then Bits != Records.
	Judged   bool
	Mismatch bool
}

// Judge checks one session. In unique mode a PC whose guard index fits
// the bitmap sets its bit and is appended only when the bit was clear, so
// with a buffer that started zeroed and nothing reset in between, every
// record has its own bit: no PC twice, bits set == records.
func Judge(s Session) Check {
	n := map[uint64]int{}
	for _, pc := range s.Trace.PCs {
		n[pc]++
	}
	c := Check{
		Records: len(s.Trace.PCs), Distinct: len(n), Bits: kcov.BitmapCount(s.Bitmap),
		MaxBit: MaxBit(s.Bitmap), Saturated: s.Trace.Saturated,
	}
	for pc, k := range n {
		if k == 1 {
			delete(n, pc)
			continue
		}
		c.DupRecords += k - 1
	}
	c.Dups = pcset.Rank(n)
	c.Judged = !c.Saturated && c.Distinct <= len(s.Bitmap)*64
	c.Mismatch = c.Judged && c.Bits != c.Records
	return c
}

// OK is true when no PC repeats and bits match records.
func (c Check) OK() bool { return c.DupRecords == 0 && !c.Mismatch }

// Diff compares the threads of a race with a reference session.
type Diff struct {
	// Union is every PC some thread recorded.
	Union pcset.Set
	// UnionMinusRef are the PCs of Union the reference lacks, with how many
	// threads recorded each, most first.
	UnionMinusRef []pcset.Count
	// RefMinusUnion are the reference's PCs no thread recorded.
	RefMinusUnion pcset.Set
}

// Compare sets the union of the threads' PCs against ref.
func Compare(threads []pcset.Set, ref pcset.Set) Diff {
	d := Diff{Union: pcset.Union(threads...)}
	held := map[uint64]int{}
	for _, t := range threads {
		for _, pc := range t.Minus(ref) {
			held[pc]++
		}
	}
	d.UnionMinusRef = pcset.Rank(held)
	d.RefMinusUnion = ref.Minus(d.Union)
	return d
}

// Shared is how many PCs of UnionMinusRef more than one thread recorded:
// those are not the one-off noise of a single thread (an interrupt, a
// contended lock's slow path).
func (d Diff) Shared() int {
	n := 0
	for _, c := range d.UnionMinusRef {
		if c.N > 1 {
			n++
		}
	}
	return n
}

// MaxBit is the highest set bit of bitmap, -1 when none is set.
func MaxBit(bitmap []uint64) int {
	for i := len(bitmap) - 1; i >= 0; i-- {
		if w := bitmap[i]; w != 0 {
			return i*64 + 63 - bits.LeadingZeros64(w)
		}
	}
	return -1
}

// BitsAbove counts the set bits of bitmap with an index above bit.
func BitsAbove(bitmap []uint64, bit int) int {
	n := 0
	for i, w := range bitmap {
		lo := i * 64
		if lo+63 <= bit {
			continue
		}
		if bit >= lo {
			w &^= (uint64(1) << (bit - lo + 1)) - 1 // bit-lo+1 is 1..63 here
		}
		n += bits.OnesCount64(w)
	}
	return n
}

// Or is the bitwise union of bitmaps, as long as the longest.
func Or(bitmaps ...[]uint64) []uint64 {
	var out []uint64
	for _, b := range bitmaps {
		if len(b) > len(out) {
			out = append(out, make([]uint64, len(b)-len(out))...)
		}
		for i, w := range b {
			out[i] |= w
		}
	}
	return out
}
