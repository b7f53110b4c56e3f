package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kcovlab/kcovlab/internal/crash"
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
	switch {
	case e.Crash != nil:
		// The report, symbolized, says more than the console's raw tail.
		msg += "\n  crash: " + e.Crash.Title + "\n  guilty frame: " + e.Crash.Guilty
		if len(e.Crash.Others) > 0 {
			msg += "\n  then: " + strings.Join(e.Crash.Others, "; ")
		}
		msg += "\n  report:\n" + indent(e.Crash.Report, "  | ")
	case e.ConsoleTail != "":
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

// KernelCrash is a kernel report found on the console (an oops, BUG,
// WARNING, KASAN, lockdep, stall or panic, see internal/crash): the first
// one, which is what matters; Others titles the reports after it.
type KernelCrash struct {
	Title string
	// Kind is the report's class: "oops", "warning", "kasan", ...
	Kind string
	// Guilty is the frame the report is blamed on, "func (file)", or
	// "unknown" when no frame could be read.
	Guilty string
	// Report is the report's console text, raw addresses symbolized.
	Report string
	Others []string
	// Start is the report's byte offset in the console it was read from.
	Start int
	// console is the console text FindCrash read the report from, for
	// evidence that needs more of it than the report (the boot gate's).
	console string
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

// FindCrash returns the first kernel report in a console log, or nil;
// syms (nil for none) symbolizes its raw addresses.
func FindCrash(console string, syms crash.Symbols) *KernelCrash {
	reps := crash.Parse(console, syms)
	if len(reps) == 0 {
		return nil
	}
	c := kernelCrash(reps[0])
	c.console = console
	for _, r := range reps[1:] {
		c.Others = append(c.Others, r.Title)
	}
	return c
}

// crashReportLines bounds the report text kept in errors and result.json.
const crashReportLines = 80

func kernelCrash(r *crash.Report) *KernelCrash {
	return &KernelCrash{Title: r.Title, Kind: string(r.Kind), Guilty: guiltyName(r.Guilty), Report: head(r.Text, crashReportLines), Start: r.Start}
}

// guiltyName is a guilty frame as evidence shows it: "func (file)",
// without the offset, so that the same frame reads the same in every
// boot.
func guiltyName(f crash.Frame) string {
	switch {
	case f.Func == "":
		return "unknown"
	case f.Where != "":
		return f.Func + " (" + f.Where + ")"
	}
	return f.Func
}

// head returns the first n lines of s.
func head(s string, n int) string {
	if lines := strings.SplitAfter(s, "\n"); len(lines) > n {
		return strings.Join(lines[:n], "")
	}
	return s
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"), "\n")
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
