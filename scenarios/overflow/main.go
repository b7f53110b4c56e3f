//go:build linux

// Command overflow measures how fast KCOV buffers fill, in trace mode and
// (unique kernels) in the series' unique mode with the same total buffer,
// a quarter of it given to the bitmap.
//
//   - A sweep of buffer sizes (1K, 4K, 16K, 64K words) over syscalls that
//     loop in the kernel: 1 MiB through a pipe, getdents64 over 2000 files
//     in /tmp, mmap+munmap of 512 populated pages, and read(-1) as the
//     baseline. Metrics per workload@size: trace_words, trace_saturated,
//     unique_pcs (distinct PCs), dup_ratio (1 - distinct/records), and in
//     unique mode unique_words, unique_saturated, unique_mode_pcs,
//     unique_dup_ratio, unique_repeats.
//   - A fixed corpus of 200 small syscall programs at 4096 words: how many
//     overflow in each mode (overflow_reduction_pct), beside the series'
//     headline.
//   - A one-word bitmap: PCs whose guard index does not fit must still be
//     recorded, possibly repeatedly.
//
// It passes iff trace-mode saturation is reported consistently (trace[0]
// never exceeds the capacity, the slots up to it are used and none beyond,
// and a workload that saturates a buffer saturates every smaller one),
// unique mode never repeats a PC whose guard index fits the bitmap (none
// at all when every PC fits), and the one-word bitmap still records, every hit of a PC whose guard
// index does not fit it (more distinct PCs than bits, and repeats).
package main

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

func main() { scenarios.Main("overflow", measure) }

// run is one execution of the scenario.
type run struct {
	class     check.Class
	r         check.Report
	m         map[string]float64
	saturated map[string][]bool      // trace mode, by workload, in sweepSizes order
	counts    map[string][][2]uint64 // trace mode: trace[0] and capacity, likewise
	slots     slotTally
	dedup     dedupTally
}

func measure(o *scenarios.Outcome, kernel string) error {
	class, err := check.Start(kernel)
	if err != nil {
		return err
	}
	e, err := newEnv()
	if err != nil {
		return err
	}
	defer e.Close()
	s := &run{class: class, m: o.Metrics, saturated: map[string][]bool{}, counts: map[string][][2]uint64{}}
	s.m["pipe_capacity"] = float64(e.pipeSize)
	parts := []struct {
		name   string
		unique bool
		fn     func(*env) error
	}{
		{"buffer-size sweep", false, s.sweep},
		{"corpus", false, s.corpus},
		{"bitmap too small", true, s.smallBitmap},
	}
	for _, p := range parts {
		if p.unique && class != check.Unique {
			s.r.Skip(p.name, "needs CONFIG_KCOV_UNIQUE; kernel is "+string(class))
			continue
		}
		var err error
		kcov.OnNewThread(func() { err = p.fn(e) })
		if err != nil {
			s.r.Check(p.name, false, "could not run: "+err.Error())
		}
	}
	s.summarize()
	s.r.Metrics("checks", o.Metrics)
	o.Evidence = s.r.Evidence
	check.AddFloor(o)
	o.Pass = s.r.OK()
	return nil
}

// summarize turns the tallies into verdicts.
func (s *run) summarize() {
	sl := s.slots
	detail := fmt.Sprintf("%d/%d trace-mode samples", sl.ok, sl.ok+sl.bad)
	if sl.first != "" {
		detail += "; first failure " + sl.first
	}
	s.r.Check("trace mode: trace[0] <= capacity, saturated <=> last slot used, nothing beyond trace[0]", sl.bad == 0 && sl.ok > 0, detail)
	if s.class != check.Unique {
		s.r.Skip("unique mode: no repeated PC among those whose guard index fits", "needs CONFIG_KCOV_UNIQUE; kernel is "+string(s.class))
		return
	}
	dt := s.dedup
	detail = fmt.Sprintf("%d samples judged, %d with every PC fitting the bitmap (so no repeat at all), %d not judged (saturated or taken while trace[0] moved)",
		dt.judged, dt.allFit, dt.unjudged)
	if dt.first != "" {
		detail += "; first failure " + dt.first
	}
	s.r.Check("unique mode: no repeated PC among those whose guard index fits the bitmap", dt.bad == 0 && dt.judged > 0, detail)
}
