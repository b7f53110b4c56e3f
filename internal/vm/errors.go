package vm

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoKVM means KVM cannot be used on this host: /dev/kvm is missing or not
// read-write, or QEMU could not run a vCPU with it. Use AccelTCG instead.
var ErrNoKVM = errors.New("kvm not usable")

// ErrNotRunning is returned by QMP calls when QEMU has exited or the Machine
// has been closed. When QEMU exited with a failure, the error also wraps the
// *ExitError.
var ErrNotRunning = errors.New("qemu is not running")

// ErrClosed is the Cause of the ExitError of a QEMU that this package
// killed because its Machine was closed (or killed) by its owner.
var ErrClosed = errors.New("killed by its owner")

// OptionsError reports a bad field in Options.
type OptionsError struct {
	Field   string // Options field name, e.g. "SSHPort"
	Problem string // what is wrong and what to do about it
}

func (e *OptionsError) Error() string {
	return fmt.Sprintf("vm options: %s: %s", e.Field, e.Problem)
}

// ExitError reports that a QEMU process ended unsuccessfully: a non-zero
// exit status, or death by a signal (including the SIGKILL this package sends
// when a context is cancelled or Close runs out of patience).
type ExitError struct {
	Code   int            // exit status; -1 when killed by a signal
	Signal syscall.Signal // the signal that killed QEMU, or 0
	Stderr string         // tail of QEMU's stderr (and stdout)
	// Cause is why this package killed QEMU: the context's cause when the
	// context given to Start was cancelled, nil otherwise.
	Cause error
}

func (e *ExitError) Error() string {
	var b strings.Builder
	if e.Signal != 0 {
		fmt.Fprintf(&b, "qemu killed by %s", unix.SignalName(e.Signal))
	} else {
		fmt.Fprintf(&b, "qemu exited with status %d", e.Code)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	if line := lastLine(e.Stderr); line != "" {
		fmt.Fprintf(&b, ": %s", line)
	}
	return b.String()
}

// KilledFromOutside reports whether QEMU died by a signal this package did
// not send: the OOM killer, a user, another program. That is the lab's
// failure, never the guest kernel's.
func (e *ExitError) KilledFromOutside() bool { return e.Signal != 0 && e.Cause == nil }

// HostForwardFailed reports whether QEMU exited because it could not bind a
// host forwarding port (another process took it): QEMU says so on stderr,
// "Could not set up host forwarding rule". Start again with another port.
func (e *ExitError) HostForwardFailed() bool {
	return e.Signal == 0 && e.Code != 0 && strings.Contains(e.Stderr, "Could not set up host forwarding rule")
}

// Unwrap returns Cause, so errors.Is(err, context.Canceled) holds for a QEMU
// killed by cancellation.
func (e *ExitError) Unwrap() error { return e.Cause }

// QMPError is an error reply from QEMU to a QMP command. QEMU got the command
// and refused it; the connection is still good.
//
// go-qemu's socket monitor passes on only the reply's "desc", not its
// "class", so no class is reported here.
type QMPError struct {
	Command string // QMP command name, e.g. "query-status"
	Desc    string // QEMU's description of the error
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: qemu replied with error: %s", e.Command, e.Desc)
}

// lastLine returns the last non-blank line of s, trimmed.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// tailLines returns at most the last n lines of s, trimmed, joined by "; ".
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
