package lab

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BootError means the kernel did not come up to the point where the guest
// answered SSH: QEMU exited, the kernel crashed, or the wait timed out.
type BootError struct {
	Reason string
	// Timeout is set when the guest never answered within the boot timeout
	// and the console shows no crash: the kernel hung (a console that
	// stopped), which is not counted as a crash.
	Timeout bool
	// ConsoleTail is the end of the serial console.
	ConsoleTail string
	// Crash is set when the console shows a kernel crash.
	Crash *KernelCrash
	Err   error
}

func (e *BootError) Error() string {
	msg := "boot failed: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Crash != nil {
		msg += "\n  crash: " + e.Crash.Title
	}
	if e.ConsoleTail != "" {
		msg += "\n  console tail:\n" + indent(e.ConsoleTail, "  | ")
	}
	return msg
}

func (e *BootError) Unwrap() error {
	if e.Crash != nil && e.Err == nil {
		return e.Crash
	}
	return e.Err
}

// KernelCrash is an oops, BUG or panic found on the console.
type KernelCrash struct {
	Title  string
	Report string
}

func (e *KernelCrash) Error() string { return "kernel crash: " + e.Title }

// ScenarioError means a scenario could not be run or its output not read.
type ScenarioError struct {
	Scenario string
	Err      error
}

func (e *ScenarioError) Error() string { return fmt.Sprintf("scenario %s: %v", e.Scenario, e.Err) }
func (e *ScenarioError) Unwrap() error { return e.Err }

// InfraError means the lab itself broke: a host tool is missing, QEMU could
// not start, a cache write failed. It is nobody's kernel bug.
type InfraError struct {
	Stage string
	Err   error
}

func (e *InfraError) Error() string { return fmt.Sprintf("lab %s: %v", e.Stage, e.Err) }
func (e *InfraError) Unwrap() error { return e.Err }

// GuestLostError means the lab lost a guest that was still running: QEMU
// was killed from outside (the OOM killer, a user), or the guest hung or
// its SSH connection was lost while QEMU lived, and kcovlab killed QEMU.
// It is nobody's kernel bug; it comes wrapped in an *InfraError.
type GuestLostError struct {
	Reason      string
	ConsoleTail string
	Err         error
}

func (e *GuestLostError) Error() string {
	msg := "guest lost: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.ConsoleTail != "" {
		msg += "\n  console tail:\n" + indent(e.ConsoleTail, "  | ")
	}
	return msg
}

func (e *GuestLostError) Unwrap() error { return e.Err }

// PortClashError means QEMU could not bind the host port of its SSH
// forward: another process took it between kcovlab choosing it and QEMU
// binding it. Runs retry with other ports first.
type PortClashError struct {
	Port     int
	Attempts int
	Err      error
}

func (e *PortClashError) Error() string {
	return fmt.Sprintf("ssh forward port %d taken by another process (%d attempts): %v", e.Port, e.Attempts, e.Err)
}

func (e *PortClashError) Unwrap() error { return e.Err }

// CancelledError means the run was stopped from outside (a signal, a
// cancelled context) during Stage. Cause is the context's cause.
type CancelledError struct {
	Stage string
	Cause error
}

func (e *CancelledError) Error() string {
	return fmt.Sprintf("cancelled during %s: %v", e.Stage, e.Cause)
}

// Unwrap gives context.Canceled as well as the cause (a signal).
func (e *CancelledError) Unwrap() []error { return []error{context.Canceled, e.Cause} }

// UsageError is a bad combination of options; the command line is at fault.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ErrScenarioFailed is returned by Run when every step worked but at least
// one scenario's verdict was not pass.
var ErrScenarioFailed = errors.New("a scenario failed")

// ErrNothingChecked is returned by Run when every scenario was skipped. It
// wraps ErrScenarioFailed: a run that checked nothing is not a pass.
var ErrNothingChecked = fmt.Errorf("every scenario was skipped, nothing was checked: %w", ErrScenarioFailed)

var crashStart = regexp.MustCompile(`(Kernel panic - not syncing:.*|BUG: .*|general protection fault.*|Oops: .*|WARNING: .*|kernel BUG at .*)`)

// FindCrash returns the first crash report in a console log, or nil.
func FindCrash(console string) *KernelCrash {
	loc := crashStart.FindStringIndex(console)
	if loc == nil {
		return nil
	}
	title := strings.TrimSpace(console[loc[0]:loc[1]])
	report := console[loc[0]:]
	if lines := strings.Split(report, "\n"); len(lines) > 60 {
		report = strings.Join(lines[:60], "\n")
	}
	return &KernelCrash{Title: title, Report: report}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
