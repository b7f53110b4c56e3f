package corpus

import (
	"slices"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(200, 42), Generate(200, 42)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("program %d differs: %v vs %v", i, a[i], b[i])
		}
	}
	c := Generate(200, 43)
	same := 0
	for i := range a {
		if slices.Equal(a[i], c[i]) {
			same++
		}
	}
	if same == len(a) {
		t.Error("another seed gave the same corpus")
	}
}

func TestGenerateShape(t *testing.T) {
	seen := map[Kind]bool{}
	for _, p := range Generate(200, 7) {
		if len(p) < 1 || len(p) > MaxOps {
			t.Fatalf("program of %d ops: %v", len(p), p)
		}
		for _, o := range p {
			seen[o.Kind] = true
			var allowed []int
			switch o.Kind {
			case PipeRW:
				allowed = PipeSizes
			case MmapMunmap:
				allowed = MmapPages
			case Getdents:
				allowed = GetdentsSizes
			default:
				if o.Size != 0 {
					t.Errorf("%v has a size", o)
				}
				continue
			}
			if !slices.Contains(allowed, o.Size) {
				t.Errorf("%v: size not in %v", o, allowed)
			}
		}
	}
	if len(seen) != int(numKinds) {
		t.Errorf("200 programs used only %d of %d kinds", len(seen), numKinds)
	}
}

func TestString(t *testing.T) {
	p := Program{{Kind: Getpid}, {Kind: PipeRW, Size: 4096}, {Kind: MmapMunmap, Size: 8}, {Kind: Getdents, Size: 1024}, {Kind: Stat}, {Kind: OpenClose}}
	want := "getpid; pipe_rw(4096); mmap_munmap(8p); getdents(1024); stat; open_close"
	if got := p.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := Kind(99).String(); got != "kind(99)" {
		t.Errorf("Kind(99) = %q", got)
	}
}
