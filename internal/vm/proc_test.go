package vm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pidGone reports whether pid no longer names a live process: it does not
// exist, or it is a zombie waiting for a reaper other than us.
func pidGone(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// waitPidGone fails the test unless pid (not our child) exits within d. It
// waits on a pidfd, which becomes readable when the process exits.
func waitPidGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(d.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		if n == 0 && !pidGone(pid) {
			t.Fatalf("process %d still alive after %v", pid, d)
		}
		return
	}
}

// waitDone fails the test if done is not closed within d.
func waitDone(t *testing.T, done <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: not done after %v", what, d)
	}
}

func needSh(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"sh", "sleep"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
}

// startShGroup starts a shell that backgrounds a long sleep (a grandchild in
// the same process group) and waits; it returns the proc and the sleep's pid.
func startShGroup(t *testing.T, ctx context.Context) (*proc, int) {
	t.Helper()
	dir := t.TempDir()
	w, err := watchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pidFile := filepath.Join(dir, "pid")
	script := `sleep 300 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; wait`
	p, err := startProc(ctx, []string{"sh", "-c", script, "sh", pidFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(nil); <-p.done })
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return p, pid
		}
		select {
		case <-w.C:
		case <-p.done:
			t.Fatalf("shell exited early: %v", p.err)
		case <-time.After(10 * time.Second):
			t.Fatal("grandchild pid never written")
		}
	}
}

func TestProcCancelKillsGroup(t *testing.T) {
	needSh(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, grandchild := startShGroup(t, ctx)
	cancel()
	waitDone(t, p.done, 5*time.Second, "process after cancel")
	if !pidGone(p.pid) {
		t.Errorf("leader %d still alive", p.pid)
	}
	waitPidGone(t, grandchild, 5*time.Second) // SIGKILLed with the group
	var exit *ExitError
	if !errors.As(p.err, &exit) || exit.Signal != syscall.SIGKILL {
		t.Fatalf("exit error = %v, want *ExitError with SIGKILL", p.err)
	}
	if !errors.Is(p.err, context.Canceled) {
		t.Errorf("exit error %v does not wrap context.Canceled", p.err)
	}
}

func TestProcLeaderExitKillsStragglers(t *testing.T) {
	needSh(t)
	p, grandchild := startShGroup(t, context.Background())
	// Kill only the leader: the reaper must take the rest of the group down.
	if err := unix.Kill(p.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p.done, 5*time.Second, "leader")
	waitPidGone(t, grandchild, 5*time.Second)
	if errors.Is(p.err, context.Canceled) {
		t.Errorf("exit error %v blames a context nobody cancelled", p.err)
	}
}

func TestProcExitStatus(t *testing.T) {
	needSh(t)
	tests := []struct {
		name   string
		script string
		code   int // -1: want nil error
		stderr string
	}{
		{"success", "echo fine", -1, ""},
		{"failure", "echo boom >&2; exit 7", 7, "boom"},
		{"probe-like status", "echo out; echo err >&2; exit 3", 3, "err"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := startProc(context.Background(), []string{"sh", "-c", tt.script})
			if err != nil {
				t.Fatal(err)
			}
			waitDone(t, p.done, 10*time.Second, "sh")
			if tt.code < 0 {
				if p.err != nil {
					t.Fatalf("err = %v, want nil", p.err)
				}
				return
			}
			var exit *ExitError
			if !errors.As(p.err, &exit) {
				t.Fatalf("err = %v, want *ExitError", p.err)
			}
			if exit.Code != tt.code || exit.Signal != 0 || exit.Cause != nil {
				t.Errorf("got %+v, want code %d and no signal or cause", exit, tt.code)
			}
			if !strings.Contains(exit.Stderr, tt.stderr) || !strings.Contains(exit.Error(), tt.stderr) {
				t.Errorf("stderr %q / message %q lack %q", exit.Stderr, exit.Error(), tt.stderr)
			}
		})
	}
}

func TestStartProcErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		argv []string
	}{
		{"empty argv", context.Background(), nil},
		{"missing binary", context.Background(), []string{"/nonexistent/qemu"}},
		{"cancelled context", cancelled, []string{"sh", "-c", "true"}},
	}
	for _, tt := range tests {
		if p, err := startProc(tt.ctx, tt.argv); err == nil {
			<-p.done
			t.Errorf("%s: startProc succeeded", tt.name)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef"},
		{"exact", 6, []string{"abc", "def"}, "abcdef"},
		{"drops oldest", 5, []string{"abc", "def"}, "bcdef"},
		{"one big write", 4, []string{"abcdefgh"}, "efgh"},
		{"big write after small", 4, []string{"xy", "abcdefgh"}, "efgh"},
		{"empty", 4, nil, ""},
	}
	for _, tt := range tests {
		b := newTailBuffer(tt.max)
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		if got := b.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDirWatch(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	w, err := watchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.C:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up for a created file")
	}
	if _, err := watchDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("watching a missing directory succeeded")
	}
}
