package kcov

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// OnNewThread runs fn on an OS thread that no other goroutine uses, and
// waits for it. The goroutine never unlocks that thread, so the Go runtime
// ends the thread when fn returns, and whatever KCOV state fn leaves on it
// (a descriptor left enabled) dies with it in kcov_task_exit instead of
// leaking into the caller's thread. If the caller has coverage on, its
// goroutine is locked to its own thread (Enable does that), so fn really
// runs on a different thread: that is how a case acts "from another thread".
func OnNewThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		fn()
	}()
	<-done
}

// BlockPreemptSignal blocks the Go runtime's preemption signal (SIGURG) on
// the calling thread: delivered while coverage is on, it would add the
// kernel's signal code (some hundred records) to the thread's trace. Call
// it on a thread of OnNewThread, which never unblocks it: the thread just
// ends. The runtime still preempts the goroutine at its function calls.
func BlockPreemptSignal() error {
	var set unix.Sigset_t
	sig := uint(unix.SIGURG) - 1
	set.Val[sig/64] |= 1 << (sig % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		return fmt.Errorf("block SIGURG: %w", err)
	}
	return nil
}

// ContextSwitches is how often the calling thread gave up its CPU so far:
// voluntarily (it slept: a locked thread the Go runtime makes yield sleeps
// on a futex) and involuntarily (the scheduler preempted it). A change
// across a session means code that is not the session's may be in its
// trace (futex calls, the return path's FPU restore).
func ContextSwitches() (voluntary, involuntary int64, err error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, 0, fmt.Errorf("getrusage(RUSAGE_THREAD): %w", err)
	}
	return ru.Nvcsw, ru.Nivcsw, nil
}
