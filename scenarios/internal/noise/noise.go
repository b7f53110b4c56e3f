// Package noise sorts the coverage of many runs of one cheap syscall into
// what the syscall always records and what leaks in from elsewhere. The
// most common PC set over all runs is the quiet set; a run whose set
// differs is noisy; PCs outside the quiet set ("extra" PCs: interrupt
// entry code that reaches instrumented functions while in_task() still
// holds, such as sched_clock() in arch/x86/kernel/tsc.c) are ranked by how
// many runs held them, per phase (e.g. idle and under CPU load). The
// irqnoise scenario measures the runs; this package only judges them.
//
// Plain Go; tests: go test -short ./scenarios/internal/noise/
package noise

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
)

// Run is one measured interval: the PCs it recorded, in trace order.
type Run []uint64

// Phase is the runs measured under one condition.
type Phase struct {
	Name string
	Runs []Run
}

// PCRuns is a PC and how many runs of each phase held it.
type PCRuns struct {
	PC   uint64
	Runs []int // by phase, in the order given to Analyze
}

// Total is the number of runs over all phases.
func (p PCRuns) Total() int {
	n := 0
	for _, r := range p.Runs {
		n += r
	}
	return n
}

// Example is one noisy run shown in full.
type Example struct {
	Phase string
	Index int // of the run within its phase, from 0
	Len   int // records in the run
	// Extra are the run's PCs outside the quiet set, in trace order,
	// each at its first occurrence.
	Extra []uint64
}

// Report is what Analyze found.
type Report struct {
	Phases []string
	Runs   []int // by phase
	// Quiet is the most common PC set over every run of every phase
	// (ties: the smaller set, then the lower PCs), QuietRuns how many runs
	// had exactly it and QuietTrace one of them in trace order.
	Quiet      pcset.Set
	QuietRuns  int
	QuietTrace Run
	// Noisy is, by phase, the runs whose PC set is not Quiet.
	Noisy []int
	// Extra are the PCs outside Quiet, in the most runs first.
	Extra []PCRuns
	// Missing are the Quiet PCs some runs lacked, in the most runs first.
	Missing []PCRuns
	// Example is the first noisy run that holds Extra[0]; nil without
	// extra PCs.
	Example *Example
}

// Analyze finds the quiet set of phases and sorts every run against it.
func Analyze(phases []Phase) Report {
	r := Report{Runs: make([]int, len(phases)), Noisy: make([]int, len(phases))}
	sets := make([][]pcset.Set, len(phases))
	count := map[string]int{}
	for i, ph := range phases {
		r.Phases = append(r.Phases, ph.Name)
		r.Runs[i] = len(ph.Runs)
		for _, run := range ph.Runs {
			s := pcset.Of(run)
			sets[i] = append(sets[i], s)
			count[s.Key()]++
		}
	}
	r.Quiet, r.QuietRuns = mostCommon(sets, count)
	quietKey := r.Quiet.Key()
	extra, missing := map[uint64][]int{}, map[uint64][]int{}
	bump := func(m map[uint64][]int, pc uint64, phase int) {
		if m[pc] == nil {
			m[pc] = make([]int, len(phases))
		}
		m[pc][phase]++
	}
	for i, ph := range phases {
		for j, s := range sets[i] {
			if s.Key() == quietKey {
				if r.QuietTrace == nil {
					r.QuietTrace = ph.Runs[j]
				}
				continue
			}
			r.Noisy[i]++
			for _, pc := range s.Minus(r.Quiet) {
				bump(extra, pc, i)
			}
			for _, pc := range r.Quiet.Minus(s) {
				bump(missing, pc, i)
			}
		}
	}
	r.Extra, r.Missing = rank(extra), rank(missing)
	if len(r.Extra) > 0 {
		r.Example = example(phases, sets, r.Quiet, r.Extra[0].PC)
	}
	return r
}

// mostCommon picks the set most runs had; ties go to the smaller set,
// then to the lower PCs, so the choice does not depend on map order.
func mostCommon(sets [][]pcset.Set, count map[string]int) (pcset.Set, int) {
	var best pcset.Set
	n := 0
	for _, phase := range sets {
		for _, s := range phase {
			c := count[s.Key()]
			if c > n || c == n && (len(s) < len(best) || len(s) == len(best) && slices.Compare(s, best) < 0) {
				best, n = s, c
			}
		}
	}
	return best, n
}

func rank(m map[uint64][]int) []PCRuns {
	out := make([]PCRuns, 0, len(m))
	for pc, runs := range m {
		out = append(out, PCRuns{pc, runs})
	}
	slices.SortFunc(out, func(a, b PCRuns) int {
		if c := cmp.Compare(b.Total(), a.Total()); c != 0 {
			return c
		}
		return cmp.Compare(a.PC, b.PC)
	})
	return out
}

func example(phases []Phase, sets [][]pcset.Set, quiet pcset.Set, pc uint64) *Example {
	for i, ph := range phases {
		for j, s := range sets[i] {
			if !s.Has(pc) {
				continue
			}
			run := ph.Runs[j]
			ex := &Example{Phase: ph.Name, Index: j, Len: len(run)}
			seen := map[uint64]bool{}
			for _, p := range run {
				if !quiet.Has(p) && !seen[p] {
					seen[p] = true
					ex.Extra = append(ex.Extra, p)
				}
			}
			return ex
		}
	}
	return nil
}

// DistinctExtra is how many extra PCs phase i (-1: any phase) had.
func (r Report) DistinctExtra(i int) int {
	if i < 0 {
		return len(r.Extra)
	}
	n := 0
	for _, e := range r.Extra {
		if e.Runs[i] > 0 {
			n++
		}
	}
	return n
}

// TotalNoisy is the number of noisy runs over all phases.
func (r Report) TotalNoisy() int {
	n := 0
	for _, v := range r.Noisy {
		n += v
	}
	return n
}

// PCLine is p as an evidence line, e.g.
// "0xffffffff81234567 in 57 runs (idle 2, loaded 55)".
func (r Report) PCLine(p PCRuns) string {
	parts := make([]string, len(p.Runs))
	for i, n := range p.Runs {
		parts[i] = fmt.Sprintf("%s %d", r.Phases[i], n)
	}
	return fmt.Sprintf("%s in %d runs (%s)", pcset.Hex(p.PC), p.Total(), strings.Join(parts, ", "))
}

// NoisyLine sums up the noisy runs per phase, e.g.
// "noisy runs: idle 3/3000 (0.10 %), loaded 412/3000 (13.73 %)".
func (r Report) NoisyLine() string {
	parts := make([]string, len(r.Noisy))
	for i, n := range r.Noisy {
		parts[i] = fmt.Sprintf("%s %d/%d (%.2f %%)", r.Phases[i], n, r.Runs[i], Pct(n, r.Runs[i]))
	}
	return "noisy runs: " + strings.Join(parts, ", ")
}

// Pct is n as a percentage of of, 0 when of is 0.
func Pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// Within reports whether n is at most maxPct percent of of.
func Within(n, of int, maxPct float64) bool { return float64(n)*100 <= maxPct*float64(of) }
