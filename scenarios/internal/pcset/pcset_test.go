package pcset

import (
	"slices"
	"testing"
)

func TestSetOps(t *testing.T) {
	in := []uint64{5, 1, 5, 3, 1}
	s := Of(in)
	if !slices.Equal(s, Set{1, 3, 5}) {
		t.Fatalf("Of = %v", s)
	}
	if !slices.Equal(in, []uint64{5, 1, 5, 3, 1}) {
		t.Errorf("Of changed its input: %v", in)
	}
	if !s.Has(3) || s.Has(4) {
		t.Error("Has is wrong")
	}
	if got := s.Minus(Set{1, 4, 5}); !slices.Equal(got, Set{3}) {
		t.Errorf("Minus = %v", got)
	}
	if got := Union(Set{1, 9}, nil, Set{3, 9}); !slices.Equal(got, Set{1, 3, 9}) {
		t.Errorf("Union = %v", got)
	}
	if !s.Equal(Of([]uint64{3, 5, 1})) || s.Equal(Set{1, 3}) {
		t.Error("Equal is wrong")
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		a, b Set
		same bool
	}{
		{Set{1, 2}, Set{1, 2}, true},
		{Set{1, 2}, Set{1, 3}, false},
		{Set{1}, Set{1, 0x100}, false},
		{nil, Set{}, true},
		{nil, Set{0}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Key() == tt.b.Key(); got != tt.same {
			t.Errorf("Key(%v) == Key(%v): %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestRank(t *testing.T) {
	got := Rank(map[uint64]int{0x30: 2, 0x10: 5, 0x20: 2, 0x40: 9})
	want := []Count{{0x40, 9}, {0x10, 5}, {0x20, 2}, {0x30, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("Rank = %v, want %v", got, want)
	}
	if got := Rank(nil); len(got) != 0 {
		t.Errorf("Rank(nil) = %v", got)
	}
}

func TestHexAndList(t *testing.T) {
	if got := Hex(0xffffffff8123abcd); got != "0xffffffff8123abcd" {
		t.Errorf("Hex = %q", got)
	}
	if got := Hex(0x1f); got != "0x000000000000001f" {
		t.Errorf("Hex(0x1f) = %q", got)
	}
	pcs := []uint64{0xffffffff81000001, 0xffffffff81000002, 0xffffffff81000003}
	if got := List(pcs, 2); got != "0xffffffff81000001 0xffffffff81000002 (+1 more)" {
		t.Errorf("List = %q", got)
	}
	if got := List(pcs[:1], 5); got != "0xffffffff81000001" {
		t.Errorf("List = %q", got)
	}
	if got := List(nil, 5); got != "" {
		t.Errorf("List(nil) = %q", got)
	}
}
