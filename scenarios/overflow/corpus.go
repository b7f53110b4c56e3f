//go:build linux

package main

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
	"github.com/kcovlab/kcovlab/scenarios/internal/corpus"
)

// The corpus: corpusN programs from corpusSeed, replayed with one buffer
// of corpusWords words; unique mode gives a quarter of it to the bitmap.
const (
	corpusN     = 200
	corpusSeed  = 0x6b636f76 // "kcov"
	corpusWords = 4 << 10
)

// The series' headline (syz-testbed, 10 instances x 24 h).
const headline = "225288 -> 986 overflows (-99.6 %)"

// corpusResult is one replay of the corpus in one mode.
type corpusResult struct {
	overflows int    // programs whose trace saturated
	words     uint64 // sum of trace[0] over the programs
}

// replay runs every program with coverage on (TRACE_PC when bitmap is 0)
// and a full reset from user space before each (trace[0], and the bitmap
// in unique mode), as a fuzzer does between programs.
func (s *run) replay(e *env, progs []corpus.Program, bitmap int) (corpusResult, error) {
	var res corpusResult
	d, err := kcov.OpenMapped(corpusWords, true)
	if err != nil {
		return res, err
	}
	defer d.Close()
	d.Clear()
	if err := enable(d, bitmap); err != nil {
		return res, err
	}
	defer d.Disable()
	for i, p := range progs {
		d.FullReset()
		if err := e.exec(p); err != nil {
			return res, fmt.Errorf("program %d (%s): %w", i, p, err)
		}
		v, err := d.View()
		if err != nil {
			return res, err
		}
		res.words += v.Trace.Count
		if v.Trace.Saturated {
			res.overflows++
		}
		if bitmap > 0 {
			s.dedup.add(fmt.Sprintf("corpus program %d", i), kcov.Analyze(v.Trace), v.BitmapBits, v.Stable)
		}
	}
	return res, nil
}

// corpus replays the corpus in trace mode and, on unique kernels, in
// unique mode, and compares the overflow counts.
func (s *run) corpus(e *env) error {
	progs := corpus.Generate(corpusN, corpusSeed)
	for i, p := range progs { // warm caches, untraced
		if err := e.exec(p); err != nil {
			return fmt.Errorf("warm-up program %d (%s): %w", i, p, err)
		}
	}
	tr, err := s.replay(e, progs, 0)
	if err != nil {
		return fmt.Errorf("trace mode: %w", err)
	}
	key := fmt.Sprintf("@%d", corpusWords)
	s.m["corpus_programs"] = corpusN
	s.m["corpus_overflows/trace"+key] = float64(tr.overflows)
	s.m["corpus_words/trace"+key] = float64(tr.words)
	intro := fmt.Sprintf("corpus of %d programs (seed %#x, 1-5 syscalls each) at %d words", corpusN, corpusSeed, corpusWords)
	if s.class != check.Unique {
		s.r.Note("%s: trace mode %d overflows (capacity %d); unique mode needs CONFIG_KCOV_UNIQUE; series headline %s",
			intro, tr.overflows, kcov.Capacity(corpusWords, 0), headline)
		return nil
	}
	bitmap := bitmapFor(corpusWords)
	un, err := s.replay(e, progs, bitmap)
	if err != nil {
		return fmt.Errorf("unique mode: %w", err)
	}
	s.m["corpus_overflows/unique"+key] = float64(un.overflows)
	s.m["corpus_words/unique"+key] = float64(un.words)
	change := "no overflow in trace mode, no ratio"
	if pct, ok := check.ReductionPct(tr.overflows, un.overflows); ok {
		s.m["overflow_reduction_pct"] = pct
		change = fmt.Sprintf("%+.1f %%", -pct)
	}
	s.r.Note("%s: overflows trace %d (capacity %d) -> unique %d (bitmap %d words, capacity %d): %s; series headline %s",
		intro, tr.overflows, kcov.Capacity(corpusWords, 0), un.overflows, bitmap, kcov.Capacity(corpusWords, bitmap), change, headline)
	return nil
}

// smallBitmap: with a one-word bitmap only guard indices 1..63 fit; every
// other PC bypasses deduplication and is appended each time it runs
// (kcov.c:278-288), so coverage is still recorded, with repeats.
func (s *run) smallBitmap(e *env) error {
	d, err := kcov.OpenMapped(corpusWords, true)
	if err != nil {
		return err
	}
	defer d.Close()
	w := workload{name: "stat+pipe_4k", run: func() error {
		if err := e.op(corpus.Op{Kind: corpus.Stat}); err != nil {
			return err
		}
		return e.pipeRW(4096)
	}}
	sm, err := measureOnce(d, 1, w)
	if err != nil {
		return err
	}
	p := sm.prof
	s.m["small_bitmap/words"], s.m["small_bitmap/distinct"] = float64(sm.count), float64(p.Distinct)
	s.m["small_bitmap/repeats"], s.m["small_bitmap/repeated_pcs"] = float64(p.Repeats), float64(p.RepeatedPCs)
	s.m["small_bitmap/bits_set"] = float64(sm.bits)
	s.r.Check("bitmap too small (1 word: guard indices 1..63 fit): coverage still recorded", sm.count > 0,
		fmt.Sprintf("%s: %d words, %d distinct PCs, %d repeats over %d PCs, %d bitmap bits set",
			w.name, sm.count, p.Distinct, p.Repeats, p.RepeatedPCs, sm.bits))
	// Guard indices past 63 do not fit: those PCs must be recorded at
	// every hit, so the trace holds more distinct PCs than the bitmap has
	// bits, and repeats. (The workload touches far more than 63 PCs, and
	// only the first 63 guards of a boot get indices that fit.)
	s.r.Check("bitmap too small: PCs whose index does not fit are recorded, repeatedly", p.Distinct > sm.bits && p.Repeats > 0,
		fmt.Sprintf("%d distinct PCs recorded against %d bitmap bits, %d repeats", p.Distinct, sm.bits, p.Repeats))
	s.dedup.add("bitmap too small", sm.full, sm.bits, true)
	return nil
}
