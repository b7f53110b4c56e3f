//go:build linux

package main

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// work is the repeated workload: every round does the same few syscalls,
// each with kernel-side work that does not depend on time: read(-1), fstat
// of an open file, a 64-byte write and read through a pipe, and dup+close.
type work struct {
	file  int
	pipe  [2]int
	bytes [64]byte
}

func newWork() (*work, error) {
	w := &work{}
	var err error
	if w.file, err = unix.Open("/proc/self/status", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("open /proc/self/status: %w", err)
	}
	if err := unix.Pipe2(w.pipe[:], unix.O_CLOEXEC); err != nil {
		unix.Close(w.file)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	return w, nil
}

// run does n rounds; it makes no allocation and no Go runtime call that
// could enter the kernel between the syscalls it means to make.
func (w *work) run(n int) error {
	var st unix.Stat_t
	for i := 0; i < n; i++ {
		unix.Read(-1, nil)
		if err := unix.Fstat(w.file, &st); err != nil {
			return fmt.Errorf("fstat: %w", err)
		}
		if _, err := unix.Write(w.pipe[1], w.bytes[:]); err != nil {
			return fmt.Errorf("pipe write: %w", err)
		}
		if _, err := unix.Read(w.pipe[0], w.bytes[:]); err != nil {
			return fmt.Errorf("pipe read: %w", err)
		}
		fd, err := unix.Dup(w.file)
		if err != nil {
			return fmt.Errorf("dup: %w", err)
		}
		unix.Close(fd)
	}
	return nil
}

// nextTick waits until the kernel's coarse clock, which stamps a pipe's
// modification time, has moved on. A pipe write updates the pipe's times
// (file_update_time: some 29 PCs) only when they differ from the clock's
// current tick, so whether a session of the work runs that path depended
// on whether a tick fell between it and the previous session's last write:
// the trace runs, slower, usually did, a unique-mode run right after them
// sometimes did not, and those PCs counted as lost. A session that starts
// on a fresh tick always runs it, at its first write; later updates in it
// (more ticks) only repeat PCs. It gives up after a second (a clock that
// does not move): the session then runs as it would have.
func (w *work) nextTick() {
	var t0, t unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &t0) != nil {
		return
	}
	for start := time.Now(); time.Since(start) < time.Second; {
		if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &t) != nil || t != t0 {
			return
		}
	}
}

func (w *work) Close() error {
	return errors.Join(unix.Close(w.file), unix.Close(w.pipe[0]), unix.Close(w.pipe[1]))
}
