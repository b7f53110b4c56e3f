package sshlink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrHostKeyMismatch means the guest answered with a host key other than the
// one pinned for its image: the wrong VM, or a stale image.
var ErrHostKeyMismatch = errors.New("ssh host key does not match the image's key")

// Config says how the host reaches a guest.
type Config struct {
	User    string
	Key     ssh.Signer
	HostKey ssh.PublicKey // pinned; required
	// DialTimeout bounds one connection attempt including the handshake.
	DialTimeout time.Duration
	// KeepaliveInterval is how often the client sends a
	// keepalive@openssh.com request (0: DefaultKeepaliveInterval; negative:
	// none). KeepaliveTimeout is how long it waits for the reply (0:
	// DefaultKeepaliveTimeout) before it takes the guest for hung and
	// closes the connection: every Run on it then ends with ErrKeepalive.
	KeepaliveInterval time.Duration
	KeepaliveTimeout  time.Duration
}

// Keepalive defaults: a guest under TCG whose SSH server cannot answer a
// global request within DefaultKeepaliveTimeout is hung, not slow.
const (
	DefaultKeepaliveInterval = 5 * time.Second
	DefaultKeepaliveTimeout  = 20 * time.Second
)

// ErrKeepalive means the guest stopped answering keepalives and the client
// closed the connection.
var ErrKeepalive = errors.New("ssh keepalive: the guest stopped answering")

// ErrAbandoned is returned by Run when ctx ended: the client closed the
// whole connection instead of waiting for the guest to answer, so the
// command's outcome is unknown and the connection is gone. It wraps ctx's
// error too.
var ErrAbandoned = errors.New("ssh connection closed without waiting for the guest")

// Client is one SSH connection to a guest.
type Client struct {
	c    *ssh.Client
	done chan struct{} // closed when the connection is closed, for any reason

	closeOnce sync.Once
	mu        sync.Mutex
	lost      error // why the connection ended, if not Close
}

// Dial makes one connection attempt to addr.
func Dial(ctx context.Context, addr string, cfg Config) (*Client, error) {
	if cfg.HostKey == nil || cfg.Key == nil {
		return nil, errors.New("ssh dial: host key and client key are required")
	}
	timeout := cfg.DialTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	mismatch := false
	sc := &ssh.ClientConfig{
		User: cfg.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(cfg.Key)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !bytes.Equal(key.Marshal(), cfg.HostKey.Marshal()) {
				mismatch = true
				return fmt.Errorf("%w: got %s, want %s", ErrHostKeyMismatch,
					ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(cfg.HostKey))
			}
			return nil
		},
		HostKeyAlgorithms: []string{cfg.HostKey.Type()},
		Timeout:           timeout,
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, sc)
	if err != nil {
		nc.Close()
		if mismatch {
			return nil, fmt.Errorf("ssh dial %s: %w", addr, ErrHostKeyMismatch)
		}
		return nil, fmt.Errorf("ssh dial %s: %w", addr, err)
	}
	c := &Client{c: ssh.NewClient(conn, chans, reqs), done: make(chan struct{})}
	go func() {
		c.c.Wait()
		c.closeWith(nil)
	}()
	interval, replyTimeout := cfg.KeepaliveInterval, cfg.KeepaliveTimeout
	if interval == 0 {
		interval = DefaultKeepaliveInterval
	}
	if replyTimeout <= 0 {
		replyTimeout = DefaultKeepaliveTimeout
	}
	if interval > 0 {
		go c.keepalive(interval, replyTimeout)
	}
	return c, nil
}

// keepalive sends a keepalive@openssh.com request every interval until the
// connection ends; a reply (any reply: the guest's server refuses unknown
// requests) that does not come within replyTimeout closes the connection.
func (c *Client) keepalive(interval, replyTimeout time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := c.c.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		t := time.NewTimer(replyTimeout)
		select {
		case err := <-replied:
			t.Stop()
			if err != nil {
				c.closeWith(fmt.Errorf("%w: %w", ErrKeepalive, err))
				return
			}
		case <-t.C:
			c.closeWith(fmt.Errorf("%w: no reply within %s", ErrKeepalive, replyTimeout))
			return
		case <-c.done:
			t.Stop()
			return
		}
	}
}

// closeWith closes the connection once, remembering why when it was lost.
func (c *Client) closeWith(why error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.lost = why
		c.mu.Unlock()
		c.c.Close()
		close(c.done)
	})
}

// Done is closed once the connection has ended: Close, a lost connection,
// a missed keepalive, or a Run whose context ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Lost returns why the connection ended when it was not closed by Close
// (an error wrapping ErrKeepalive, or ErrAbandoned), else nil.
func (c *Client) Lost() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

// WaitReady dials addr until the guest answers, ctx is done, or abort is
// closed (the VM exited or crashed); then it returns abortErr(). A host key
// mismatch ends the wait at once. Between attempts it waits interval.
func WaitReady(ctx context.Context, addr string, cfg Config, interval time.Duration,
	abort <-chan struct{}, abortErr func() error) (*Client, error) {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	var last error
	for {
		c, err := Dial(ctx, addr, cfg)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrHostKeyMismatch) {
			return nil, err
		}
		last = err
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for ssh on %s: %w (last attempt: %v)", addr, ctx.Err(), last)
		case <-abort:
			t.Stop()
			return nil, abortErr()
		case <-t.C:
		}
	}
}

// Close ends the connection.
func (c *Client) Close() error {
	c.closeWith(nil)
	return nil
}

// Run runs command in the guest with the given streams (nil stdin sends EOF
// at once) and returns its exit code. err is non-nil only when the command's
// outcome is unknown: the session failed, the connection was lost (a missed
// keepalive: ErrKeepalive), or ctx ended. When ctx ends Run closes the whole
// connection and returns at once, without waiting for the guest to answer
// (a hung guest never would); the error wraps ErrAbandoned and ctx.Err().
// Nothing is written to stdout or stderr after Run returns.
func (c *Client) Run(ctx context.Context, command string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("ssh run %q: %w", command, err)
	}
	s, err := c.c.NewSession()
	if err != nil {
		return -1, c.wrap(fmt.Errorf("ssh session: %w", err))
	}
	defer s.Close()
	gate := &gate{}
	s.Stdin = stdin
	s.Stdout, s.Stderr = gate.writer(stdout), gate.writer(stderr)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(command) }()
	select {
	case err = <-ran:
	case <-ctx.Done():
		gate.shut()
		c.closeWith(ErrAbandoned)
		return -1, fmt.Errorf("ssh run %q: %w: %w", command, ErrAbandoned, ctx.Err())
	}
	gate.shut()
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitStatus(), nil
	default:
		return -1, c.wrap(fmt.Errorf("ssh run %q: %w", command, err))
	}
}

// wrap adds why the connection was lost (a missed keepalive) to err.
func (c *Client) wrap(err error) error {
	if lost := c.Lost(); lost != nil {
		return fmt.Errorf("%w: %w", err, lost)
	}
	return err
}

// gate passes writes on until it is shut, then drops them, so a session's
// copy goroutines cannot write to a caller's buffer after Run returned.
type gate struct {
	mu     sync.Mutex
	closed bool
}

func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *gate) writer(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return gatedWriter{g, w}
}

type gatedWriter struct {
	g *gate
	w io.Writer
}

func (w gatedWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.closed {
		return len(p), nil
	}
	return w.w.Write(p)
}

// Output runs command and returns what it wrote to stdout and stderr.
func (c *Client) Output(ctx context.Context, command string) (stdout, stderr []byte, code int, err error) {
	var o, e bytes.Buffer
	code, err = c.Run(ctx, command, nil, &o, &e)
	return o.Bytes(), e.Bytes(), code, err
}
