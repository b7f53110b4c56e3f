package vm

import (
	"encoding/json"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeQMP is an in-process QMP server on a unix socket. It speaks the QMP
// wire protocol as QEMU does: a greeting, then one JSON reply per command,
// with asynchronous events interleaved.
type fakeQMP struct {
	t    *testing.T
	path string
	ln   net.Listener

	// Set before clients connect:
	silent bool                       // accept but never greet
	hang   map[string]bool            // commands that get no reply
	drop   map[string]bool            // commands answered by closing the connection
	errs   map[string]fakeErr         // commands answered with an error
	events map[string][]string        // events sent before the reply to a command
	after  map[string][]string        // events sent after the reply
	custom map[string]json.RawMessage // replaces a command's "return" value

	mu     sync.Mutex
	got    []string   // commands received, in order
	conns  []net.Conn // to close on shutdown
	closed bool       // shutdown began: close what Accept still returns
	wg     sync.WaitGroup
}

type fakeErr struct{ class, desc string }

// newFakeQMP returns a fake whose socket is not listening yet; call listen.
func newFakeQMP(t *testing.T) *fakeQMP {
	t.Helper()
	return &fakeQMP{
		t:      t,
		path:   filepath.Join(t.TempDir(), "qmp.sock"),
		hang:   map[string]bool{},
		drop:   map[string]bool{},
		errs:   map[string]fakeErr{},
		events: map[string][]string{},
		after:  map[string][]string{},
		custom: map[string]json.RawMessage{},
	}
}

func (f *fakeQMP) listen() {
	f.t.Helper()
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.ln = ln
	f.wg.Add(1)
	go f.accept()
	f.t.Cleanup(f.shutdown)
}

// shutdown closes the listener and every connection and waits for the
// server goroutines. It is idempotent.
func (f *fakeQMP) shutdown() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeQMP) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closed {
			// Accepted while shutdown ran: nobody would close it later.
			f.mu.Unlock()
			c.Close()
			return
		}
		f.conns = append(f.conns, c)
		f.wg.Add(1)
		f.mu.Unlock()
		go f.serve(c)
	}
}

func (f *fakeQMP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func (f *fakeQMP) serve(c net.Conn) {
	defer f.wg.Done()
	defer c.Close()
	if f.silent {
		var b [1]byte
		c.Read(b[:]) // until the client or shutdown closes the connection
		return
	}
	enc, dec := json.NewEncoder(c), json.NewDecoder(c)
	enc.Encode(map[string]any{"QMP": map[string]any{
		"version": map[string]any{
			"qemu":    map[string]int{"major": 7, "minor": 2, "micro": 0},
			"package": "fake",
		},
		"capabilities": []string{"oob"},
	}})
	for {
		var req struct {
			Execute string `json:"execute"`
		}
		if err := dec.Decode(&req); err != nil {
			return
		}
		f.mu.Lock()
		f.got = append(f.got, req.Execute)
		f.mu.Unlock()
		if !f.reply(enc, req.Execute) {
			return
		}
	}
}

// reply answers one command and reports whether to keep the connection.
func (f *fakeQMP) reply(enc *json.Encoder, cmd string) bool {
	for _, ev := range f.events[cmd] {
		enc.Encode(fakeEvent(ev))
	}
	if f.hang[cmd] {
		return true
	}
	if f.drop[cmd] {
		return false
	}
	if e, ok := f.errs[cmd]; ok {
		enc.Encode(map[string]any{"error": map[string]string{"class": e.class, "desc": e.desc}})
		return true
	}
	var ret any = map[string]any{}
	switch {
	case f.custom[cmd] != nil:
		ret = f.custom[cmd]
	case cmd == "query-status":
		ret = map[string]any{"status": "running", "running": true, "singlestep": false}
	case cmd == "qmp_capabilities", cmd == "quit", cmd == "system_reset":
	default:
		enc.Encode(map[string]any{"error": map[string]string{
			"class": "CommandNotFound", "desc": "The command " + cmd + " has not been found"}})
		return true
	}
	enc.Encode(map[string]any{"return": ret})
	for _, ev := range f.after[cmd] {
		enc.Encode(fakeEvent(ev))
	}
	return cmd != "quit" // QEMU closes the monitor as it exits
}

func fakeEvent(name string) map[string]any {
	now := time.Now()
	return map[string]any{
		"event": name,
		"data":  map[string]any{"guest": false, "reason": "host-qmp-quit"},
		"timestamp": map[string]int64{
			"seconds": now.Unix(), "microseconds": int64(now.Nanosecond() / 1000),
		},
	}
}

// checkGoroutines fails the test if, at cleanup, more goroutines run than
// when it was called. Goroutines get a moment to finish exiting.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d running, %d before\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
