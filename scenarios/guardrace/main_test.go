//go:build linux

package main

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/guards"
)

// sess is a session that ran: pcs recorded, bits set in a 2-word bitmap.
func sess(start int, pcs []uint64, bits ...int) session {
	bm := make([]uint64, 2)
	for _, b := range bits {
		bm[b/64] |= 1 << (b % 64)
	}
	t0 := time.Unix(0, 0)
	return session{
		Session: guards.Session{Trace: kcov.Trace{Count: uint64(len(pcs)), PCs: pcs}, Bitmap: bm},
		errnos:  make([]syscall.Errno, len(pathOps)),
		start:   t0.Add(time.Duration(start) * time.Microsecond), end: t0.Add(time.Duration(start+100) * time.Microsecond),
	}
}

// asleep is s as the session of a thread that slept (the Go runtime
// handed it off).
func asleep(s session) session {
	s.slept = 1
	return s
}

// failedOp is s with its first op failed (EPERM).
func failedOp(s session) session {
	s.errnos[0] = syscall.EPERM
	return s
}

func TestJudge(t *testing.T) {
	probe := sess(0, []uint64{0xffffffff81000001}, 3)
	ref := sess(0, []uint64{1, 2, 3}, 10, 11, 12)
	tests := []struct {
		name     string
		race     []session
		refs     []session // the reference sessions, one of ref if nil
		pass     bool
		metrics  map[string]float64
		evidence []string
		pcs      map[string][]uint64 // what the host is given to judge (c)
	}{
		{
			name: "clean race",
			race: []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), sess(10, []uint64{1, 2, 3, 9}, 10, 11, 12, 13)},
			pass: true,
			metrics: map[string]float64{"dup_records": 0, "bitmap_mismatch_threads": 0, "union_minus_ref": 1, "union_minus_ref_shared": 0,
				"ref_minus_union": 0, "pcs_total": 4, "pcs_ref": 3, "bits_union": 4, "bits_above_probe": 4, "probe_max_bit": 3, "overlap": 1, "cpus_used": 1},
			evidence: []string{"union - ref: 0x0000000000000009 in 1 threads", "all on at one moment"},
			pcs:      map[string][]uint64{"union_minus_ref": {9}, "ref_minus_union": nil, "ref_minus_thread/0": {}, "ref_minus_thread/1": {}},
		},
		{
			// The race's usual symptom: one thread records a PC, the other
			// loses it; the union is complete, so only the per-thread list
			// shows the loss (the host judges it).
			name:     "one thread loses a PC another recorded",
			race:     []session{sess(0, []uint64{1, 3}, 10, 12), sess(10, []uint64{1, 2, 3}, 10, 11, 12)},
			pass:     true,
			metrics:  map[string]float64{"ref_minus_union": 0, "ref_minus_thread_max": 1, "ref_minus_thread_sum": 1},
			evidence: []string{"ref - thread 0: 1 PCs: 0x0000000000000002", "ref - thread: at most 1"},
			pcs:      map[string][]uint64{"ref_minus_union": nil, "ref_minus_thread/0": {2}, "ref_minus_thread/1": {}},
		},
		{
			name:    "repeated PC and a lost bit",
			race:    []session{sess(0, []uint64{1, 2, 1}, 10, 11), sess(500, []uint64{1, 2}, 10, 11)},
			metrics: map[string]float64{"dup_records": 1, "dup_pcs": 1, "bitmap_mismatch_threads": 1, "ref_minus_union": 1, "overlap": 0},
			evidence: []string{"thread 0: 0x0000000000000001 recorded 2 times", "ref - union: 0x0000000000000003",
				"thread 0: no PC recorded twice, bitmap bits set == records: cpu 0->0, 100 us: 3 records, 2 distinct, 1 repeated records, 2 bits set, highest index 11 FAIL",
				"may not have raced"},
			pcs: map[string][]uint64{"union_minus_ref": nil, "ref_minus_union": {3}, "ref_minus_thread/0": {3}, "ref_minus_thread/1": {3}},
		},
		{
			name:     "a PC recorded twice fails, bits matching records",
			race:     []session{sess(0, []uint64{1, 2, 3, 1}, 10, 11, 12, 13), sess(10, []uint64{1, 2, 3}, 10, 11, 12)},
			metrics:  map[string]float64{"dup_records": 1, "dup_pcs": 1, "bitmap_mismatch_threads": 0},
			evidence: []string{"thread 0: no PC recorded twice, bitmap bits set == records: cpu 0->0, 100 us: 4 records, 3 distinct, 1 repeated records, 4 bits set, highest index 13 FAIL"},
		},
		{
			name:     "bitmap bits != records fails, no PC repeated",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), sess(10, []uint64{1, 2, 3}, 10, 11)},
			metrics:  map[string]float64{"dup_records": 0, "bitmap_mismatch_threads": 1},
			evidence: []string{"thread 1: no PC recorded twice, bitmap bits set == records: cpu 0->0, 100 us: 3 records, 3 distinct, 0 repeated records, 2 bits set, highest index 11 FAIL"},
		},
		{
			name:     "the reference's bits != records fails",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12)},
			refs:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12, 13)},
			metrics:  map[string]float64{"ref_bitmap_mismatch": 1},
			evidence: []string{"reference 0: no PC recorded twice, bitmap bits set == records: cpu 0->0, 100 us: 3 records, 3 distinct, 0 repeated records, 4 bits set, highest index 13 FAIL"},
		},
		{
			// The host cannot judge (c) then: it makes the trial an error.
			name:     "a thread's op results differ from the reference's",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), failedOp(sess(10, []uint64{1, 2}, 10, 11))},
			pass:     true,
			metrics:  map[string]float64{"op_results_differ": 1},
			evidence: []string{"thread 1 op results differ: statx EPERM"},
		},
		{
			// A PC one reference recorded and another did not is not the
			// ops' deterministic coverage: a thread without it lost nothing.
			name:     "a PC only some references recorded is not judged",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), sess(10, []uint64{1, 2, 3, 7}, 10, 11, 12, 13)},
			refs:     []session{ref, sess(0, []uint64{1, 2, 3, 7, 8}, 10, 11, 12, 13, 14), ref},
			pass:     true,
			metrics:  map[string]float64{"ref_unstable": 2, "pcs_ref": 3, "ref_minus_thread_max": 0, "union_minus_ref": 0, "op_results_differ": 0},
			evidence: []string{"references: 3 PCs in every one, 2 in some only"},
			pcs: map[string][]uint64{"ref_unstable": {7, 8}, "ref_minus_thread/0": {}, "ref_minus_thread/1": {},
				"union_minus_ref": nil, "ref_minus_union": nil},
		},
		{
			name:     "a stable PC one thread lacks is its loss",
			race:     []session{sess(0, []uint64{1, 2}, 10, 11), sess(10, []uint64{1, 2, 3}, 10, 11, 12)},
			refs:     []session{ref, ref, sess(0, []uint64{1, 2, 3, 8}, 10, 11, 12, 13)},
			pass:     true,
			metrics:  map[string]float64{"ref_unstable": 1, "ref_minus_thread_max": 1},
			pcs:      map[string][]uint64{"ref_unstable": {8}, "ref_minus_thread/0": {3}, "ref_minus_thread/1": {}},
			evidence: []string{"ref - thread 0: 1 PCs: 0x0000000000000003"},
		},
		{
			name:     "a reference's op results differ",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), sess(10, []uint64{1, 2, 3}, 10, 11, 12)},
			refs:     []session{ref, failedOp(sess(0, []uint64{1, 2}, 10, 11))},
			pass:     true,
			metrics:  map[string]float64{"op_results_differ": 1},
			evidence: []string{"reference 1 op results differ: statx EPERM"},
		},
		{
			name:     "a reference that did not run fails the trial",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12)},
			refs:     []session{ref, {err: errors.New("kcov UNIQUE_ENABLE(16384): device or resource busy")}},
			evidence: []string{"reference 1: session ran: kcov UNIQUE_ENABLE(16384): device or resource busy FAIL"},
		},
		{
			name: "an extra PC every thread recorded is judged",
			race: []session{sess(0, []uint64{1, 2, 3, 9}, 10, 11, 12, 13), sess(10, []uint64{1, 2, 3, 9}, 10, 11, 12, 13)},
			pass: true,
			pcs:  map[string][]uint64{"union_minus_ref_every_thread": {9}, "union_minus_ref": {9}, "ref_minus_thread/0": {}, "ref_minus_thread/1": {}},
		},
		{
			// Its extra PCs include the Go runtime's: the others decide
			// what every thread recorded, when two or more are left.
			name:    "a thread that slept is left out of the extra PCs every thread recorded",
			race:    []session{asleep(sess(0, []uint64{1, 2, 3, 8}, 10, 11, 12, 13)), sess(10, []uint64{1, 2, 3, 9}, 10, 11, 12, 13), sess(10, []uint64{1, 2, 3, 9}, 10, 11, 12, 13)},
			pass:    true,
			metrics: map[string]float64{"threads_slept": 1},
			pcs: map[string][]uint64{"union_minus_ref_every_thread": {9}, "union_minus_ref": {9, 8},
				"ref_minus_thread/0": {}, "ref_minus_thread/1": {}, "ref_minus_thread/2": {}},
			evidence: []string{"thread 0: slept in its session (1 voluntary context switches)"},
		},
		{
			name:     "fewer than two threads that did not sleep: the extra PCs every thread recorded are not judged",
			race:     []session{asleep(sess(0, []uint64{1, 2, 3, 9}, 10, 11, 12, 13)), sess(10, []uint64{1, 2, 9}, 10, 11, 13)},
			pass:     true,
			metrics:  map[string]float64{"threads_slept": 1, "every_thread_unjudged": 1},
			pcs:      map[string][]uint64{"union_minus_ref_every_thread": nil, "ref_minus_thread/0": {}, "ref_minus_thread/1": {3}},
			evidence: []string{"extra PCs every thread recorded: not judged: 1 of 2 threads slept in their session"},
		},
		{
			name:     "a thread that did not run fails the trial",
			race:     []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12), {err: errors.New("kcov UNIQUE_ENABLE(16384): device or resource busy")}},
			metrics:  map[string]float64{"threads_failed": 1},
			evidence: []string{"thread 1: session ran: kcov UNIQUE_ENABLE(16384): device or resource busy FAIL"},
			pcs:      map[string][]uint64{"ref_minus_thread/0": {}},
		},
		{
			name:    "reference repeats",
			race:    []session{sess(0, []uint64{1, 2, 3}, 10, 11, 12)},
			refs:    []session{ref, sess(0, []uint64{1, 2, 3, 3}, 10, 11, 12)},
			metrics: map[string]float64{"ref_dup_records": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &trial{m: map[string]float64{}, n: len(tt.race), pcs: map[string][]uint64{}}
			refs := tt.refs
			if refs == nil {
				refs = []session{ref}
			}
			tr.judge(probe, tt.race, refs)
			all := strings.Join(tr.r.Evidence, "\n")
			if tr.r.OK() != tt.pass {
				t.Errorf("pass = %v, want %v:\n%s", tr.r.OK(), tt.pass, all)
			}
			for k, v := range tt.metrics {
				if got, ok := tr.m[k]; !ok || got != v {
					t.Errorf("metric %s = %v (present %v), want %v", k, got, ok, v)
				}
			}
			for k, want := range tt.pcs {
				got, ok := tr.pcs[k]
				if !slices.Equal(got, want) || strings.HasPrefix(k, refMinusThread) && (!ok || got == nil) {
					t.Errorf("pcs[%s] = %#v (present %v), want %#v", k, got, ok, want)
				}
			}
			if tt.pcs != nil {
				for k := range tr.pcs {
					if _, ok := tt.pcs[k]; strings.HasPrefix(k, refMinusThread) && !ok {
						t.Errorf("pcs[%s] sent for a thread that did not run", k)
					}
				}
			}
			for _, want := range tt.evidence {
				if !strings.Contains(all, want) {
					t.Errorf("evidence lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

// TestOpsRepeat runs the path set on this host, twice on one thread: the
// ops must give the same results each time (the race compares threads).
func TestOpsRepeat(t *testing.T) {
	kcov.OnNewThread(func() {
		s := newScratch(len(pathOps))
		runOps(pathOps, s)
		first := slices.Clone(s.errnos)
		runOps(pathOps, s)
		if !slices.Equal(first, s.errnos) {
			t.Errorf("ops differ between passes:\n%s\n%s", opResults(pathOps, first), opResults(pathOps, s.errnos))
		}
		t.Logf("ops on this host: %s", opResults(pathOps, s.errnos))
		ps := newScratch(len(probeOps))
		runOps(probeOps, ps)
		t.Logf("probe ops: %s", opResults(probeOps, ps.errnos))
	})
}

func TestBarrier(t *testing.T) {
	const n = 4
	b := &barrier{n: n}
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for range n {
		wg.Go(func() {
			b.arrive()
			b.wait()
			mu.Lock()
			defer mu.Unlock()
			if b.arrived.Load() != n {
				t.Error("released before every thread arrived")
			}
			passed++
		})
	}
	wg.Wait()
	if passed != n {
		t.Errorf("%d of %d threads passed", passed, n)
	}
}
