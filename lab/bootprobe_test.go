package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A console as a microvm boot writes it, one line arriving per millisecond.
const probeConsole = `[    0.000000] Linux version 6.12.117+
[    0.361281] smp: Brought up 1 node, 2 CPUs
[    1.894093] Run /init as init process
2026/11/29 01:54:12 Welcome to u-root!
kcovinit: up at 2.51s
kcovinit: ssh listening on 10.0.2.15:22, host key SHA256:x, at 2.60s
kcovinit: exec ["cat" "/proc/uptime"]
`

func TestBootMarks(t *testing.T) {
	m := newBootMarks()
	for i, l := range strings.Split(probeConsole, "\n") {
		now := time.Duration(i+1) * time.Millisecond
		m.bytes(now)
		m.line(l, now)
	}
	var got BootTiming
	m.fill(&got)
	want := BootTiming{FirstByte: 1 * time.Millisecond, RunInit: 3 * time.Millisecond, InitUp: 5 * time.Millisecond,
		SSHListening: 6 * time.Millisecond, GuestRunInit: 1.894093, GuestSMP: 0.361281, CPUs: 2}
	if got != want {
		t.Errorf("marks:\n got %+v\nwant %+v", got, want)
	}
	if err := got.checkCPUs(2); err != nil {
		t.Errorf("2 CPUs of 2: %v", err)
	}
}

// A kernel that brings up one CPU of two (or never says) fails the check.
func TestBootMarksTooFewCPUs(t *testing.T) {
	for _, console := range []string{
		strings.Replace(probeConsole, "2 CPUs", "1 CPU", 1),
		strings.Replace(probeConsole, "smp: Brought up", "smp: stuck", 1),
	} {
		m := newBootMarks()
		for _, l := range strings.Split(console, "\n") {
			m.line(l, time.Millisecond)
		}
		var got BootTiming
		m.fill(&got)
		if err := got.checkCPUs(2); !errors.Is(err, ErrTooFewCPUs) {
			t.Errorf("cpus=%d: err = %v, want ErrTooFewCPUs", got.CPUs, err)
		}
	}
}

// The clock times lines as they are appended to the console file, a
// partial last line included once it stops.
func TestConsoleClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	c := startConsoleClock(path, time.Now())
	time.Sleep(20 * time.Millisecond)
	os.WriteFile(path, []byte(probeConsole[:strings.Index(probeConsole, "kcovinit: ssh")]), 0o644)
	time.Sleep(30 * time.Millisecond)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("kcovinit: ssh listening on x")
	f.Close()
	time.Sleep(30 * time.Millisecond)
	c.stop()
	c.stop()
	var got BootTiming
	c.marks.fill(&got)
	if got.FirstByte < 20*time.Millisecond || got.RunInit != got.FirstByte || got.SSHListening <= got.InitUp || got.CPUs != 2 {
		t.Errorf("clock marks: %+v", got)
	}
}

func TestWaitListening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	go func() {
		time.Sleep(30 * time.Millisecond)
		os.WriteFile(path, []byte("[ 1.0] Run /init as init process\nkcovinit: ssh lis"), 0o644)
		time.Sleep(30 * time.Millisecond)
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("tening on 10.0.2.15:22\n")
		f.Close()
	}()
	start := time.Now()
	if !waitListening(t.Context(), path, nil, 5*time.Second) {
		t.Fatal("the line split across two writes was not seen")
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("returned before the line was complete")
	}
	// No line: the limit ends the wait; QEMU's exit ends it at once.
	os.WriteFile(path, []byte("Kernel panic\n"), 0o644)
	if waitListening(t.Context(), path, nil, 50*time.Millisecond) {
		t.Error("a console without the line was taken for listening")
	}
	done := make(chan struct{})
	close(done)
	if waitListening(t.Context(), path, done, time.Hour) {
		t.Error("an exited QEMU was taken for listening")
	}
}
