package lab

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BootError means the kernel did not come up to the point where the guest
// answered SSH: QEMU exited, the kernel crashed, or the wait timed out.
type BootError struct {
	Reason string
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

// UsageError is a bad combination of options; the command line is at fault.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ErrScenarioFailed is returned by Run when every step worked but at least
// one scenario's verdict was not pass.
var ErrScenarioFailed = errors.New("a scenario failed")

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
