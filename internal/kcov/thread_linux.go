package kcov

import "runtime"

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
