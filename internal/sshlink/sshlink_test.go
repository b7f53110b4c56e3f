package sshlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

type fixture struct {
	addr    string
	cfg     Config
	hostKey *KeyPair
	argvs   chan []string
}

// startServer runs a Server on loopback whose commands are answered by run,
// and stops it when the test ends.
func startServer(t *testing.T, run RunFunc) *fixture {
	t.Helper()
	return startShellServer(t, run, nil)
}

// startShellServer is startServer with shell as the server's Shell.
func startShellServer(t *testing.T, run RunFunc, shell []string) *fixture {
	t.Helper()
	dir := t.TempDir()
	host, err := GenerateKey(filepath.Join(dir, "host"), "host")
	if err != nil {
		t.Fatal(err)
	}
	client, err := GenerateKey(filepath.Join(dir, "client"), "client")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{addr: ln.Addr().String(), hostKey: host, argvs: make(chan []string, 16)}
	f.cfg = Config{User: "root", Key: client.Signer, HostKey: host.Public(), DialTimeout: 5 * time.Second}
	srv := &Server{HostKey: host.Signer, Authorized: []ssh.PublicKey{client.Public()}, Run: func(ctx context.Context, argv []string, in io.Reader, out, errw io.Writer) int {
		f.argvs <- argv
		return run(ctx, argv, in, out, errw)
	}, Shell: shell}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return f
}

func dial(t *testing.T, f *fixture) *Client {
	t.Helper()
	c, err := Dial(context.Background(), f.addr, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRunExitCodesAndStreams(t *testing.T) {
	f := startServer(t, func(_ context.Context, argv []string, _ io.Reader, out, errw io.Writer) int {
		fmt.Fprintf(out, "out:%s", strings.Join(argv[1:], "|"))
		fmt.Fprintf(errw, "err:%s", argv[0])
		if argv[0] == "fail" {
			return 3
		}
		return 0
	})
	c := dial(t, f)
	tests := []struct {
		cmd            string
		code           int
		stdout, stderr string
	}{
		{`ok a b`, 0, "out:a|b", "err:ok"},
		{`fail "x y" z`, 3, "out:x y|z", "err:fail"},
	}
	for _, tt := range tests {
		stdout, stderr, code, err := c.Output(context.Background(), tt.cmd)
		if err != nil {
			t.Fatalf("%s: %v", tt.cmd, err)
		}
		if code != tt.code || string(stdout) != tt.stdout || string(stderr) != tt.stderr {
			t.Errorf("%s: got (%d, %q, %q), want (%d, %q, %q)", tt.cmd, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestExecRunRealProcess(t *testing.T) {
	f := startServer(t, ExecRun)
	c := dial(t, f)
	stdout, _, code, err := c.Output(context.Background(), "echo hello guest")
	if err != nil || code != 0 || string(stdout) != "hello guest\n" {
		t.Fatalf("echo: %q code %d err %v", stdout, code, err)
	}
	_, stderr, code, err := c.Output(context.Background(), "/nonexistent/prog")
	if err != nil || code != 127 || len(stderr) == 0 {
		t.Fatalf("missing program: code %d stderr %q err %v", code, stderr, err)
	}
	_, _, code, err = c.Output(context.Background(), "false")
	if err != nil || code != 1 {
		t.Fatalf("false: code %d err %v", code, err)
	}
}

func TestUnauthorizedKeyRejected(t *testing.T) {
	f := startServer(t, ExecRun)
	other, err := GenerateKey(filepath.Join(t.TempDir(), "other"), "other")
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.Key = other.Signer
	if c, err := Dial(context.Background(), f.addr, cfg); err == nil {
		c.Close()
		t.Fatal("dial with an unauthorized key succeeded")
	}
}

func TestHostKeyMismatchStopsWaiting(t *testing.T) {
	f := startServer(t, ExecRun)
	wrong, err := GenerateKey(filepath.Join(t.TempDir(), "wrong"), "wrong")
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.HostKey = wrong.Public()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = WaitReady(ctx, f.addr, cfg, time.Millisecond, nil, nil)
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("got %v, want ErrHostKeyMismatch", err)
	}
	if ctx.Err() != nil {
		t.Fatal("WaitReady kept retrying after a host key mismatch")
	}
}

func TestWaitReadyUntilServerAppears(t *testing.T) {
	f := startServer(t, ExecRun)
	// Point the client at a port nobody listens on yet, then forward it to
	// the server once the first attempt has failed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	attempted := make(chan struct{})
	go func() {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
		}
		close(attempted)
	}()
	<-attempted
	type result struct {
		c   *Client
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := WaitReady(context.Background(), addr, f.cfg, 10*time.Millisecond, nil, nil)
		res <- result{c, err}
	}()
	fwd, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer fwd.Close()
	go forward(fwd, f.addr)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.c.Close()
}

// forward proxies every connection accepted on ln to target.
func forward(ln net.Listener, target string) {
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
		go func() { io.Copy(a, b); a.Close() }()
		go func() { io.Copy(b, a); b.Close() }()
	}
}

func TestWaitReadyAbort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	k, err := GenerateKey(filepath.Join(dir, "k"), "k")
	if err != nil {
		t.Fatal(err)
	}
	abort := make(chan struct{})
	close(abort)
	vmGone := errors.New("vm exited")
	_, err = WaitReady(context.Background(), addr, Config{Key: k.Signer, HostKey: k.Public()}, time.Hour, abort, func() error { return vmGone })
	if !errors.Is(err, vmGone) {
		t.Fatalf("got %v, want the abort error", err)
	}
}

func TestRunCancelClosesSession(t *testing.T) {
	f := startServer(t, func(ctx context.Context, _ []string, _ io.Reader, _, _ io.Writer) int {
		<-ctx.Done()
		return 1
	})
	c := dial(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.argvs
		cancel()
	}()
	_, err := c.Run(ctx, "block", nil, io.Discard, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestKeyFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "id")
	k, err := GenerateKey(path, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".pub"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	pub, err := ReadPublicKey(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if string(pub.Marshal()) != string(k.Public().Marshal()) {
		t.Error("public key file does not match the private key")
	}
	if !strings.HasPrefix(k.AuthorizedLine(), "ssh-ed25519 ") {
		t.Errorf("AuthorizedLine = %q", k.AuthorizedLine())
	}
}
