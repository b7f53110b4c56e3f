package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// monitor is the part of go-qemu's qmp.Monitor that qmpConn uses.
// *qmp.SocketMonitor implements it.
type monitor interface {
	Connect() error
	Disconnect() error
	Run(command []byte) ([]byte, error)
}

var _ monitor = (*qmp.SocketMonitor)(nil)

// errConnLost marks a QMP call whose reply never arrived: the connection
// broke or was closed. Unlike a *QMPError, the connection is unusable after it.
var errConnLost = errors.New("qmp connection lost")

// errGone is returned while dialing when QEMU exits before QMP answers.
var errGone = errors.New("qemu exited before qmp answered")

const (
	qmpDialTimeout = 2 * time.Second
	// Backoff bounds for the short window in which QEMU has created its socket
	// but does not accept yet (ECONNREFUSED); inotify covers the rest.
	qmpRetryMin = 5 * time.Millisecond
	qmpRetryMax = 250 * time.Millisecond
)

// qmpConn is one negotiated QMP connection. Calls honour their context:
// cancelling one closes the connection (go-qemu has no per-call cancel), and
// the caller must then drop it.
type qmpConn struct {
	mon       monitor
	closeOnce sync.Once
	closeErr  error
}

// dialQMP connects to the QMP socket at path and performs the capabilities
// handshake. Until QEMU has created the socket it waits for the socket to
// appear, for gone to be closed (QEMU exited) or for ctx to end. A handshake
// given up on is finished in a goroutine counted in bg, which returns once
// the peer closes the connection; owners Wait on bg after QEMU is gone.
func dialQMP(ctx context.Context, path string, gone <-chan struct{}, bg *sync.WaitGroup) (*qmpConn, error) {
	w, err := watchDir(filepath.Dir(path))
	if err != nil {
		w = nil // fall back to the backoff timer alone
	}
	defer w.Close()
	backoff := qmpRetryMin
	for {
		mon, err := qmp.NewSocketMonitor("unix", path, qmpDialTimeout)
		if err == nil {
			return handshake(ctx, mon, gone, bg)
		}
		notYet := errors.Is(err, syscall.ENOENT)
		if !notYet && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("dial qmp socket %s: %w", path, err)
		}
		var wake <-chan struct{}
		var tick <-chan time.Time
		var timer *time.Timer
		if notYet && w != nil {
			wake = w.C
		} else {
			timer = time.NewTimer(backoff)
			tick = timer.C
			backoff = min(2*backoff, qmpRetryMax)
		}
		err = waitRetry(ctx, gone, wake, tick)
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return nil, fmt.Errorf("dial qmp socket %s: %w", path, err)
		}
	}
}

// waitRetry blocks until the next dial attempt is due (wake or tick fires)
// or dialing must stop (ctx ends, QEMU is gone).
func waitRetry(ctx context.Context, gone, wake <-chan struct{}, tick <-chan time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-gone:
		return errGone
	case <-wake:
	case <-tick:
	}
	return nil
}

// handshake runs go-qemu's Connect (greeting plus qmp_capabilities), which
// cannot be cancelled, in a goroutine. If ctx ends or QEMU goes first, the
// goroutine is left to finish and disconnect on its own.
func handshake(ctx context.Context, mon monitor, gone <-chan struct{}, bg *sync.WaitGroup) (*qmpConn, error) {
	result := make(chan error) // unbuffered: a send succeeds only while we wait
	abandon := make(chan struct{})
	bg.Add(1)
	go func() {
		defer bg.Done()
		err := mon.Connect()
		select {
		case result <- err:
		case <-abandon:
			mon.Disconnect()
		}
	}()
	select {
	case err := <-result:
		if err != nil {
			mon.Disconnect()
			return nil, fmt.Errorf("qmp handshake: %w", err)
		}
		return &qmpConn{mon: mon}, nil
	case <-ctx.Done():
		close(abandon)
		return nil, fmt.Errorf("qmp handshake: %w", ctx.Err())
	case <-gone:
		close(abandon)
		return nil, errGone
	}
}

// execute runs one QMP command and decodes its "return" value into ret
// (unless ret is nil). A refusal by QEMU is a *QMPError; anything else
// means the connection is lost.
func (c *qmpConn) execute(ctx context.Context, cmd string, args, ret any) error {
	req, err := json.Marshal(qmp.Command{Execute: cmd, Args: args})
	if err != nil {
		return fmt.Errorf("qmp %s: encode arguments: %w", cmd, err)
	}
	type reply struct {
		raw []byte
		err error
	}
	done := make(chan reply, 1)
	go func() {
		raw, err := c.mon.Run(req)
		done <- reply{raw, err}
	}()
	var r reply
	select {
	case r = <-done:
	case <-ctx.Done():
		c.close() // makes Run return
		<-done
		return fmt.Errorf("qmp %s: %w: %w", cmd, errConnLost, ctx.Err())
	}
	if r.err != nil {
		return classifyRunErr(cmd, r.err)
	}
	if ret == nil {
		return nil
	}
	var resp struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		return fmt.Errorf("qmp %s: decode reply: %w", cmd, err)
	}
	if err := json.Unmarshal(resp.Return, ret); err != nil {
		return fmt.Errorf("qmp %s: decode return value %s: %w", cmd, resp.Return, err)
	}
	return nil
}

// classifyRunErr sorts an error from go-qemu's Run. Run reports a QMP error
// reply as a plain error holding the reply's desc, and transport failures as
// net, I/O or JSON errors (a closed stream surfaces as a JSON syntax error).
func classifyRunErr(cmd string, err error) error {
	var (
		netErr  net.Error
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		errno   syscall.Errno
	)
	switch {
	case errors.As(err, &netErr), errors.As(err, &synErr), errors.As(err, &typeErr),
		errors.As(err, &errno), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("qmp %s: %w: %w", cmd, errConnLost, err)
	}
	return &QMPError{Command: cmd, Desc: err.Error()}
}

// status runs query-status and returns QEMU's run state, e.g. "running".
func (c *qmpConn) status(ctx context.Context) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	if err := c.execute(ctx, "query-status", nil, &st); err != nil {
		return "", err
	}
	return st.Status, nil
}

// quit asks QEMU to exit. QEMU may close the connection as it goes, so a
// lost connection after sending quit counts as success.
func (c *qmpConn) quit(ctx context.Context) error {
	err := c.execute(ctx, "quit", nil, nil)
	if errors.Is(err, errConnLost) && ctx.Err() == nil {
		return nil
	}
	return err
}

// systemReset resets the guest as if its reset button were pressed.
func (c *qmpConn) systemReset(ctx context.Context) error {
	return c.execute(ctx, "system_reset", nil, nil)
}

// close disconnects; it is safe to call more than once.
func (c *qmpConn) close() error {
	c.closeOnce.Do(func() { c.closeErr = c.mon.Disconnect() })
	return c.closeErr
}
