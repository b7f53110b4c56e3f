package vm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dialFake connects a qmpConn to f; the connection and any abandoned
// handshake are cleaned up with the test.
func dialFake(t *testing.T, f *fakeQMP) *qmpConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var bg sync.WaitGroup
	c, err := dialQMP(ctx, f.path, nil, &bg)
	if err != nil {
		t.Fatalf("dialQMP: %v", err)
	}
	t.Cleanup(func() {
		c.close()
		bg.Wait()
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestQMPCommands(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeQMP)
		run   func(*qmpConn, context.Context) (string, error)
		want  string
	}{
		{"status", nil, (*qmpConn).status, "running"},
		{"status paused", func(f *fakeQMP) {
			f.custom["query-status"] = json.RawMessage(`{"status":"paused","running":false,"singlestep":false}`)
		}, (*qmpConn).status, "paused"},
		{"status skips events before the reply", func(f *fakeQMP) {
			f.events["query-status"] = []string{"RTC_CHANGE", "NIC_RX_FILTER_CHANGED"}
		}, (*qmpConn).status, "running"},
		{"system_reset", func(f *fakeQMP) {
			f.after["system_reset"] = []string{"RESET"}
		}, noValue((*qmpConn).systemReset), ""},
		{"quit", func(f *fakeQMP) {
			f.after["quit"] = []string{"SHUTDOWN"}
		}, noValue((*qmpConn).quit), ""},
		{"quit when qemu closes before replying", func(f *fakeQMP) {
			f.drop["quit"] = true
			f.events["quit"] = []string{"SHUTDOWN"}
		}, noValue((*qmpConn).quit), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFakeQMP(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			f.listen()
			c := dialFake(t, f)
			got, err := tt.run(c, testCtx(t))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func noValue(fn func(*qmpConn, context.Context) error) func(*qmpConn, context.Context) (string, error) {
	return func(c *qmpConn, ctx context.Context) (string, error) { return "", fn(c, ctx) }
}

func TestQMPSequence(t *testing.T) {
	checkGoroutines(t)
	f := newFakeQMP(t)
	f.after["system_reset"] = []string{"RESET", "RTC_CHANGE"}
	f.listen()
	c := dialFake(t, f)
	ctx := testCtx(t)
	if err := c.systemReset(ctx); err != nil {
		t.Fatalf("system_reset: %v", err)
	}
	if st, err := c.status(ctx); err != nil || st != "running" {
		t.Fatalf("status after reset = %q, %v; want running", st, err)
	}
	if err := c.quit(ctx); err != nil {
		t.Fatalf("quit: %v", err)
	}
	_, err := c.status(ctx)
	if !errors.Is(err, errConnLost) {
		t.Fatalf("status after quit: %v, want connection lost", err)
	}
	var qerr *QMPError
	if errors.As(err, &qerr) {
		t.Errorf("lost connection reported as a QMP error reply: %v", err)
	}
	want := []string{"qmp_capabilities", "system_reset", "query-status", "quit"}
	if got := f.commands(); !slices.Equal(got, want) {
		t.Errorf("fake got commands %q, want %q", got, want)
	}
}

func TestQMPErrorReply(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		err  fakeErr
		desc string
	}{
		{"unknown command", "bogus-command", fakeErr{},
			"The command bogus-command has not been found"},
		{"generic error", "system_reset", fakeErr{"GenericError", "reset refused"}, "reset refused"},
		{"status refused", "query-status", fakeErr{"GenericError", "no status"}, "no status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFakeQMP(t)
			if tt.err.desc != "" {
				f.errs[tt.cmd] = tt.err
			}
			f.listen()
			c := dialFake(t, f)
			ctx := testCtx(t)
			err := c.execute(ctx, tt.cmd, nil, nil)
			var qerr *QMPError
			if !errors.As(err, &qerr) {
				t.Fatalf("execute(%s) = %v, want *QMPError", tt.cmd, err)
			}
			if qerr.Command != tt.cmd || qerr.Desc != tt.desc {
				t.Errorf("got %+v, want command %q desc %q", qerr, tt.cmd, tt.desc)
			}
			// An error reply leaves the connection usable.
			if _, err := c.status(ctx); err != nil && !errors.As(err, &qerr) {
				t.Errorf("status after error reply: %v", err)
			}
		})
	}
}

func TestQMPCancelInFlight(t *testing.T) {
	checkGoroutines(t)
	f := newFakeQMP(t)
	f.hang["query-status"] = true
	f.listen()
	c := dialFake(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.status(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errConnLost) {
		t.Fatalf("status on a hung server = %v, want deadline exceeded and connection lost", err)
	}
}

func TestQMPDialWaitsForSocket(t *testing.T) {
	checkGoroutines(t)
	f := newFakeQMP(t) // not listening yet: the socket does not exist
	var bg sync.WaitGroup
	defer bg.Wait()
	type result struct {
		c   *qmpConn
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := dialQMP(testCtx(t), f.path, nil, &bg)
		res <- result{c, err}
	}()
	f.listen() // the socket appears while the dialer waits
	r := <-res
	if r.err != nil {
		t.Fatalf("dialQMP: %v", r.err)
	}
	defer r.c.close()
	if st, err := r.c.status(testCtx(t)); err != nil || st != "running" {
		t.Fatalf("status = %q, %v", st, err)
	}
}

func TestQMPDialGivesUp(t *testing.T) {
	tests := []struct {
		name   string
		silent bool // the socket exists but the server never greets
		gone   bool // signal that QEMU exited instead of a deadline
		want   error
	}{
		{"no socket, deadline", false, false, context.DeadlineExceeded},
		{"no socket, qemu gone", false, true, errGone},
		{"no greeting, deadline", true, false, context.DeadlineExceeded},
		{"no greeting, qemu gone", true, true, errGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFakeQMP(t)
			f.silent = tt.silent
			if tt.silent {
				f.listen()
			}
			ctx := testCtx(t)
			gone := make(chan struct{})
			if tt.gone {
				close(gone)
			} else {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
			}
			var bg sync.WaitGroup
			start := time.Now()
			c, err := dialQMP(ctx, f.path, gone, &bg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("dialQMP = %v, %v; want %v", c, err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("dialQMP took %v to give up", d)
			}
			if tt.silent {
				f.shutdown() // the peer going away ends the abandoned handshake
			}
			bg.Wait()
		})
	}
}

func TestClassifyRunErr(t *testing.T) {
	tests := []struct {
		name string
		err  error
		lost bool
	}{
		{"error reply", errors.New("The command x has not been found"), false},
		{"closed stream", &json.SyntaxError{}, true},
		{"eof", io.EOF, true},
		{"socket error", &net.OpError{Op: "write", Net: "unix", Err: syscall.EPIPE}, true},
		{"errno", syscall.ECONNRESET, true},
	}
	for _, tt := range tests {
		err := classifyRunErr("cmd", tt.err)
		var qerr *QMPError
		if got := errors.Is(err, errConnLost); got != tt.lost {
			t.Errorf("%s: lost = %v, want %v (%v)", tt.name, got, tt.lost, err)
		}
		if !tt.lost && (!errors.As(err, &qerr) || qerr.Desc != tt.err.Error()) {
			t.Errorf("%s: %v, want *QMPError with the desc", tt.name, err)
		}
	}
}
