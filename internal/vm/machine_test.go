package vm

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testLogger sends the package's log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// writeFakeKernel writes a file with just enough of a bzImage header
// (boot protocol 2.15) for QEMU's -kernel loader to accept it, plus an
// initrd. The guest never runs it: tests pair it with a looping -bios.
func writeFakeKernel(t *testing.T, dir string) (kernel, initrd string) {
	t.Helper()
	k := make([]byte, 8192)
	k[0x1f1] = 1                                         // setup_sects
	copy(k[0x1fe:], []byte{0x55, 0xaa})                  // boot_flag
	copy(k[0x202:], "HdrS")                              // header magic
	binary.LittleEndian.PutUint16(k[0x206:], 0x020f)     // protocol version
	k[0x211] = 1                                         // loadflags: LOADED_HIGH
	binary.LittleEndian.PutUint32(k[0x22c:], 0x7fffffff) // initrd_addr_max
	binary.LittleEndian.PutUint32(k[0x238:], 2048)       // cmdline_size
	kernel, initrd = filepath.Join(dir, "bzImage"), filepath.Join(dir, "initrd")
	if err := os.WriteFile(kernel, k, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(initrd, make([]byte, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	return kernel, initrd
}

// loopMachine says how startLoopMachine sets QEMU up.
type loopMachine struct {
	noQMP    bool // leave out -qmp
	noReboot bool // keep -no-reboot
}

// startLoopMachine starts QEMU under TCG with a BIOS that spins at the reset
// vector.
func startLoopMachine(t *testing.T, ctx context.Context, lm loopMachine) *Machine {
	t.Helper()
	qemu := needQEMU(t)
	dir := t.TempDir()
	bios, _, err := writeBIOS(dir, loopCode)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "qmp.sock")
	argv := probeArgv(qemu, AccelTCG, bios)
	if !lm.noReboot {
		argv = slices.DeleteFunc(argv, func(a string) bool { return a == "-no-reboot" })
	}
	if !lm.noQMP {
		argv = append(argv, "-qmp", "unix:"+sock+",server=on,wait=off")
	}
	m, err := startMachine(ctx, argv, sock, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// assertReaped checks that QEMU's pid no longer exists at all: not even as
// a zombie, since the Machine reaps it.
func assertReaped(t *testing.T, m *Machine) {
	t.Helper()
	select {
	case <-m.Done():
	default:
		t.Fatal("Done is not closed")
	}
	if err := unix.Kill(m.Pid(), 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH", m.Pid(), err)
	}
	if err := unix.Kill(-m.Pid(), 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("kill(-%d, 0) = %v, want ESRCH: the process group lives on", m.Pid(), err)
	}
}

func TestMachineCloseGraceful(t *testing.T) {
	checkGoroutines(t)
	m := startLoopMachine(t, context.Background(), loopMachine{})
	ctx := testCtx(t)
	if st, err := m.Status(ctx); err != nil || st != "running" {
		t.Fatalf("Status = %q, %v; want running", st, err)
	}
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d >= closeGrace {
		t.Errorf("Close took %v: QMP quit was not obeyed", d)
	}
	assertReaped(t, m)
	if err := m.ExitErr(); err != nil {
		t.Errorf("ExitErr after quit = %v, want nil", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := m.Status(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Status after Close = %v, want ErrNotRunning", err)
	}
	if _, err := os.Lstat(m.qmpPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("QMP socket left behind: %v", err)
	}
}

func TestMachineSystemReset(t *testing.T) {
	tests := []struct {
		name     string
		noReboot bool
	}{
		{"guest restarts", false},
		{"qemu exits under -no-reboot", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			m := startLoopMachine(t, context.Background(), loopMachine{noReboot: tt.noReboot})
			ctx := testCtx(t)
			if err := m.SystemReset(ctx); err != nil {
				t.Fatalf("SystemReset: %v", err)
			}
			if tt.noReboot {
				if err := m.Wait(); err != nil {
					t.Fatalf("Wait after reset = %v, want a clean exit", err)
				}
				assertReaped(t, m)
				return
			}
			if st, err := m.Status(ctx); err != nil || st != "running" {
				t.Fatalf("Status after reset = %q, %v; want running", st, err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			assertReaped(t, m)
		})
	}
}

func TestMachineCloseKillsWithoutQMP(t *testing.T) {
	checkGoroutines(t)
	m := startLoopMachine(t, context.Background(), loopMachine{noQMP: true})
	m.grace = 300 * time.Millisecond
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertReaped(t, m)
	var exit *ExitError
	if err := m.Wait(); !errors.As(err, &exit) || exit.Signal != syscall.SIGKILL {
		t.Errorf("Wait = %v, want *ExitError for SIGKILL", err)
	}
}

func TestMachineCancelKills(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := startLoopMachine(t, ctx, loopMachine{})
	if st, err := m.Status(testCtx(t)); err != nil || st != "running" {
		t.Fatalf("Status = %q, %v; want running", st, err)
	}
	cancel()
	waitDone(t, m.Done(), 10*time.Second, "qemu after cancel")
	assertReaped(t, m)
	err := m.ExitErr()
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Signal != syscall.SIGKILL || !errors.Is(err, context.Canceled) {
		t.Errorf("ExitErr = %v, want SIGKILL *ExitError wrapping context.Canceled", err)
	}
	if _, err := m.Status(testCtx(t)); !errors.Is(err, ErrNotRunning) || !errors.Is(err, context.Canceled) {
		t.Errorf("Status after cancel = %v, want ErrNotRunning wrapping the exit", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
}

// TestStartRealArgv boots the full Options.Argv command line (with a
// looping BIOS so the fake kernel never runs): QEMU must accept every
// option, including comma-escaped paths.
func TestStartRealArgv(t *testing.T) {
	needQEMU(t)
	dir := filepath.Join(t.TempDir(), "a,b")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kernel, initrd := writeFakeKernel(t, dir)
	bios, _, err := writeBIOS(dir, loopCode)
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Kernel: kernel, Initrd: initrd, Accel: AccelTCG, CPUs: 2, MemoryMB: 256,
		SSHPort: port, QMPSocket: filepath.Join(dir, "qmp.sock"),
		ConsoleLog: filepath.Join(dir, "console.log"), ExtraArgs: []string{"-bios", bios},
	}
	m, err := Start(context.Background(), o, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if want, _ := o.Argv(); !slices.Equal(m.Argv(), want) {
		t.Errorf("Machine.Argv = %q, want %q", m.Argv(), want)
	}
	if st, err := m.Status(testCtx(t)); err != nil || st != "running" {
		t.Fatalf("Status = %q, %v; want running (exit: %v)", st, err, m.ExitErr())
	}
	if _, err := os.Stat(o.ConsoleLog); err != nil {
		t.Errorf("console log not created: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	assertReaped(t, m)
}

func TestStartEarlyExit(t *testing.T) {
	checkGoroutines(t)
	needQEMU(t)
	dir := t.TempDir()
	kernel, initrd := writeFakeKernel(t, dir)
	o := Options{
		Kernel: kernel, Initrd: initrd, Accel: AccelTCG, SSHPort: 2222,
		QMPSocket: filepath.Join(dir, "qmp.sock"), ConsoleLog: filepath.Join(dir, "console.log"),
		ExtraArgs: []string{"-no-such-option"},
	}
	m, err := Start(context.Background(), o, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, statusErr := m.Status(testCtx(t))
	var exit *ExitError
	if err := m.Wait(); !errors.As(err, &exit) || exit.Code != 1 || exit.Stderr == "" {
		t.Fatalf("Wait = %v, want *ExitError with status 1 and stderr", err)
	}
	t.Logf("early exit: %v", exit)
	if !errors.Is(statusErr, ErrNotRunning) || !errors.As(statusErr, &exit) {
		t.Errorf("Status on a dead QEMU = %v, want ErrNotRunning with the *ExitError", statusErr)
	}
}

func TestStartPreflight(t *testing.T) {
	dir := t.TempDir()
	kernel, initrd := writeFakeKernel(t, dir)
	notSocket := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notSocket, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	kvmOK := openKVM() == nil
	tests := []struct {
		name  string
		edit  func(*Options)
		field string // *OptionsError field, or "" for ErrNoKVM
		skip  bool
	}{
		{"bad options", func(o *Options) { o.SSHPort = 0 }, "SSHPort", false},
		{"missing binary", func(o *Options) { o.QEMU = "/nonexistent/qemu" }, "QEMU", false},
		{"missing kernel", func(o *Options) { o.Kernel = filepath.Join(dir, "nope") }, "Kernel", false},
		{"missing initrd", func(o *Options) { o.Initrd = filepath.Join(dir, "nope") }, "Initrd", false},
		{"qmp path is not a socket", func(o *Options) { o.QMPSocket = notSocket }, "QMPSocket", false},
		{"kvm without /dev/kvm", func(o *Options) { o.Accel = AccelKVM }, "", kvmOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("/dev/kvm opens on this host")
			}
			o := Options{
				QEMU: "sh", Kernel: kernel, Initrd: initrd, Accel: AccelTCG, SSHPort: 2222,
				QMPSocket: filepath.Join(dir, "qmp.sock"), ConsoleLog: filepath.Join(dir, "console.log"),
			}
			tt.edit(&o)
			m, err := Start(context.Background(), o, nil)
			if err == nil {
				m.Close()
				t.Fatal("Start succeeded")
			}
			var oe *OptionsError
			switch {
			case tt.field == "" && !errors.Is(err, ErrNoKVM):
				t.Errorf("Start = %v, want ErrNoKVM", err)
			case tt.field != "" && (!errors.As(err, &oe) || oe.Field != tt.field):
				t.Errorf("Start = %v, want *OptionsError for %s", err, tt.field)
			}
		})
	}
	if _, err := os.Stat(notSocket); err != nil {
		t.Errorf("Start removed a file that is not a socket: %v", err)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
}

// TestFreePortNeverTwice: the kernel may offer a port again as soon as
// the probe's listener closes; two runs booting at once must still get
// different ports.
func TestFreePortNeverTwice(t *testing.T) {
	offers := []int{40001, 40001, 40001, 40002}
	real := listenFree
	t.Cleanup(func() { listenFree = real })
	listenFree = func() (int, error) {
		p := offers[0]
		if len(offers) > 1 {
			offers = offers[1:]
		}
		return p, nil
	}
	handed.Lock()
	delete(handed.ports, 40001)
	delete(handed.ports, 40002)
	handed.Unlock()
	a, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if a != 40001 || b != 40002 {
		t.Fatalf("FreePort gave %d then %d, want 40001 then 40002 (never the same port twice)", a, b)
	}
	if _, err := FreePort(); err == nil {
		t.Fatal("FreePort handed out 40002 again")
	}
}
