package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outputTail is how much of a process's combined stdout and stderr is kept.
const outputTail = 16 << 10

// waitDelay bounds how long reaping waits for the output pipes to close
// after the process exited (they could be held by an escaped grandchild).
const waitDelay = 2 * time.Second

// proc is one external process running in its own process group. It owns
// the process: a reaper goroutine waits for it, and the group is killed when
// the context given to startProc is cancelled. The process group ID equals
// pid, because the process is its group's leader.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	out  *tailBuffer
	done chan struct{} // closed once the process is reaped and err is set
	err  error         // exit error; read only after done is closed

	mu     sync.Mutex
	exited bool  // the leader exited: its pgid must no longer be signalled
	cause  error // why we killed it, if we did

	stopAfterFunc func() bool
}

// startProc starts argv in a new process group with Pdeathsig=SIGKILL, so it
// dies if this process does. Cancelling ctx kills the whole group.
func startProc(ctx context.Context, argv []string) (*proc, error) {
	return startProcOut(ctx, argv, nil)
}

// startProcOut is startProc; a non-nil detached file makes the process
// able to outlive this one (no Pdeathsig) and takes its output.
func startProcOut(ctx context.Context, argv []string, detached *os.File) (*proc, error) {
	if len(argv) == 0 {
		return nil, errors.New("start process: empty argv")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	out := newTailBuffer(outputTail)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig fires when the thread that forked exits; Go keeps its
	// threads unless a goroutine exits while locked to one, which we never do.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if detached != nil {
		cmd.Stdout, cmd.Stderr = detached, detached
		cmd.SysProcAttr.Pdeathsig = 0
	}
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, out: out, done: make(chan struct{})}
	p.stopAfterFunc = context.AfterFunc(ctx, func() { p.kill(context.Cause(ctx)) })
	go p.reap()
	return p, nil
}

// reap waits for the group leader to exit, kills whatever is left in its
// group while the unreaped leader still pins the group ID, then reaps it.
func (p *proc) reap() {
	waitExitedNoReap(p.pid)
	p.mu.Lock()
	_ = unix.Kill(-p.pid, unix.SIGKILL)
	p.exited = true
	p.mu.Unlock()

	waitErr := p.cmd.Wait()
	p.stopAfterFunc()
	p.err = p.exitError(waitErr)
	close(p.done)
}

// waitExitedNoReap blocks until pid has exited, leaving it a zombie so its
// pid (and process group ID) cannot be reused yet.
func waitExitedNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			// On any other error cmd.Wait below reports what happened.
			return
		}
	}
}

// kill sends SIGKILL to the whole process group unless the leader has
// already exited. cause, if the first reason given, ends up in ExitError.
func (p *proc) kill(cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return
	}
	if p.cause == nil {
		p.cause = cause
	}
	_ = unix.Kill(-p.pid, unix.SIGKILL)
}

// running reports whether the process has not been reaped yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) exitError(waitErr error) error {
	ps := p.cmd.ProcessState
	if ps == nil {
		return fmt.Errorf("wait for %s: %w", p.cmd.Path, waitErr)
	}
	if ps.Success() {
		return nil
	}
	p.mu.Lock()
	cause := p.cause
	p.mu.Unlock()
	e := &ExitError{Code: ps.ExitCode(), Stderr: p.out.String(), Cause: cause}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
	}
	return e
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
