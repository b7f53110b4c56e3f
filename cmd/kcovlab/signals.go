package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/kcovlab/kcovlab/lab"
)

// signalCause is the cancellation cause a signal leaves on the context.
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string {
	return fmt.Sprintf("interrupted by %s", signalName(c.sig))
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// interrupts handles SIGINT and SIGTERM for one command: the first cancels
// the command's context (QEMU and make are killed with their process
// groups, the run dir is written with error_kind cancelled), a second one
// exits at once (Pdeathsig takes QEMU and make down with kcovlab).
type interrupts struct {
	got  atomic.Int32 // the first signal's number, 0 before any
	stop func()
}

// withInterrupts returns a context cancelled by the first SIGINT or
// SIGTERM. Call stop when the command is done.
func withInterrupts(stderr io.Writer) (context.Context, *interrupts) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	in := &interrupts{}
	in.stop = func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				sig := s.(syscall.Signal)
				if in.got.CompareAndSwap(0, int32(sig)) {
					fmt.Fprintf(stderr, "kcovlab: %s: stopping (QEMU and builds are killed, the run dir is kept); send it again to exit at once\n", signalName(sig))
					cancel(signalCause{sig})
					continue
				}
				fmt.Fprintf(stderr, "kcovlab: %s again: exiting now\n", signalName(sig))
				os.Exit(exitSignal(syscall.Signal(in.got.Load())))
			}
		}
	}()
	return ctx, in
}

// exitSignal is the shell's exit code for death by sig: 130 for SIGINT,
// 143 for SIGTERM.
func exitSignal(sig syscall.Signal) int { return 128 + int(sig) }

// code is the command's exit code: the signal's when one arrived,
// otherwise code.
func (in *interrupts) code(code int) int {
	if s := in.got.Load(); s != 0 {
		return exitSignal(syscall.Signal(s))
	}
	return code
}

// checkCommon rejects values of the shared flags that lab would otherwise
// take for "the default" (0) or find wrong only after a build: it prints
// what is wrong and returns false.
func checkCommon(name string, o *lab.Options, stderr io.Writer) bool {
	err := commonError(o)
	if err == nil {
		return true
	}
	fmt.Fprintf(stderr, "kcovlab %s: %v\n", name, err)
	return false
}

// commonError checks the flags commonFlags registers.
func commonError(o *lab.Options) error {
	var msg string
	switch {
	case o.CPUs < 1:
		msg = fmt.Sprintf("--cpus %d: want 1 or more guest vCPUs", o.CPUs)
	case o.Jobs < 1:
		msg = fmt.Sprintf("--make-jobs %d: want 1 or more make jobs", o.Jobs)
	case o.MemoryMB < lab.MinMemoryMB:
		msg = fmt.Sprintf("--memory %d: want at least %d MiB of guest memory", o.MemoryMB, lab.MinMemoryMB)
	case o.ScenarioTimeout <= 0:
		msg = fmt.Sprintf("--scenario-timeout %s: want a positive duration", o.ScenarioTimeout)
	case o.BootTimeout < 0:
		msg = fmt.Sprintf("--boot-timeout %s: want a positive duration (or 0 for the default)", o.BootTimeout)
	case o.Accel != "auto" && o.Accel != "kvm" && o.Accel != "tcg":
		msg = fmt.Sprintf("--accel %q: want auto, kvm or tcg", o.Accel)
	default:
		return nil
	}
	return errors.New(msg)
}
