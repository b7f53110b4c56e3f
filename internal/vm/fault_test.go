package vm

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startFake runs argv (a host process standing in for QEMU) as a Machine.
func startFake(t *testing.T, argv ...string) *Machine {
	t.Helper()
	m, err := startMachine(context.Background(), argv, filepath.Join(t.TempDir(), "qmp.sock"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// A QEMU killed by someone else (the OOM killer, a user) is told apart from
// one its owner killed, and from one that exited on its own.
func TestExitErrorWhoKilled(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		do      func(*Machine)
		outside bool
		fwd     bool
	}{
		{"sigkill from outside", []string{"sleep", "60"}, func(m *Machine) { syscall.Kill(m.Pid(), syscall.SIGKILL) }, true, false},
		{"sigterm from outside", []string{"sleep", "60"}, func(m *Machine) { syscall.Kill(m.Pid(), syscall.SIGTERM) }, true, false},
		{"killed by its owner", []string{"sleep", "60"}, func(m *Machine) { m.Kill(nil) }, false, false},
		{"host forward taken", []string{"sh", "-c", "echo \"qemu-system-x86_64: -netdev user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:2222-:22'\" >&2; exit 1"}, func(*Machine) {}, false, true},
		{"other failure", []string{"sh", "-c", "echo 'qemu: -no-such-option: invalid option' >&2; exit 1"}, func(*Machine) {}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := startFake(t, tt.argv...)
			tt.do(m)
			select {
			case <-m.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the process did not end")
			}
			var exit *ExitError
			if !errors.As(m.ExitErr(), &exit) {
				t.Fatalf("ExitErr = %v, want *ExitError", m.ExitErr())
			}
			if exit.KilledFromOutside() != tt.outside || exit.HostForwardFailed() != tt.fwd {
				t.Errorf("%v: KilledFromOutside %v HostForwardFailed %v, want %v %v",
					exit, exit.KilledFromOutside(), exit.HostForwardFailed(), tt.outside, tt.fwd)
			}
		})
	}
}

// The real QEMU, asked to forward a port another process holds, fails in a
// way HostForwardFailed recognises.
func TestHostForwardTakenRealQEMU(t *testing.T) {
	needQEMU(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	kernel, initrd := writeFakeKernel(t, dir)
	o := Options{
		Kernel: kernel, Initrd: initrd, Accel: AccelTCG, SSHPort: ln.Addr().(*net.TCPAddr).Port,
		QMPSocket: filepath.Join(dir, "qmp.sock"), ConsoleLog: filepath.Join(dir, "console.log"),
	}
	m, err := Start(context.Background(), o, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var exit *ExitError
	if err := m.Wait(); !errors.As(err, &exit) || !exit.HostForwardFailed() {
		t.Fatalf("Wait = %v, want a host forwarding failure", err)
	}
}
