//go:build linux

package main

import (
	"fmt"
	"strings"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// sweepSizes are the buffer sizes in words; unique mode uses the same
// buffer with a quarter of it as the bitmap (bitmapFor).
var sweepSizes = []int{1 << 10, 4 << 10, 16 << 10, 64 << 10}

func bitmapFor(words int) int { return words / 4 }

// sample is one measured interval.
type sample struct {
	count    uint64       // trace[0] right after the workload
	capacity int          // trace slots of the session
	prof     kcov.Profile // of the first count records
	full     kcov.Profile // of everything up to DISABLE (what the bitmap covers)
	bits     int          // bitmap bits set, at DISABLE
	slotsErr error        // trace mode: kcov.CheckSlots at DISABLE
}

// measureOnce zeroes the buffer, enables coverage (TRACE_PC when bitmap is
// 0, else unique mode), runs w.prep, zeroes the buffer again from user
// space (so neither the ENABLE tail nor prep counts), runs w.run, reads
// trace[0], disables and looks at the buffer, which DISABLE leaves alone.
func measureOnce(d *kcov.Device, bitmap int, w workload) (sample, error) {
	d.Clear()
	if err := enable(d, bitmap); err != nil {
		return sample{}, err
	}
	var err error
	if w.prep != nil {
		err = w.prep()
	}
	d.Clear()
	if err == nil {
		err = w.run()
	}
	count := d.Count()
	if derr := d.Disable(); err == nil {
		err = derr
	}
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", w.name, err)
	}
	v, err := d.View()
	if err != nil {
		return sample{}, err
	}
	s := sample{count: count, capacity: d.Capacity(), bits: v.BitmapBits, full: kcov.Analyze(v.Trace)}
	s.prof = kcov.Analyze(kcov.Truncate(v.Trace, count, s.capacity))
	if bitmap == 0 {
		s.slotsErr = kcov.CheckSlots(d.Buffer())
	}
	return s, nil
}

func enable(d *kcov.Device, bitmap int) error {
	if bitmap == 0 {
		return d.Enable(kcov.TracePC)
	}
	return d.EnableUnique(bitmap)
}

// sweep measures every workload at every buffer size.
func (s *run) sweep(e *env) error {
	ws := e.workloads()
	for _, w := range ws { // warm caches, untraced
		var err error
		if w.prep != nil {
			err = w.prep()
		}
		if err == nil {
			err = w.run()
		}
		if err != nil {
			return fmt.Errorf("warm-up %s: %w", w.name, err)
		}
	}
	for _, words := range sweepSizes {
		if err := s.sweepSize(ws, words); err != nil {
			return fmt.Errorf("%d words: %w", words, err)
		}
	}
	s.checkMonotonic(ws)
	s.checkFilled(ws)
	return nil
}

// checkFilled: a workload that records more than a buffer holds (its
// count in the largest buffer says so) fills that buffer to its last slot:
// trace[0] equals the capacity, no less (a slot lost) and no more.
func (s *run) checkFilled(ws []workload) {
	ok, judged := true, 0
	var parts []string
	for _, w := range ws {
		c := s.counts[w.name]
		if len(c) < 2 {
			continue
		}
		largest := c[len(c)-1][0]
		for i, sc := range c[:len(c)-1] {
			count, capacity := sc[0], sc[1]
			if largest <= capacity {
				continue
			}
			judged++
			if count != capacity {
				ok = false
				parts = append(parts, fmt.Sprintf("%s@%d: trace[0]=%d, capacity %d (the workload records %d)", w.name, sweepSizes[i], count, capacity, largest))
			}
		}
	}
	detail := fmt.Sprintf("%d overflowing samples filled to capacity", judged)
	if !ok {
		detail = strings.Join(parts, "; ")
	}
	s.r.Check("trace mode: an overflowing workload fills the buffer to its last slot", ok && judged > 0, detail)
}

func (s *run) sweepSize(ws []workload, words int) error {
	d, err := kcov.OpenMapped(words, true)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, w := range ws {
		key := fmt.Sprintf("%s@%d", w.name, words)
		t, err := measureOnce(d, 0, w)
		if err != nil {
			return err
		}
		s.m["trace_words/"+key] = float64(t.count)
		s.m["trace_saturated/"+key] = check.Bool(t.prof.Saturated)
		s.m["unique_pcs/"+key] = float64(t.prof.Distinct)
		s.m["dup_ratio/"+key] = t.prof.DupRatio()
		s.slots.add(key, t)
		s.saturated[w.name] = append(s.saturated[w.name], t.prof.Saturated)
		s.counts[w.name] = append(s.counts[w.name], [2]uint64{t.count, uint64(t.capacity)})
		line := fmt.Sprintf("%s: trace %d/%d words%s, %d distinct PCs, dup ratio %.3f",
			key, t.count, t.capacity, satMark(t.prof.Saturated), t.prof.Distinct, t.prof.DupRatio())
		if s.class == check.Unique {
			u, err := measureOnce(d, bitmapFor(words), w)
			if err != nil {
				return err
			}
			s.m["unique_words/"+key] = float64(u.count)
			s.m["unique_saturated/"+key] = check.Bool(u.prof.Saturated)
			s.m["unique_repeats/"+key] = float64(u.prof.Repeats)
			s.m["unique_mode_pcs/"+key] = float64(u.prof.Distinct)
			s.m["unique_dup_ratio/"+key] = u.prof.DupRatio()
			s.dedup.add(key, u.full, u.bits, true)
			line += fmt.Sprintf("; unique (bitmap %d words) %d/%d words%s, %d repeats",
				bitmapFor(words), u.count, u.capacity, satMark(u.prof.Saturated), u.prof.Repeats)
		}
		s.r.Note("%s", line)
	}
	return nil
}

func satMark(sat bool) string {
	if sat {
		return " (saturated)"
	}
	return ""
}

// checkMonotonic: the kernel path of a workload does not depend on the
// buffer, so one that saturates a buffer saturates every smaller one.
func (s *run) checkMonotonic(ws []workload) {
	ok := true
	var parts []string
	for _, w := range ws {
		sat := s.saturated[w.name]
		var marks []string
		for i, v := range sat {
			mark := "-"
			if v {
				mark = "S"
			}
			marks = append(marks, fmt.Sprintf("%d:%s", sweepSizes[i], mark))
			if v && i > 0 && !sat[i-1] {
				ok = false
			}
		}
		parts = append(parts, w.name+" "+strings.Join(marks, " "))
	}
	s.r.Check("trace mode: a workload that saturates a buffer saturates every smaller one", ok, strings.Join(parts, "; "))
}

// slotTally sums kcov.CheckSlots over the trace-mode samples.
type slotTally struct {
	ok, bad int
	first   string
}

func (t *slotTally) add(key string, s sample) {
	if s.slotsErr == nil {
		t.ok++
		return
	}
	if t.bad++; t.first == "" {
		t.first = key + ": " + s.slotsErr.Error()
	}
}

// dedupTally sums kcov.CheckDedup over unique-mode samples.
type dedupTally struct {
	judged, allFit, unjudged, bad int
	first                         string
}

func (t *dedupTally) add(key string, p kcov.Profile, bits int, stable bool) {
	if !stable {
		t.unjudged++
		return
	}
	checked, err := kcov.CheckDedup(p, bits)
	switch {
	case !checked:
		t.unjudged++
	case err != nil:
		t.judged++
		if t.bad++; t.first == "" {
			t.first = key + ": " + err.Error()
		}
	default:
		t.judged++
		if bits == p.Distinct {
			t.allFit++
		}
	}
}
