package sshlink

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// freezer forwards connections to a target until frozen; then it stops
// moving bytes either way but keeps the sockets open, as a guest whose
// QEMU is stopped (SIGSTOP) does.
type freezer struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen chan struct{}
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, frozen: make(chan struct{})}
	var conns []net.Conn
	var cmu sync.Mutex
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				a.Close()
				continue
			}
			cmu.Lock()
			conns = append(conns, a, b)
			cmu.Unlock()
			go f.pipe(a, b)
			go f.pipe(b, a)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	})
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-f.frozen:
			return // drop everything from now on, keep the sockets open
		default:
		}
		if n > 0 {
			dst.Write(buf[:n])
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.frozen:
	default:
		close(f.frozen)
	}
}

// hungGuest starts a server whose command blocks, a freezer in front of it,
// and a client through the freezer; the freezer freezes once the command
// runs.
func hungGuest(t *testing.T, cfg func(*Config)) (*Client, *freezer) {
	t.Helper()
	f := startServer(t, func(ctx context.Context, _ []string, _ io.Reader, _, _ io.Writer) int {
		<-ctx.Done()
		return 1
	})
	fr := newFreezer(t, f.addr)
	c := f.cfg
	cfg(&c)
	cl, err := Dial(context.Background(), fr.ln.Addr().String(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	go func() {
		<-f.argvs
		fr.freeze()
	}()
	return cl, fr
}

// A Run whose context ends returns at once even though the guest never
// answers the channel close, and the connection is closed.
func TestRunTimeoutOnHungGuestReturnsAtOnce(t *testing.T) {
	c, fr := hungGuest(t, func(c *Config) { c.KeepaliveInterval = -1 })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-fr.frozen
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := c.Run(ctx, "hang", nil, io.Discard, io.Discard)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrAbandoned) {
		t.Fatalf("got %v, want ErrAbandoned and context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Run took %s after cancel on a hung guest", d)
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("the connection is still open after an abandoned Run")
	}
}

// A guest that stops answering is detected by keepalives without any
// context deadline: Run ends with ErrKeepalive.
func TestKeepaliveDetectsHungGuest(t *testing.T) {
	c, _ := hungGuest(t, func(c *Config) {
		c.KeepaliveInterval, c.KeepaliveTimeout = 50*time.Millisecond, 300*time.Millisecond
	})
	start := time.Now()
	_, err := c.Run(context.Background(), "hang", nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrKeepalive) {
		t.Fatalf("got %v, want ErrKeepalive", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("detected after %s", d)
	}
	if !errors.Is(c.Lost(), ErrKeepalive) {
		t.Fatalf("Lost() = %v", c.Lost())
	}
}

// Keepalives to a live guest get their reply: a long command is not cut.
func TestKeepaliveKeepsLiveGuest(t *testing.T) {
	f := startServer(t, func(ctx context.Context, _ []string, _ io.Reader, out, _ io.Writer) int {
		time.Sleep(500 * time.Millisecond)
		io.WriteString(out, "done")
		return 0
	})
	cfg := f.cfg
	cfg.KeepaliveInterval, cfg.KeepaliveTimeout = 20*time.Millisecond, 200*time.Millisecond
	c, err := Dial(context.Background(), f.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, _, code, err := c.Output(context.Background(), "slow")
	if err != nil || code != 0 || string(out) != "done" {
		t.Fatalf("got %q %d %v", out, code, err)
	}
}
