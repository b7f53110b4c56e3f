//go:build linux

// Command guardrace is one trial of the fresh-guard race. With
// CONFIG_KCOV_UNIQUE a coverage call site (guard) gets its bitmap index the
// first time it runs with unique mode on, once per boot, in init_pc_guard
// (atomic_inc_return of kcov_guard_max_index, cmpxchg into the guard; a
// thread that loses keeps the winner's index and parks its own in a
// per-CPU slot). The host runs this program once per fresh boot, so the
// guards of the path set below are still without an index.
//
// -threads threads (default one per CPU, so that all can run at once),
// each on its own locked OS thread with its own file table (unshare
// CLONE_FILES: fd numbers do not depend on how the threads interleave),
// KCOV fd and fresh 64K-word buffer, enable unique mode with a bitmap of
// a quarter of it, released together by a spin barrier, run the same 16
// less common syscalls (statx of /proc/self/status, getrlimit, prlimit64,
// sched_getattr, timerfd, memfd, FIONREAD on a pipe, uname, sysinfo,
// getcpu, eventfd, capget, getrusage, sched_rr_get_interval, inotify,
// pidfd_open; raw, no Go syscall bookkeeping) and disable. Each thread ran
// them once with coverage off first, which warms caches without indexing
// any guard. A probe session just before the race (two other syscalls)
// gives the highest bitmap index in use then; after the race, three
// single-thread reference sessions of the same syscalls run one after the
// other: the PCs every one of them recorded are the syscalls'
// deterministic coverage (a PC only some recorded, e.g. the Go runtime
// handing off a reference's thread in the middle of its session, is
// listed as ref_unstable, not judged).
//
// Per session, read after DISABLE with nothing reset in between:
//
//	(a) no PC is recorded twice;
//	(b) bitmap bits set == records, when the trace did not saturate.
//
// And (c) no thread loses coverage: every PC all references recorded is
// in each thread's trace, once timing-dependent code is set aside. The
// guest has no symbols, so it sends the differences as PC lists and the
// host judges them by symbol: ref_minus_thread/N (the references' PCs
// thread N did not record: what a thread that lost its guard race, or
// whose record went to another thread, would show), and
// union_minus_ref_every_thread (extra PCs every thread recorded and no
// reference did, a systematic difference; taken over the threads that did
// not sleep in their session, when two or more did not: a thread that
// slept was handed off by the Go runtime, whose futex calls and page
// faults then land in its trace). ref_minus_union (lost by every thread) and
// union_minus_ref are listed, not judged on their own: a PC only some
// threads recorded is often the loser's side of a contended lock or
// refcount on an object the threads share. The rules that set PCs aside
// (internal/noiserule) name single functions, each where a run showed it
// timing-dependent. The host judges (c) only when the threads' syscalls
// returned what the reference's did and it has vmlinux's symbols; a trial
// it cannot judge is an error, not a pass.
// It passes iff every session ran, (a) and (b) held in all of them, the
// reference's included, and the host finds no unexplained difference for
// (c). On kernels without
// CONFIG_KCOV_UNIQUE it does not apply: metric skipped=1, pass. -trial N is
// only echoed into the evidence.
package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
	"github.com/kcovlab/kcovlab/scenarios/internal/guards"
	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
)

var (
	threadsFlag = flag.Int("threads", 0, "threads racing on the fresh guards (0: one per CPU, so that all run at once)")
	trialFlag   = flag.Int("trial", 0, "trial number, echoed into the evidence (the host runs one trial per boot)")
)

const (
	// refRuns single-thread reference sessions run after the race, one
	// after the other; a PC is the ops' deterministic coverage when every
	// one of them recorded it.
	refRuns    = 3
	maxThreads = 64
	gcLimit    = 256 << 20
	listMax    = 10 // PCs listed per evidence line or group
)

func main() { scenarios.Main("guardrace", measure) }

func measure(o *scenarios.Outcome, kernel string) error {
	class, err := check.ParseClass(kernel)
	if err != nil {
		return err
	}
	n := *threadsFlag
	if n == 0 {
		n = runtime.NumCPU()
	}
	if n < 1 || n > maxThreads {
		return fmt.Errorf("-threads %d: want 1 to %d", n, maxThreads)
	}
	m := o.Metrics
	m["threads"] = float64(n)
	if class != check.Unique {
		m["skipped"] = 1
		o.Skip = fmt.Sprintf("does not apply: guards get bitmap indices only with CONFIG_KCOV_UNIQUE; kernel is %s", class)
		o.Evidence = append(o.Evidence, fmt.Sprintf("trial %d: %s", *trialFlag, o.Skip))
		return nil
	}
	m["skipped"] = 0
	m["cpus"] = float64(runtime.NumCPU())
	if runtime.NumCPU() < 2 {
		return fmt.Errorf("the guest has %d CPU: threads cannot race; boot with --cpus 2 or more (on q35 and pc the kernel needs CONFIG_ACPI to see them: pc.config)", runtime.NumCPU())
	}
	d, err := kcov.Open("")
	if err != nil {
		return err
	}
	d.Close()
	if runtime.GOMAXPROCS(0) < n+2 {
		runtime.GOMAXPROCS(n + 2) // a P for every racing thread: none waits in the scheduler mid-session
	}
	defer holdGC()()

	probe := runSessions(probeOps, 1)[0]
	race := runSessions(pathOps, n)
	refs := make([]session, refRuns)
	for i := range refs {
		refs[i] = runSessions(pathOps, 1)[0]
	}
	if !slices.ContainsFunc(race, func(s session) bool { return s.err == nil }) {
		return fmt.Errorf("no racing thread could run: %w", race[0].err)
	}
	t := &trial{m: m, n: n, pcs: map[string][]uint64{}}
	t.judge(probe, race, refs)
	o.Evidence, o.PCs = t.r.Evidence, t.pcs
	o.Pass = t.r.OK()
	return nil
}

// holdGC collects garbage now and then only if the heap nears gcLimit, so
// that no collection stops a thread mid-session; the returned func
// restores the collector.
func holdGC() (restore func()) {
	runtime.GC()
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(gcLimit)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// trial turns the sessions into checks, metrics and evidence.
type trial struct {
	r   check.Report
	m   map[string]float64
	n   int
	pcs map[string][]uint64 // (c)'s differences, for the host to judge
}

func (t *trial) judge(probe session, race []session, refs []session) {
	t.r.Note("trial %d: %d threads, each on its own locked thread, file table and KCOV fd, UNIQUE_ENABLE(%d) on a %d-word buffer, released together by a spin barrier; path set: %s",
		*trialFlag, t.n, bitmapWords, bufWords, opNames(pathOps))
	failed := 0
	sets := map[int]pcset.Set{} // by thread index, threads that ran
	slept := map[int]bool{}     // threads that slept in their session
	var bitmaps [][]uint64
	var sum struct{ dups, dupPCs, mismatch, unjudged, records int }
	for i, s := range race {
		name := fmt.Sprintf("thread %d", i)
		if !t.ran(name, s) {
			failed++
			continue
		}
		c := t.check(name, s)
		sum.dups += c.DupRecords
		sum.dupPCs += len(c.Dups)
		sum.records += c.Records
		if c.Mismatch {
			sum.mismatch++
		}
		if !c.Judged {
			sum.unjudged++
		}
		sets[i] = pcset.Of(s.Trace.PCs)
		bitmaps = append(bitmaps, s.Bitmap)
		if s.slept != 0 {
			slept[i] = true
			t.r.Note("thread %d: slept in its session (%d voluntary context switches): the Go runtime handed its thread off", i, s.slept)
		}
	}
	t.m["threads_slept"] = float64(len(slept))
	t.m["threads_failed"] = float64(failed)
	t.m["dup_records"], t.m["dup_pcs"] = float64(sum.dups), float64(sum.dupPCs)
	t.m["bitmap_mismatch_threads"], t.m["unjudged_threads"] = float64(sum.mismatch), float64(sum.unjudged)
	t.m["records_total"] = float64(sum.records)
	t.m["overlap"] = check.Bool(overlap(race))
	t.m["cpus_used"] = float64(cpusUsed(race))
	t.timing(race)
	union := guards.Or(bitmaps...)
	t.m["bits_union"] = float64(kcov.BitmapCount(union))
	t.m["max_bit"] = float64(guards.MaxBit(union))
	t.fresh(probe, union)

	if stable, all, ok := t.references(refs); ok {
		t.compare(sets, slept, stable, all)
		t.r.Note("op results (reference 0): %s", opResults(pathOps, refs[0].errnos))
		differ := 0
		for i, s := range race {
			if s.err == nil && !slices.Equal(s.errnos, refs[0].errnos) {
				differ++
				t.r.Note("thread %d op results differ: %s", i, opResults(pathOps, s.errnos))
			}
		}
		for i, r := range refs[1:] {
			if !slices.Equal(r.errnos, refs[0].errnos) {
				differ++
				t.r.Note("reference %d op results differ: %s", i+1, opResults(pathOps, r.errnos))
			}
		}
		t.m["op_results_differ"] = float64(differ) // (c) compares like with like only when 0
	}
	t.r.Metrics("checks", t.m)
}

// references checks the reference sessions, (a) and (b), and returns the
// PCs every one of them recorded (the ops' deterministic coverage) and
// those any recorded; ok is false when one did not run.
func (t *trial) references(refs []session) (stable, all pcset.Set, ok bool) {
	var sets []pcset.Set
	for i, r := range refs {
		name := fmt.Sprintf("reference %d", i)
		if !t.ran(name, r) {
			return nil, nil, false
		}
		c := t.check(name, r)
		t.m["ref_dup_records"] += float64(c.DupRecords)
		t.m["ref_bitmap_mismatch"] = max(t.m["ref_bitmap_mismatch"], check.Bool(c.Mismatch))
		sets = append(sets, pcset.Of(r.Trace.PCs))
	}
	all = pcset.Union(sets...)
	stable = all
	for _, s := range sets {
		stable = stable.Minus(all.Minus(s))
	}
	unstable := all.Minus(stable)
	t.pcs["ref_unstable"] = unstable
	t.m["ref_unstable"] = float64(len(unstable))
	if len(unstable) > 0 {
		t.r.Note("references: %d PCs in every one, %d in some only (not the ops' deterministic coverage, not judged): %s",
			len(stable), len(unstable), pcset.List(unstable, listMax))
	}
	return stable, all, true
}

// ran records whether a session could run at all.
func (t *trial) ran(name string, s session) bool {
	if s.err == nil {
		return true
	}
	detail := s.err.Error()
	if errors.Is(s.err, kcov.ErrUnsupported) {
		detail += " (the host said CONFIG_KCOV_UNIQUE=y)"
	}
	t.r.Check(name+": session ran", false, detail)
	return false
}

// check judges one session, (a) and (b), as one evidence line, plus its
// repeated PCs.
func (t *trial) check(name string, s session) guards.Check {
	c := guards.Judge(s.Session)
	bits := fmt.Sprintf("%d bits set", c.Bits)
	if !c.Judged {
		bits += " (not compared: saturated)"
	}
	t.r.Check(name+": no PC recorded twice, bitmap bits set == records", c.OK(),
		fmt.Sprintf("cpu %d->%d, %d us: %d records, %d distinct, %d repeated records, %s, highest index %d",
			s.cpuStart, s.cpuEnd, s.end.Sub(s.start).Microseconds(), c.Records, c.Distinct, c.DupRecords, bits, c.MaxBit))
	for _, d := range c.Dups[:min(listMax, len(c.Dups))] {
		t.r.Note("%s: %s recorded %d times", name, pcset.Hex(d.PC), d.N)
	}
	return c
}

// timing notes how the threads' sessions lay in time.
func (t *trial) timing(race []session) {
	var t0 time.Time
	for _, s := range race {
		if s.err == nil && (t0.IsZero() || s.start.Before(t0)) {
			t0 = s.start
		}
	}
	var spans []string
	for i, s := range race {
		if s.err == nil {
			spans = append(spans, fmt.Sprintf("%d: %d-%d", i, s.start.Sub(t0).Microseconds(), s.end.Sub(t0).Microseconds()))
		}
	}
	t.r.Note("sessions in us from the first enable (%s): %v", overlapText(t.m["overlap"] == 1), spans)
}

func overlapText(all bool) string {
	if all {
		return "all on at one moment"
	}
	return "not all on at one moment: the race may not have raced"
}

// fresh estimates how many guards got their index during the race: bitmap
// indices above the probe's highest. An upper bound: indices handed out
// between the probe's highest and the race (other code) count too; exact
// when the probe's own guards were fresh.
func (t *trial) fresh(probe session, union []uint64) {
	if probe.err != nil {
		t.r.Note("probe before the race (%s): did not run: %v", opNames(probeOps), probe.err)
		return
	}
	top := guards.MaxBit(probe.Bitmap)
	above := guards.BitsAbove(union, top)
	t.m["probe_max_bit"], t.m["bits_above_probe"] = float64(top), float64(above)
	t.r.Note("probe before the race (%s): highest bitmap index %d; %d of the threads' %d indices lie above it (at most that many guards got their index during the race)",
		opNames(probeOps), top, above, kcov.BitmapCount(union))
}

// compare is (c): each thread, and the threads' union, against the
// references: ref are the PCs every reference recorded, anyRef those any
// did. sets holds the threads that ran, by thread index; slept those of
// them that slept in their session, whose extra PCs include the Go
// runtime's: the extra PCs every thread recorded are taken over the
// others, and only when at least two of them are left.
func (t *trial) compare(sets map[int]pcset.Set, slept map[int]bool, ref, anyRef pcset.Set) {
	threads := slices.Sorted(maps.Keys(sets))
	all := make([]pcset.Set, 0, len(threads))
	lostMax, lostSum := 0, 0
	for _, i := range threads {
		all = append(all, sets[i])
		// What the reference recorded and this thread did not: the
		// thread's own loss, whatever the other threads recorded.
		lost := ref.Minus(sets[i])
		t.pcs[fmt.Sprintf("%s%d", refMinusThread, i)] = nonNil(lost)
		lostMax, lostSum = max(lostMax, len(lost)), lostSum+len(lost)
		if len(lost) > 0 {
			t.r.Note("ref - thread %d: %d PCs: %s", i, len(lost), pcset.List(lost, listMax))
		}
	}
	t.m["ref_minus_thread_max"], t.m["ref_minus_thread_sum"] = float64(lostMax), float64(lostSum)
	d := guards.Compare(all, anyRef)
	d.RefMinusUnion = ref.Minus(d.Union)
	t.pcs["ref_minus_union"] = d.RefMinusUnion
	for _, c := range d.UnionMinusRef {
		t.pcs["union_minus_ref"] = append(t.pcs["union_minus_ref"], c.PC)
	}
	var quiet []pcset.Set
	for _, i := range threads {
		if !slept[i] {
			quiet = append(quiet, sets[i])
		}
	}
	if len(quiet) >= 2 {
		for _, c := range guards.Compare(quiet, anyRef).UnionMinusRef {
			if c.N == len(quiet) {
				t.pcs["union_minus_ref_every_thread"] = append(t.pcs["union_minus_ref_every_thread"], c.PC)
			}
		}
	} else {
		t.m["every_thread_unjudged"] = 1
		t.r.Note("extra PCs every thread recorded: not judged: %d of %d threads slept in their session, fewer than 2 did not", len(threads)-len(quiet), len(threads))
	}
	t.m["pcs_total"], t.m["pcs_ref"] = float64(len(d.Union)), float64(len(ref))
	t.m["union_minus_ref"], t.m["union_minus_ref_shared"] = float64(len(d.UnionMinusRef)), float64(d.Shared())
	t.m["ref_minus_union"] = float64(len(d.RefMinusUnion))
	t.r.Note("union of the threads: %d PCs; references after the race: %d PCs in every one; union - ref: %d (%d of them in more than one thread); ref - union: %d; ref - thread: at most %d",
		len(d.Union), len(ref), len(d.UnionMinusRef), d.Shared(), len(d.RefMinusUnion), lostMax)
	for _, c := range d.UnionMinusRef[:min(listMax, len(d.UnionMinusRef))] {
		t.r.Note("union - ref: %s in %d threads", pcset.Hex(c.PC), c.N)
	}
	if len(d.RefMinusUnion) > 0 {
		t.r.Note("ref - union: %s", pcset.List(d.RefMinusUnion, listMax))
	}
}

// refMinusThread prefixes the per-thread lists in Outcome.PCs:
// ref_minus_thread/N are the reference's PCs thread N did not record.
const refMinusThread = "ref_minus_thread/"

// nonNil is s, or an empty set for nil, so that a thread that lost nothing
// still has its (empty) list in the outcome.
func nonNil(s pcset.Set) []uint64 {
	if s == nil {
		return []uint64{}
	}
	return s
}

// cpusUsed counts the CPUs the racing sessions started or ended on.
func cpusUsed(race []session) int {
	seen := map[int]bool{}
	for _, s := range race {
		if s.err == nil {
			seen[s.cpuStart], seen[s.cpuEnd] = true, true
		}
	}
	return len(seen)
}
