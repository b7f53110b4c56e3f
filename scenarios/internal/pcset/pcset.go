// Package pcset holds kernel PCs the way guest scenarios compare them:
// sets as sorted slices without repeats, differences and unions, counts of
// how many samples held each PC ranked most first, and the hex form
// ("0xffffffff81234567") that the host replaces by "function+0xoff" from
// vmlinux when it reads evidence lines.
//
// Plain Go; tests: go test -short ./scenarios/internal/pcset/
package pcset

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Set is a set of PCs: ascending, no value twice. Build one with Of.
type Set []uint64

// Of returns the distinct values of pcs as a Set; pcs is not changed.
func Of(pcs []uint64) Set {
	s := slices.Clone(pcs)
	slices.Sort(s)
	return Set(slices.Compact(s))
}

// Has reports whether pc is in s.
func (s Set) Has(pc uint64) bool {
	_, ok := slices.BinarySearch(s, pc)
	return ok
}

// Equal reports whether s and t hold the same PCs.
func (s Set) Equal(t Set) bool { return slices.Equal(s, t) }

// Minus returns the PCs of s that are not in t.
func (s Set) Minus(t Set) Set {
	var out Set
	for _, pc := range s {
		if !t.Has(pc) {
			out = append(out, pc)
		}
	}
	return out
}

// Key is s as a string, usable as a map key: equal sets, equal keys.
func (s Set) Key() string {
	b := make([]byte, 0, len(s)*8)
	for _, pc := range s {
		b = binary.LittleEndian.AppendUint64(b, pc)
	}
	return string(b)
}

// Union returns every PC held by at least one of sets.
func Union(sets ...Set) Set {
	var all []uint64
	for _, s := range sets {
		all = append(all, s...)
	}
	return Of(all)
}

// Count is a PC and how many samples (runs, threads, records) held it.
type Count struct {
	PC uint64
	N  int
}

// Rank turns counts into a list, most first, ties in PC order.
func Rank(counts map[uint64]int) []Count {
	out := make([]Count, 0, len(counts))
	for pc, n := range counts {
		out = append(out, Count{pc, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return cmp.Compare(a.PC, b.PC)
	})
	return out
}

// Hex is pc as the host symbolizes it: 0x and 16 lowercase hex digits.
func Hex(pc uint64) string { return fmt.Sprintf("0x%016x", pc) }

// List is at most max PCs in Hex form separated by spaces, with
// " (+N more)" when some were left out.
func List(pcs []uint64, max int) string {
	n := min(len(pcs), max)
	parts := make([]string, 0, n+1)
	for _, pc := range pcs[:n] {
		parts = append(parts, Hex(pc))
	}
	if rest := len(pcs) - n; rest > 0 {
		parts = append(parts, fmt.Sprintf("(+%d more)", rest))
	}
	return strings.Join(parts, " ")
}
