package sshlink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
}

// Client is one SSH connection to a guest.
type Client struct {
	c *ssh.Client
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
	return &Client{c: ssh.NewClient(conn, chans, reqs)}, nil
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
func (c *Client) Close() error { return c.c.Close() }

// Run runs command in the guest with the given streams (nil stdin sends EOF
// at once) and returns its exit code. err is non-nil only when the command's
// outcome is unknown: the session failed, the connection was lost, or ctx
// ended (which closes the session).
func (c *Client) Run(ctx context.Context, command string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	s, err := c.c.NewSession()
	if err != nil {
		return -1, fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err = s.Run(command)
	if ctx.Err() != nil {
		return -1, fmt.Errorf("ssh run %q: %w", command, ctx.Err())
	}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitStatus(), nil
	default:
		return -1, fmt.Errorf("ssh run %q: %w", command, err)
	}
}

// Output runs command and returns what it wrote to stdout and stderr.
func (c *Client) Output(ctx context.Context, command string) (stdout, stderr []byte, code int, err error) {
	var o, e bytes.Buffer
	code, err = c.Run(ctx, command, nil, &o, &e)
	return o.Bytes(), e.Bytes(), code, err
}
