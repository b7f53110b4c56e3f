//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"golang.org/x/sys/unix"
)

// childEnv selects the child role: "ro" or "rw", the mapping it writes to.
const childEnv = "KCOVLAB_RESET_CHILD"

// Exit codes of the child when no signal ends it.
const (
	childWrote   = 0 // the write went through (expected for rw)
	childSetup   = 3 // could not get to the write
	childNoFault = 4 // wrote to a read-only mapping and lived
)

const childTimeout = 30 * time.Second

// childEnd is how a child ended.
type childEnd struct {
	signal syscall.Signal // 0 when it exited
	exit   int
	stderr string
}

func (e childEnd) String() string {
	s := fmt.Sprintf("exited %d", e.exit)
	if e.signal != 0 {
		s = fmt.Sprintf("killed by %s (signal %d)", unix.SignalName(e.signal), int(e.signal))
	}
	if e.stderr != "" {
		s += fmt.Sprintf(", stderr %q", e.stderr)
	}
	return s
}

// children runs the fast reset in two children, through a read-only and a
// read-write mapping, and checks how each ended.
func (s *run) children() error {
	ro, err := runChild("ro")
	if err != nil {
		return err
	}
	rw, err := runChild("rw")
	if err != nil {
		return err
	}
	s.m["child_ro_signal"], s.m["child_rw_exit"] = float64(ro.signal), float64(rw.exit)
	s.r.Check("fast reset through a read-only mapping (child)", ro.signal == syscall.SIGSEGV,
		fmt.Sprintf("child %s, want SIGSEGV; parent alive", ro))
	s.r.Check("fast reset through a read-write mapping (child)", rw.signal == 0 && rw.exit == childWrote,
		fmt.Sprintf("child %s, want exit %d", rw, childWrote))
	return nil
}

// runChild re-executes this program in the given child role. The path is
// /proc/self/exe but argv[0] stays ours: in the guest's busybox binary the
// command is chosen by the base name of argv[0].
func runChild(role string) (childEnd, error) {
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{os.Args[0]}
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return childEnd{}, fmt.Errorf("child %s: %w", role, err)
	}
	end := childEnd{stderr: lastLine(stderr.String())}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return childEnd{}, fmt.Errorf("child %s: no wait status", role)
	}
	if ws.Signaled() {
		end.signal = ws.Signal()
	} else {
		end.exit = ws.ExitStatus()
	}
	return end, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// child is the child role: enable TRACE_PC through a mapping (read-only
// for "ro"), record one syscall, then do the fast reset, trace[0] = 0.
// For "ro" SIGSEGV gets its default action first, so the fault kills the
// process with that signal (the Go runtime would turn it into a crash
// with exit status 2) and the parent reads the kernel's verdict from the
// wait status; core dumps are switched off.
func child(role string) int {
	if role != "ro" && role != "rw" {
		fmt.Fprintf(os.Stderr, "%s=%q: want ro or rw\n", childEnv, role)
		return childSetup
	}
	d, err := kcov.OpenMapped(bufWords, role == "rw")
	if err == nil {
		err = d.Enable(kcov.TracePC)
	}
	if err == nil && role == "ro" {
		err = defaultSegv()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return childSetup
	}
	work()
	d.ResetCount() // faults through a read-only mapping
	if role == "ro" {
		fmt.Fprintln(os.Stderr, "wrote trace[0] through a read-only mapping without a fault")
		return childNoFault
	}
	return childWrote
}

// defaultSegv sets SIGSEGV to SIG_DFL with rt_sigaction, behind the Go
// runtime's back, and RLIMIT_CORE to 0.
func defaultSegv() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	// struct kernel_sigaction: handler (SIG_DFL = 0), flags, restorer, mask.
	var act [4]uint64
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if errno != 0 {
		return fmt.Errorf("rt_sigaction(SIGSEGV, SIG_DFL): %w", errno)
	}
	return nil
}
