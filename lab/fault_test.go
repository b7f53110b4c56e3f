package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// fakeQEMU starts a Machine whose "QEMU" is a shell script running script
// (it ignores QEMU's arguments), with console as its console log.
func fakeQEMU(t *testing.T, script, console string) *vm.Machine {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "qemu")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bzImage", "initrd"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	m, err := vm.Start(context.Background(), vm.Options{
		QEMU: bin, Kernel: filepath.Join(dir, "bzImage"), Initrd: filepath.Join(dir, "initrd"),
		Accel: vm.AccelTCG, SSHPort: 2222, QMPSocket: filepath.Join(dir, "qmp.sock"), ConsoleLog: console,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

const panicConsole = "[    1.0] Kernel panic - not syncing: Fatal exception\n"

// How a guest ended decides whose fault a scenario's failure is: a kernel
// crash (QEMU exits 0 under panic=-1 with the panic on the console), a QEMU
// killed from outside (lab), a hung guest that timed out or lost SSH while
// QEMU still lived (lab: QEMU is killed at once, not waited for).
func TestGuestEndClassified(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		console string
		kill    bool // SIGKILL QEMU from outside before the scenario ends
		kind    string
		crash   bool
		lost    bool
	}{
		{"panic exits 0", "exit 0", panicConsole, false, results.ErrorChannel, true, false},
		{"killed from outside", "sleep 60", "booted\n", true, results.ErrorChannel, false, true},
		{"hung guest times out", "sleep 60", "booted\n", false, results.ErrorTimeout, false, true},
		{"ssh lost, qemu lives", "sleep 60", "booted\n", false, results.ErrorChannel, false, true},
		{"scenario failed, guest fine", "sleep 60", "booted\n", false, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			console := filepath.Join(t.TempDir(), "console.log")
			os.WriteFile(console, []byte(tt.console), 0o644)
			g := &guest{m: fakeQEMU(t, tt.script, console), console: console}
			if tt.kill {
				syscall.Kill(g.m.Pid(), syscall.SIGKILL)
			}
			start := time.Now()
			crash := g.crashedAfter(context.Background(), results.Scenario{Name: "overflow", Verdict: results.Error, ErrorKind: tt.kind})
			if (crash != nil) != tt.crash || (g.lost != nil) != tt.lost {
				t.Fatalf("crash %v lost %v, want crash %v lost %v", crash, g.lost, tt.crash, tt.lost)
			}
			if tt.lost {
				if g.during != "overflow" {
					t.Errorf("during = %q", g.during)
				}
				select {
				case <-g.m.Done():
				default:
					t.Error("QEMU still runs after the guest was lost")
				}
				if !strings.Contains(g.lost.Error(), "booted") {
					t.Errorf("no console tail in %q", g.lost.Error())
				}
			}
			if d := time.Since(start); tt.kind == results.ErrorTimeout && d > 2*time.Second {
				t.Errorf("a hung guest took %s to be abandoned", d)
			}
		})
	}
}

// After a lost guest, the scenario that ran names the loss and those after
// it are not run; the run's error is the lab's. After a cancellation the
// scenarios say cancelled, not a false channel error.
func TestAfterGuest(t *testing.T) {
	r := &run{res: &results.Result{Scenarios: []results.Scenario{
		{Name: "smoke", Verdict: results.Pass},
		{Name: "overflow", Verdict: results.Error, ErrorKind: results.ErrorTimeout, Error: "scenario overflow: deadline"},
		{Name: "reset", Verdict: results.Error, ErrorKind: results.ErrorChannel, Error: "ssh session: EOF"},
	}}}
	g := &guest{lost: &GuestLostError{Reason: "hung"}, during: "overflow"}
	err := r.afterGuest(context.Background(), g, 0)
	var ie *InfraError
	if !errors.As(err, &ie) || ErrorKind(err) != "infra" {
		t.Fatalf("err = %v (kind %s), want a lab fault", err, ErrorKind(err))
	}
	s := r.res.Scenarios
	if s[0].ErrorKind != "" || s[1].ErrorKind != results.ErrorLab || !strings.Contains(s[1].Error, "guest lost: hung") ||
		s[2].ErrorKind != results.ErrorLab || !strings.HasPrefix(s[2].Error, "not run: the lab lost the guest during overflow") {
		t.Errorf("scenarios after a lost guest: %+v", s)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by SIGINT"))
	r.res.Scenarios[2] = results.Scenario{Name: "reset", Verdict: results.Error, ErrorKind: results.ErrorChannel, Error: "context canceled"}
	if err := r.afterGuest(ctx, &guest{}, 2); err != nil {
		t.Fatal(err)
	}
	if got := r.res.Scenarios[2]; got.ErrorKind != results.ErrorCancelled || !strings.Contains(got.Error, "SIGINT") {
		t.Errorf("cancelled scenario: %+v", got)
	}
}

// QEMU ending before SSH answered: whose fault, by how it ended.
func TestQEMUGoneBeforeSSH(t *testing.T) {
	dir := t.TempDir()
	quiet := filepath.Join(dir, "quiet.log")
	os.WriteFile(quiet, []byte("booting\n"), 0o644)
	panicked := filepath.Join(dir, "panic.log")
	os.WriteFile(panicked, []byte(panicConsole), 0o644)
	fwd := &vm.ExitError{Code: 1, Stderr: "qemu: Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'"}
	tests := []struct {
		name    string
		console string
		exit    error
		want    string
	}{
		{"panic, status 0", panicked, nil, "boot"},
		{"sigkill from outside", quiet, &vm.ExitError{Code: -1, Signal: syscall.SIGKILL}, "infra"},
		{"sigkill from outside after a panic", panicked, &vm.ExitError{Code: -1, Signal: syscall.SIGKILL}, "boot"},
		{"qemu failed", quiet, &vm.ExitError{Code: 1, Stderr: "qemu: bad option"}, "infra"},
		{"port taken", quiet, fwd, "port"},
		{"cancelled", quiet, &vm.ExitError{Code: -1, Signal: syscall.SIGKILL, Cause: context.Canceled}, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := qemuGone(tt.console, 2222, tt.exit)
			var pc *PortClashError
			got := ErrorKind(err)
			if errors.As(err, &pc) {
				got = "port"
			}
			if got != tt.want {
				t.Errorf("qemuGone = %v, kind %s, want %s", err, got, tt.want)
			}
		})
	}
}

// errorKind: a boot timeout (which wraps context.DeadlineExceeded) is the
// kernel's, not a cancellation; a full disk is the lab's, not the build's.
func TestErrorKindOrder(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&BootError{Reason: "no SSH answer", Timeout: true, Err: fmt.Errorf("wait: %w", context.DeadlineExceeded)}, "boot"},
		{&kbuild.DiskFullError{Path: "/cache", Err: &kbuild.BuildError{Stage: "make", Err: io.ErrShortWrite}}, "infra"},
		{&kbuild.BuildError{Stage: "make", Err: io.ErrShortWrite}, "build"},
		{&CancelledError{Stage: "boot", Cause: errors.New("SIGINT")}, "cancelled"},
		{&UsageError{Msg: "--cpus 0"}, "usage"},
		{&InfraError{Stage: "vm", Err: &GuestLostError{Reason: "hung"}}, "infra"},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
