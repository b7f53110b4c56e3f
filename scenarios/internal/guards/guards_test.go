package guards

import (
	"slices"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name     string
		s        Session
		dups     int
		judged   bool
		mismatch bool
		ok       bool
	}{
		{"clean", Session{kcov.Trace{Count: 3, PCs: []uint64{1, 2, 3}}, []uint64{0b1110}}, 0, true, false, true},
		{"repeat", Session{kcov.Trace{Count: 4, PCs: []uint64{1, 2, 1, 1}}, []uint64{0b110}}, 2, true, true, false},
		{"bit without record", Session{kcov.Trace{Count: 1, PCs: []uint64{1}}, []uint64{0b11}}, 0, true, true, false},
		{"record without bit", Session{kcov.Trace{Count: 2, PCs: []uint64{1, 2}}, []uint64{0b1}}, 0, true, true, false},
		{"saturated is not compared", Session{kcov.Trace{Count: 2, PCs: []uint64{1, 2}, Saturated: true}, []uint64{0b111}}, 0, false, false, true},
		{"more PCs than bitmap bits", Session{kcov.Trace{Count: 65, PCs: seq(65)}, []uint64{^uint64(0)}}, 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Judge(tt.s)
			if c.DupRecords != tt.dups || c.Judged != tt.judged || c.Mismatch != tt.mismatch || c.OK() != tt.ok {
				t.Errorf("Judge = %+v", c)
			}
		})
	}
	c := Judge(Session{kcov.Trace{Count: 6, PCs: []uint64{7, 5, 7, 5, 7, 9}}, []uint64{0, 1 << 3}})
	if want := []pcset.Count{{PC: 7, N: 3}, {PC: 5, N: 2}}; !slices.Equal(c.Dups, want) || c.Distinct != 3 || c.Bits != 1 || c.MaxBit != 67 {
		t.Errorf("Judge = %+v", c)
	}
}

func seq(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

func TestCompare(t *testing.T) {
	threads := []pcset.Set{{1, 2, 3, 8}, {1, 2, 3, 8, 9}, {1, 2}}
	d := Compare(threads, pcset.Set{1, 2, 3, 4})
	if !slices.Equal(d.Union, pcset.Set{1, 2, 3, 8, 9}) {
		t.Errorf("union %v", d.Union)
	}
	if want := []pcset.Count{{PC: 8, N: 2}, {PC: 9, N: 1}}; !slices.Equal(d.UnionMinusRef, want) {
		t.Errorf("union - ref %v", d.UnionMinusRef)
	}
	if !slices.Equal(d.RefMinusUnion, pcset.Set{4}) || d.Shared() != 1 {
		t.Errorf("ref - union %v, shared %d", d.RefMinusUnion, d.Shared())
	}
	if d := Compare(nil, nil); len(d.Union) != 0 || len(d.UnionMinusRef) != 0 || len(d.RefMinusUnion) != 0 {
		t.Errorf("empty compare %+v", d)
	}
}

func TestBitmapHelpers(t *testing.T) {
	bm := []uint64{1<<0 | 1<<5 | 1<<63, 0, 1<<1 | 1<<40}
	if got := MaxBit(bm); got != 168 {
		t.Errorf("MaxBit = %d", got)
	}
	if MaxBit([]uint64{0, 0}) != -1 || MaxBit(nil) != -1 {
		t.Error("MaxBit of an empty bitmap")
	}
	tests := []struct{ bit, want int }{
		{-1, 5}, {0, 4}, {5, 3}, {62, 3}, {63, 2}, {64, 2}, {129, 1}, {168, 0}, {1000, 0},
	}
	for _, tt := range tests {
		if got := BitsAbove(bm, tt.bit); got != tt.want {
			t.Errorf("BitsAbove(%d) = %d, want %d", tt.bit, got, tt.want)
		}
	}
	if got := Or([]uint64{1}, []uint64{2, 4}, nil); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("Or = %v", got)
	}
}
