//go:build linux

package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/guards"
	"golang.org/x/sys/unix"
)

// The buffer of every session: 64K words, a quarter of them the bitmap
// (1,048,576 guard indices, far more than a boot hands out in a trial).
const (
	bufWords    = 64 << 10
	bitmapWords = bufWords / 4
)

// session is one thread's unique-mode session.
type session struct {
	guards.Session
	errnos   []syscall.Errno // the ops' results inside the session
	cpuStart int             // CPU before UNIQUE_ENABLE
	cpuEnd   int             // CPU after DISABLE
	// slept counts the thread's voluntary context switches between
	// UNIQUE_ENABLE and DISABLE: none of the ops sleeps, so a thread that
	// slept was handed off by the Go runtime (a goroutine that runs 10 ms
	// without a break is preempted, and its locked thread parks on a
	// futex), which adds the runtime's own syscalls and page faults.
	slept      int64
	start, end time.Time
	err        error
}

// barrier releases n threads together: each arrives once, then spins
// (coverage still off) until all have arrived. The spin yields the CPU to
// other threads (sched_yield) and, now and then, the P to other goroutines
// (runtime.Gosched): a raw syscall is no Go preemption point, so with
// fewer Ps than threads the late arrivals would otherwise wait for an
// asynchronous preemption that rarely lands outside the syscall.
type barrier struct {
	n       int32
	arrived atomic.Int32
}

// goschedEvery is how many spins pass between two runtime.Gosched calls.
const goschedEvery = 256

func (b *barrier) arrive() { b.arrived.Add(1) }

func (b *barrier) wait() {
	for i := 1; b.arrived.Load() < b.n; i++ {
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		if i%goschedEvery == 0 {
			runtime.Gosched()
		}
	}
}

// runSessions runs n sessions of list at once, one per thread, and
// returns them in thread order. Each goroutine locks its thread and never
// unlocks it, so the thread ends with its session, and with it any KCOV
// state (kcov_task_exit).
func runSessions(list []op, n int) []session {
	b := &barrier{n: int32(n)}
	out := make([]session, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			runtime.LockOSThread()
			out[i] = runSession(list, b)
		})
	}
	wg.Wait()
	return out
}

// runSession prepares a fresh fd and the ops' buffers, runs the ops once
// with coverage off (warm caches, fault in pages; guards get no index
// then), waits at the barrier, and runs them again in unique mode. It
// reads the buffer after DISABLE, so trace and bitmap cover the same span:
// from the tail of UNIQUE_ENABLE to the head of DISABLE, never reset.
func runSession(list []op, b *barrier) (s session) {
	d, sc, err := prepare(list)
	// A goroutine that runs 10 ms without a reschedule is asked to
	// yield at its next function call, and a locked thread yields by
	// handing its P off: futex calls, page faults, even a new thread, all
	// in the trace if that call falls in the session. The warm-up pass
	// can take that long under TCG; yielding here starts the session on a
	// fresh 10 ms (the barrier's spin yields now and then too).
	runtime.Gosched()
	b.arrive()
	if err != nil {
		s.err = err
		return s
	}
	defer d.Close()
	b.wait()
	before := voluntarySwitches()
	s.cpuStart, s.start = cpu(), time.Now()
	if err := d.EnableUnique(bitmapWords); err != nil {
		s.err = err
		return s
	}
	runOps(list, sc)
	err = d.Disable()
	s.cpuEnd, s.end = cpu(), time.Now()
	s.slept = voluntarySwitches() - before
	if err != nil {
		s.err = err
		return s
	}
	v, err := d.View()
	if err != nil {
		s.err = err
		return s
	}
	s.Trace, s.Bitmap = v.Trace, slices.Clone(d.Bitmap())
	s.errnos = slices.Clone(sc.errnos)
	return s
}

func prepare(list []op) (*kcov.Device, *scratch, error) {
	if err := kcov.BlockPreemptSignal(); err != nil {
		return nil, nil, err
	}
	if err := ownFiles(); err != nil {
		return nil, nil, err
	}
	d, err := kcov.Open("")
	if err != nil {
		return nil, nil, err
	}
	if err = d.InitTrace(bufWords); err == nil {
		err = d.Mmap(true)
	}
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	sc := newScratch(len(list))
	runOps(list, sc)
	return d, sc, nil
}

// voluntarySwitches is the calling thread's count of voluntary context
// switches (getrusage RUSAGE_THREAD), -1 when it cannot be read.
func voluntarySwitches() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return -1
	}
	return ru.Nvcsw
}

// cpu is the CPU the calling thread runs on.
func cpu() int {
	var c uint32
	unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&c)), 0, 0)
	return int(c)
}

// ownFiles gives the calling thread its own copy of the process's file
// table (unshare CLONE_FILES). The ops open and close fds; in one shared
// table the threads' fd numbers, and so close's branches (whether the
// closed fd is below the table's next free one), would depend on how the
// threads interleave. In a table of its own every session, reference or
// racing thread, gets the same numbers. The thread never returns to the Go
// runtime's pool: it ends with its session.
func ownFiles() error {
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		return fmt.Errorf("unshare CLONE_FILES: %w", err)
	}
	return nil
}

// overlap reports whether every session was on at one same moment.
func overlap(ss []session) bool {
	var latestStart, earliestEnd time.Time
	for i, s := range ss {
		if s.err != nil {
			return false
		}
		if i == 0 || s.start.After(latestStart) {
			latestStart = s.start
		}
		if i == 0 || s.end.Before(earliestEnd) {
			earliestEnd = s.end
		}
	}
	return len(ss) > 0 && latestStart.Before(earliestEnd)
}
