//go:build linux

package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/noise"
	"golang.org/x/sys/unix"
)

// phaseResult is one phase's runs.
type phaseResult struct {
	runs      []noise.Run
	maxCount  uint64 // largest trace[0] seen
	saturated int    // runs whose trace[0] reached the capacity
	preempted int64  // involuntary context switches of the measuring thread
}

// result is both phases.
type result struct {
	idle, loaded phaseResult
	capacity     int
	load         loadStats
}

// measurePhases runs on a thread of its own (kcov.OnNewThread), which it
// pins to CPU measureOn for good: the thread ends with the call.
func measurePhases(call sysCall, n, tickUS int) (result, error) {
	var res result
	if err := pin(measureOn); err != nil {
		return res, err
	}
	if err := kcov.BlockPreemptSignal(); err != nil {
		return res, err
	}
	d, err := kcov.Open("")
	if err != nil {
		return res, err
	}
	defer d.Close()
	if err := d.InitTrace(bufWords); err != nil {
		return res, err
	}
	if err := d.Mmap(true); err != nil {
		return res, err
	}
	res.capacity = kcov.Capacity(bufWords, 0)
	if res.idle, err = phase(d, call, n); err != nil {
		return res, fmt.Errorf("idle phase: %w", err)
	}
	l, err := startLoad(tickUS)
	if err != nil {
		return res, fmt.Errorf("start load: %w", err)
	}
	res.loaded, err = phase(d, call, n)
	res.load = l.stop()
	if err != nil {
		return res, fmt.Errorf("loaded phase: %w", err)
	}
	return res, nil
}

// phase enables TRACE_PC and runs call warmRuns+n times, zeroing trace[0]
// before each and reading it right after; the interval holds nothing but
// the raw syscall (ResetCount and Count are inlined stores and loads). The
// PCs are copied after trace[0] was read, so whatever the copy itself
// records (a page fault, a Go preemption) lands beyond the run's records.
func phase(d *kcov.Device, call sysCall, n int) (phaseResult, error) {
	var p phaseResult
	for range warmRuns {
		unix.RawSyscall(call.trap, call.a1, call.a2, 0)
	}
	before, err := involuntarySwitches()
	if err != nil {
		return p, err
	}
	if err := d.Enable(kcov.TracePC); err != nil {
		return p, err
	}
	buf, capacity := d.Buffer(), uint64(d.Capacity())
	p.runs = make([]noise.Run, 0, n)
	for i := range warmRuns + n {
		d.ResetCount()
		unix.RawSyscall(call.trap, call.a1, call.a2, 0)
		c := d.Count()
		if i < warmRuns {
			continue
		}
		p.maxCount = max(p.maxCount, c)
		if c >= capacity {
			p.saturated++
		}
		p.runs = append(p.runs, slices.Clone(buf[1:1+min(c, capacity)]))
	}
	if err := d.Disable(); err != nil {
		return p, err
	}
	after, err := involuntarySwitches()
	if err != nil {
		return p, err
	}
	p.preempted = after - before
	return p, nil
}

// loadStats is what the load threads did.
type loadStats struct {
	wakeups int64 // the timer thread's returns from nanosleep
}

// load is CPU load on CPU measureOn: a spinning thread and, optionally, a
// timer thread sleeping tickUS at a time. Each goroutine locks its thread
// and never unlocks it, so the thread and its pinning end with it.
type load struct {
	halt    atomic.Bool
	wakeups atomic.Int64
	wg      sync.WaitGroup
}

// startLoad starts the load threads and returns once each is pinned.
func startLoad(tickUS int) (*load, error) {
	l := &load{}
	bodies := []func(){l.spin}
	if tickUS > 0 {
		bodies = append(bodies, func() { l.tick(tickUS) })
	}
	pinned := make(chan error, len(bodies))
	for _, body := range bodies {
		l.wg.Go(func() {
			runtime.LockOSThread()
			err := pin(measureOn)
			pinned <- err
			if err == nil {
				body()
			}
		})
	}
	var first error
	for range bodies {
		if err := <-pinned; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		l.stop()
		return nil, first
	}
	return l, nil
}

func (l *load) spin() {
	for !l.halt.Load() {
	}
}

func (l *load) tick(us int) {
	ts := unix.NsecToTimespec(int64(us) * 1000)
	for !l.halt.Load() {
		unix.Nanosleep(&ts, nil)
		l.wakeups.Add(1)
	}
}

// stop ends the load threads and waits for them.
func (l *load) stop() loadStats {
	l.halt.Store(true)
	l.wg.Wait()
	return loadStats{wakeups: l.wakeups.Load()}
}

// pin binds the calling thread (locked to its goroutine) to cpu.
func pin(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin thread to CPU %d: %w", cpu, err)
	}
	return nil
}

// involuntarySwitches is how often the calling thread was preempted so far.
func involuntarySwitches() (int64, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, fmt.Errorf("getrusage(RUSAGE_THREAD): %w", err)
	}
	return ru.Nivcsw, nil
}
