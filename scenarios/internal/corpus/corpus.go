// Package corpus generates the fixed corpus of small syscall programs the
// overflow scenario replays in trace mode and in unique mode: deterministic
// pseudo-random sequences of 1 to 5 operations drawn from a fixed set. The
// same seed gives the same corpus on every host and Go version (PCG).
// This package only describes programs; the guest program executes them.
// Tests: go test -short ./scenarios/internal/corpus/
package corpus

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Kind is one operation of a program.
type Kind int

// Operations. Size means bytes (PipeRW), pages (MmapMunmap) or the
// getdents64 buffer in bytes (Getdents); the others ignore it.
const (
	Getpid     Kind = iota // getpid()
	PipeRW                 // write Size bytes into a pipe and read them back
	OpenClose              // open("/dev/null") and close it
	Stat                   // stat() of a fixed path
	MmapMunmap             // mmap Size anonymous pages (MAP_POPULATE), munmap
	Getdents               // lseek(dir, 0) and one getdents64 of Size bytes
	numKinds
)

var kindNames = [numKinds]string{"getpid", "pipe_rw", "open_close", "stat", "mmap_munmap", "getdents"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Sizes each sized kind draws from.
var (
	PipeSizes     = []int{1, 512, 4096, 16384, 65536}
	MmapPages     = []int{1, 8, 64, 512}
	GetdentsSizes = []int{1024, 8192, 32768}
)

// MaxOps is the longest program.
const MaxOps = 5

// Op is one operation with its size.
type Op struct {
	Kind Kind
	Size int
}

func (o Op) String() string {
	switch o.Kind {
	case PipeRW, Getdents:
		return fmt.Sprintf("%s(%d)", o.Kind, o.Size)
	case MmapMunmap:
		return fmt.Sprintf("%s(%dp)", o.Kind, o.Size)
	}
	return o.Kind.String()
}

// Program is a sequence of operations run back to back.
type Program []Op

func (p Program) String() string {
	s := make([]string, len(p))
	for i, o := range p {
		s[i] = o.String()
	}
	return strings.Join(s, "; ")
}

// Generate returns n programs drawn from seed.
func Generate(n int, seed uint64) []Program {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]Program, n)
	for i := range out {
		p := make(Program, 1+r.IntN(MaxOps))
		for j := range p {
			p[j] = randomOp(r)
		}
		out[i] = p
	}
	return out
}

func randomOp(r *rand.Rand) Op {
	o := Op{Kind: Kind(r.IntN(int(numKinds)))}
	switch o.Kind {
	case PipeRW:
		o.Size = PipeSizes[r.IntN(len(PipeSizes))]
	case MmapMunmap:
		o.Size = MmapPages[r.IntN(len(MmapPages))]
	case Getdents:
		o.Size = GetdentsSizes[r.IntN(len(GetdentsSizes))]
	}
	return o
}
