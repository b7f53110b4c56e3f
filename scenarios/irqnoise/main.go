//go:build linux

// Command irqnoise answers the reviewers' "spurious coverage" question with
// data: how often does coverage that is not the measured syscall's own leak
// into a task's KCOV trace, and from which functions? Interrupt entry runs
// instrumented code before preempt_count is raised, while in_task() still
// holds, so KCOV records it for the interrupted task (the series' patch 01
// stops instrumenting arch/x86/kernel/tsc.c for that reason: sched_clock()).
//
// The measuring thread is pinned to CPU 0 and blocks SIGURG (the Go
// runtime's preemption signal, whose delivery would be coverage of its own).
// It runs one cheap syscall (-syscall: read(-1, NULL, 0) or getppid(),
// issued raw, without the Go runtime's syscall bookkeeping) -runs times in
// TRACE_PC mode, zeroing trace[0] before each run and reading it right
// after, and keeps each run's PCs. It does so twice: idle, then loaded, with
// a spinning thread and a timer thread (nanosleep of -tick-us) pinned to
// the same CPU so that interrupts and preemption land during the runs.
//
// The most common PC set over both phases is the quiet set; runs whose set
// differs are noisy. Evidence ranks the PCs outside the quiet set by the
// number of runs that held them (the top 15, as 0xffffffff........ the host
// symbolizes), shows one noisy run's extra PCs in trace order and the
// quiet-set PCs that some runs lacked. The guest cannot tell a PC's source
// file, so its verdict is narrow: it passes iff at most -idle-max-pct of the
// idle runs are noisy and no run saturated the buffer. It sends every PC
// outside the quiet set to the host, which fails the scenario when one lies
// in a function that runs only in interrupt context (the in_task() filter
// let it through).
package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
	"github.com/kcovlab/kcovlab/scenarios/internal/noise"
	"github.com/kcovlab/kcovlab/scenarios/internal/pcset"
	"golang.org/x/sys/unix"
)

var (
	runsFlag    = flag.Int("runs", 3000, "measured runs of the syscall per phase (idle, loaded)")
	syscallFlag = flag.String("syscall", "read", "the measured syscall: read (read(-1, NULL, 0)) or getppid")
	tickFlag    = flag.Int("tick-us", 100, "loaded phase: the timer thread's nanosleep in microseconds (0: spinner only)")
	idleMaxFlag = flag.Float64("idle-max-pct", 1, "pass only if at most this percentage of idle runs are noisy")
)

const (
	bufWords  = 16 << 10 // far more than one cheap syscall records
	warmRuns  = 50       // runs before the measured ones, not kept
	topExtra  = 15       // extra PCs listed in the evidence
	topMiss   = 5        // missing quiet-set PCs listed
	listPCs   = 40       // PCs per evidence line at most
	minProcs  = 4        // GOMAXPROCS: measurer, spinner, timer, the rest
	measureOn = 0        // the CPU everything is pinned to
	gcLimit   = 128 << 20
)

// sysCall is a syscall with its arguments, issued with unix.RawSyscall:
// no closure call, no entersyscall, so no Go preemption point and no
// runtime bookkeeping lies inside the measured interval.
type sysCall struct {
	desc         string
	trap, a1, a2 uintptr
}

// calls are the syscalls -syscall chooses from.
var calls = map[string]sysCall{
	"read":    {"read(-1, NULL, 0)", unix.SYS_READ, ^uintptr(0), 0},
	"getppid": {"getppid()", unix.SYS_GETPPID, 0, 0},
}

func main() { scenarios.Main("irqnoise", measure) }

func measure(o *scenarios.Outcome, kernel string) error {
	class := check.Class("")
	if kernel != "" {
		c, err := check.ParseClass(kernel)
		if err != nil {
			return err
		}
		class = c
	}
	call, ok := calls[*syscallFlag]
	if !ok {
		return fmt.Errorf("-syscall %q: want read or getppid", *syscallFlag)
	}
	if *runsFlag < 1 {
		return fmt.Errorf("-runs %d: want at least 1", *runsFlag)
	}
	if *tickFlag < 0 {
		return fmt.Errorf("-tick-us %d: want 0 (no timer thread) or more", *tickFlag)
	}
	if runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs) // the load threads each hold a P
	}
	defer holdGC()()
	var (
		res result
		err error
	)
	kcov.OnNewThread(func() { res, err = measurePhases(call, *runsFlag, *tickFlag) })
	if err != nil {
		return err
	}
	report(o, res, call.desc, class)
	check.AddFloor(o)
	if v, ok := o.Metrics["floor_words_median"]; ok {
		o.Metrics["floor"] = v
	}
	return nil
}

// report turns the runs into the verdict, metrics and evidence.
func report(o *scenarios.Outcome, res result, desc string, class check.Class) {
	rep := noise.Analyze([]noise.Phase{{Name: "idle", Runs: res.idle.runs}, {Name: "loaded", Runs: res.loaded.runs}})
	idle, loaded := rep.Noisy[0], rep.Noisy[1]
	n := rep.Runs[0] // per phase: -runs
	saturated := res.idle.saturated + res.loaded.saturated
	m := o.Metrics
	m["runs"] = float64(n)
	m["noise_runs"] = float64(rep.TotalNoisy())
	m["noise_runs_idle"], m["noise_runs_loaded"] = float64(idle), float64(loaded)
	m["noise_pct_idle"], m["noise_pct_loaded"] = noise.Pct(idle, n), noise.Pct(loaded, rep.Runs[1])
	m["distinct_extra_pcs"] = float64(rep.DistinctExtra(-1))
	m["distinct_extra_pcs_idle"], m["distinct_extra_pcs_loaded"] = float64(rep.DistinctExtra(0)), float64(rep.DistinctExtra(1))
	m["distinct_missing_pcs"] = float64(len(rep.Missing))
	m["quiet_set_size"], m["quiet_runs"] = float64(len(rep.Quiet)), float64(rep.QuietRuns)
	m["saturated_runs"] = float64(saturated)
	m["max_records"] = float64(max(res.idle.maxCount, res.loaded.maxCount))
	m["capacity"] = float64(res.capacity)
	m["preemptions_idle"], m["preemptions_loaded"] = float64(res.idle.preempted), float64(res.loaded.preempted)
	m["timer_wakeups"], m["tick_us"] = float64(res.load.wakeups), float64(*tickFlag)

	var r check.Report
	r.Note("%s, %d runs per phase on CPU %d in TRACE_PC mode, trace[0] zeroed before each run and read right after (%d warm-up runs first); kernel class %s",
		desc, n, measureOn, warmRuns, classText(class))
	timer := "no timer thread"
	if *tickFlag > 0 {
		timer = fmt.Sprintf("a timer thread (nanosleep %d us, %d wake-ups)", *tickFlag, res.load.wakeups)
	}
	r.Note("loaded phase: a spinning thread and %s pinned to CPU %d; the measuring thread was preempted %d times loaded, %d times idle (involuntary context switches)",
		timer, measureOn, res.loaded.preempted, res.idle.preempted)
	r.Note("quiet set: %d PCs, held by %d of %d runs: %s", len(rep.Quiet), rep.QuietRuns, rep.Runs[0]+rep.Runs[1], pcset.List(kcov.Unique(rep.QuietTrace), listPCs))
	r.Note("%s", rep.NoisyLine())
	r.Check(fmt.Sprintf("idle: at most %g %% of runs noisy", *idleMaxFlag), noise.Within(idle, n, *idleMaxFlag),
		fmt.Sprintf("%d of %d (%.2f %%)", idle, n, noise.Pct(idle, n)))
	r.Check("no run saturated the buffer", saturated == 0,
		fmt.Sprintf("%d saturated runs; largest trace[0] %d of %d slots", saturated, max(res.idle.maxCount, res.loaded.maxCount), res.capacity))
	r.Note("%d distinct PCs outside the quiet set (idle %d, loaded %d); the %d most frequent follow",
		rep.DistinctExtra(-1), rep.DistinctExtra(0), rep.DistinctExtra(1), min(topExtra, len(rep.Extra)))
	for _, e := range rep.Extra[:min(topExtra, len(rep.Extra))] {
		r.Note("%s", rep.PCLine(e))
	}
	if ex := rep.Example; ex != nil {
		r.Note("example noisy run (%s #%d, %d records), PCs outside the quiet set in trace order: %s",
			ex.Phase, ex.Index, ex.Len, pcset.List(ex.Extra, listPCs))
	}
	for _, p := range rep.Missing[:min(topMiss, len(rep.Missing))] {
		r.Note("missing from some runs: %s", rep.PCLine(p))
	}
	if note := classNote(class); note != "" {
		r.Note("%s", note)
	}
	r.Metrics("checks", m)
	o.Evidence = r.Evidence
	o.Pass = r.OK()
	// Every PC outside the quiet set goes to the host, which knows their
	// functions: a PC in interrupt-only code fails the scenario there.
	o.PCs = map[string][]uint64{"extra": nil}
	for _, e := range rep.Extra {
		o.PCs["extra"] = append(o.PCs["extra"], e.PC)
	}
}

// holdGC collects garbage now and then only if the heap nears gcLimit,
// so that no collection stops the measuring thread mid-run; the returned
// func restores the collector.
func holdGC() (restore func()) {
	runtime.GC()
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(gcLimit)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

func classText(c check.Class) string {
	if c == "" {
		return "not given"
	}
	return string(c)
}

// classNote says how to read the ranking. The guest cannot tell whether
// the series' patch 01 (arch/x86/kernel/tsc.c built without KCOV) is in
// this kernel (a variant may leave it out); the host's kernel name says.
func classNote(c check.Class) string {
	if c == "" {
		return ""
	}
	return "tsc.c functions (native_sched_clock, read_tsc, ...) above mean interrupt-time coverage leaked from arch/x86/kernel/tsc.c, which the series' patch 01 stops instrumenting"
}
