package vm

import (
	"context"
	"errors"
	"fmt"
	kproc "github.com/kcovlab/kcovlab/internal/proc"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// closeGrace is how long Close waits for QEMU to obey QMP quit before it
// kills the process group.
const closeGrace = 5 * time.Second

// exitSettle bounds how long a QMP call that lost its connection waits for
// QEMU's exit to be observed, so it can report ErrNotRunning.
const exitSettle = 500 * time.Millisecond

// Machine is one running QEMU process and the QMP connection to it. It owns
// the process: Close (or cancelling Start's context) kills and reaps it.
// Its methods are safe for concurrent use.
type Machine struct {
	log     *slog.Logger
	argv    []string
	qmpPath string
	p       *proc
	grace   time.Duration // Close's patience for QMP quit

	sem    chan struct{} // holds one token while the QMP connection is (re)made or dropped
	conn   *qmpConn      // guarded by sem; nil until first use or after a loss
	closed bool          // guarded by sem
	bg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Start checks o, then starts QEMU in its own process group and returns at
// once; it does not wait for the guest to boot. Cancelling ctx kills QEMU's
// process group at any time; the Machine must still be closed. log may be nil.
//
// With AccelKVM, Start fails with an error wrapping ErrNoKVM when /dev/kvm
// cannot be opened read-write.
func Start(ctx context.Context, o Options, log *slog.Logger) (*Machine, error) {
	argv, err := o.Argv()
	if err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	if err := preflight(o, argv[0]); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	var out *os.File
	if o.Detach {
		if out, err = os.OpenFile(o.OutputLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return nil, fmt.Errorf("start qemu: %w", err)
		}
		defer out.Close() // QEMU holds its own copy
	}
	return startMachineOut(ctx, argv, o.QMPSocket, log, out)
}

// preflight catches mistakes QEMU would report less clearly, and removes a
// QMP socket left behind by an earlier QEMU so that waiting for the socket
// to appear means waiting for this QEMU.
func preflight(o Options, qemu string) error {
	if _, err := exec.LookPath(qemu); err != nil {
		return &OptionsError{Field: "QEMU", Problem: fmt.Sprintf("%v: install QEMU or set the binary's path", err)}
	}
	for _, f := range []struct{ field, path string }{{"Kernel", o.Kernel}, {"Initrd", o.Initrd}, {"Firmware", o.Firmware}} {
		if f.path == "" {
			continue // only Firmware may be empty: Argv checked the others
		}
		if _, err := os.Stat(f.path); err != nil {
			return &OptionsError{Field: f.field, Problem: fmt.Sprintf("%v: build it first or fix the path", err)}
		}
	}
	if o.Accel == AccelKVM {
		if err := openKVM(); err != nil {
			return fmt.Errorf("accel kvm: %w: %w", ErrNoKVM, err)
		}
	}
	return removeStaleSocket(o.QMPSocket)
}

// removeStaleSocket removes path if it is a unix socket and refuses to touch
// anything else.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("qmp socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return &OptionsError{Field: "QMPSocket", Problem: fmt.Sprintf("%s exists and is not a socket: choose another path", path)}
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale qmp socket: %w", err)
	}
	return nil
}

// startMachine runs argv (a full QEMU command line with -qmp on qmpPath).
func startMachine(ctx context.Context, argv []string, qmpPath string, log *slog.Logger) (*Machine, error) {
	return startMachineOut(ctx, argv, qmpPath, log, nil)
}

// startMachineOut is startMachine; detached is startProcOut's.
func startMachineOut(ctx context.Context, argv []string, qmpPath string, log *slog.Logger, detached *os.File) (*Machine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("starting qemu", "cmd", kproc.Quote(argv))
	p, err := startProcOut(ctx, argv, detached)
	if err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	log.Debug("qemu started", "pid", p.pid)
	m := &Machine{
		log:     log,
		argv:    append([]string(nil), argv...),
		qmpPath: qmpPath,
		p:       p,
		grace:   closeGrace,
		sem:     make(chan struct{}, 1),
	}
	return m, nil
}

// Argv returns a copy of the QEMU command line the Machine runs.
func (m *Machine) Argv() []string { return append([]string(nil), m.argv...) }

// Pid returns QEMU's process ID, which is also its process group ID.
func (m *Machine) Pid() int { return m.p.pid }

// Done is closed once QEMU has exited and been reaped.
func (m *Machine) Done() <-chan struct{} { return m.p.done }

// ExitErr returns how QEMU ended once Done is closed: nil for a clean exit
// (status 0, e.g. after QMP quit or a guest power-off), otherwise an
// *ExitError. It returns nil while QEMU runs.
func (m *Machine) ExitErr() error {
	if m.p.running() {
		return nil
	}
	return m.p.err
}

// Wait blocks until QEMU has exited and returns ExitErr.
func (m *Machine) Wait() error {
	<-m.p.done
	return m.p.err
}

// Close stops QEMU and releases everything the Machine holds. It asks QEMU
// to quit over QMP, waits up to a few seconds, then kills the process group;
// either way it reaps QEMU before returning. Close is idempotent. How QEMU
// ended is reported by Wait, not by Close.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.shutdown() })
	return m.closeErr
}

func (m *Machine) shutdown() error {
	if m.p.running() {
		ctx, cancel := context.WithTimeout(context.Background(), m.grace)
		if err := m.Quit(ctx); err != nil {
			m.log.Warn("qmp quit failed, killing qemu", "err", err)
		} else {
			select {
			case <-m.p.done:
			case <-ctx.Done():
				m.log.Warn("qemu did not exit after qmp quit, killing it", "grace", m.grace)
			}
		}
		cancel()
		m.p.kill(ErrClosed)
		<-m.p.done
	}
	m.sem <- struct{}{}
	m.closed = true
	if m.conn != nil {
		m.conn.close()
		m.conn = nil
	}
	<-m.sem
	m.bg.Wait() // handshakes given up on end now that QEMU is gone
	m.log.Info("qemu stopped", "exit", m.p.err)
	return removeStaleSocket(m.qmpPath)
}

// Release gives QEMU up without stopping it: a guest kept up after the run
// (started with Options.Detach, so it outlives this process). The context
// given to Start no longer kills it, the QMP connection is closed and Close
// does nothing more; the caller has recorded the pid for whoever stops it.
func (m *Machine) Release() {
	m.closeOnce.Do(func() {
		m.p.stopAfterFunc()
		m.sem <- struct{}{}
		m.closed = true
		if m.conn != nil {
			m.conn.close()
			m.conn = nil
		}
		<-m.sem
		m.log.Info("qemu released: it keeps running", "pid", m.p.pid)
	})
}

// Kill sends SIGKILL to QEMU's process group at once, without asking over
// QMP (a stopped or hung QEMU would not answer), and waits until it is
// reaped. why ends up as the ExitError's Cause. The Machine must still be
// closed.
func (m *Machine) Kill(why error) {
	if why == nil {
		why = ErrClosed
	}
	m.p.kill(why)
	<-m.p.done
}

// Status returns QEMU's run state from query-status: "running", "paused",
// "prelaunch", "shutdown", "internal-error", ...
func (m *Machine) Status(ctx context.Context) (string, error) {
	var st string
	err := m.do(ctx, "query-status", func(c *qmpConn) error {
		var err error
		st, err = c.status(ctx)
		return err
	})
	return st, err
}

// Quit asks QEMU to exit (QMP quit) and returns once QEMU has accepted; use
// Wait or Done to see it go.
func (m *Machine) Quit(ctx context.Context) error {
	return m.do(ctx, "quit", func(c *qmpConn) error { return c.quit(ctx) })
}

// SystemReset resets the guest (QMP system_reset) as if by its reset button.
// Under the -no-reboot that Options.Argv passes (so that a kernel panic
// ends QEMU), QEMU treats any reset as a shutdown: it exits with status 0
// and Done is closed.
func (m *Machine) SystemReset(ctx context.Context) error {
	return m.do(ctx, "system_reset", func(c *qmpConn) error { return c.systemReset(ctx) })
}

// do runs fn on the QMP connection, connecting first if needed. A failure
// other than a *QMPError drops the connection so the next call reconnects.
func (m *Machine) do(ctx context.Context, cmd string, fn func(*qmpConn) error) error {
	if !m.p.running() {
		return m.notRunning(cmd)
	}
	c, err := m.connect(ctx)
	if err != nil {
		if errors.Is(err, errGone) {
			return m.notRunning(cmd)
		}
		err = fmt.Errorf("qmp %s: %w", cmd, err)
	} else if err = fn(c); err == nil {
		return nil
	}
	var qerr *QMPError
	if errors.As(err, &qerr) {
		return err
	}
	if c != nil {
		m.drop(c)
	}
	if ctx.Err() == nil && m.exitedSoon() {
		return m.notRunning(cmd)
	}
	return err // fn's errors already name the command
}

// exitedSoon reports whether QEMU is gone or goes within exitSettle: a lost
// QMP connection usually means QEMU is exiting and not yet reaped.
func (m *Machine) exitedSoon() bool {
	t := time.NewTimer(exitSettle)
	defer t.Stop()
	select {
	case <-m.p.done:
		return true
	case <-t.C:
		return false
	}
}

func (m *Machine) notRunning(cmd string) error {
	if m.p.running() {
		return fmt.Errorf("qmp %s: %w: machine closed", cmd, ErrNotRunning)
	}
	if m.p.err != nil {
		return fmt.Errorf("qmp %s: %w: %w", cmd, ErrNotRunning, m.p.err)
	}
	return fmt.Errorf("qmp %s: %w", cmd, ErrNotRunning)
}

// connect returns the QMP connection, dialing it if there is none.
func (m *Machine) connect(ctx context.Context) (*qmpConn, error) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.sem }()
	if m.closed {
		return nil, errGone
	}
	if m.conn == nil {
		c, err := dialQMP(ctx, m.qmpPath, m.p.done, &m.bg)
		if err != nil {
			return nil, err
		}
		m.conn = c
	}
	return m.conn, nil
}

// drop closes c and forgets it if it is still the current connection.
func (m *Machine) drop(c *qmpConn) {
	m.sem <- struct{}{}
	defer func() { <-m.sem }()
	c.close()
	if m.conn == c {
		m.conn = nil
	}
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now
// and that this process has not handed out before: runs booting at once
// (a pool) never get the same port from it, however fast they ask. Another
// process may still take it before QEMU binds it; the lab retries a port
// QEMU could not bind (PortClashError).
func FreePort() (int, error) {
	handed.Lock()
	defer handed.Unlock()
	for range freePortTries {
		p, err := listenFree()
		if err != nil {
			return 0, err
		}
		if !handed.ports[p] {
			handed.ports[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("find free port: %d ports in a row were handed out before", freePortTries)
}

// freePortTries bounds how many ports FreePort asks the kernel for.
const freePortTries = 64

// handed are the ports FreePort handed out in this process.
var handed = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// listenFree asks the kernel for a free port (tests replace it).
var listenFree = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// openKVM checks that /dev/kvm can be opened read-write.
func openKVM() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}
