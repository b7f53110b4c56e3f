//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
	"golang.org/x/sys/unix"
)

func seq(from, n int, times int) []uint64 {
	var out []uint64
	for r := 0; r < times; r++ {
		for i := 0; i < n; i++ {
			out = append(out, 0xffffffff81000000+uint64(from+i))
		}
	}
	return out
}

func tr(pcs []uint64) kcov.Trace { return kcov.Trace{Count: uint64(len(pcs)), PCs: pcs} }

// Each row is what a broken kernel's unique mode looks like; only the
// clean one may pass.
func TestJudge(t *testing.T) {
	traces := [2]kcov.Trace{tr(seq(0, 200, 20)), tr(seq(0, 200, 20))}
	cases := []struct {
		name   string
		traces [2]kcov.Trace
		u      kcov.Trace
		bits   int
		pass   bool
		want   string
	}{
		{"clean: each PC once, one bit each", traces, tr(seq(0, 200, 1)), 200, true, ""},
		{"clean with a slow path skipped once", traces, tr(seq(0, 198, 1)), 198, true, ""},
		{"records every hit (no dedup)", traces, tr(seq(0, 200, 20)), 200, false, "more than once"},
		{"records only repeats", traces, tr(seq(0, 200, 19)), 200, false, "bitmap bits 200 != unique-mode records 3800"},
		{"indices collide: coverage lost", traces, tr(seq(0, 8, 1)), 8, false, "lost 192 of the 200"},
		{"work did not repeat", [2]kcov.Trace{tr(seq(0, 200, 1)), tr(seq(0, 200, 1))}, tr(seq(0, 200, 1)), 200, false, "repeated no PC"},
		{"nothing recorded", traces, tr(nil), 0, false, "recorded nothing"},
		{"a buffer filled up", [2]kcov.Trace{{Count: 10, PCs: seq(0, 5, 2), Saturated: true}, traces[1]}, tr(seq(0, 200, 1)), 200, false, "filled up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := scenarios.Outcome{Metrics: map[string]float64{}}
			judge(&o, c.traces, c.u, c.bits)
			if o.Pass != c.pass {
				t.Fatalf("pass = %v, want %v; evidence %q", o.Pass, c.pass, o.Evidence)
			}
			if c.want != "" && !strings.Contains(strings.Join(o.Evidence, "\n"), c.want) {
				t.Errorf("evidence %q lacks %q", o.Evidence, c.want)
			}
		})
	}
}

// A session in which the thread slept is seen (red: it would be judged
// as if the work alone were in its trace).
func TestSessionSeesASleep(t *testing.T) {
	var got string
	kcov.OnNewThread(func() {
		s := startSession(&work{})
		ts := unix.NsecToTimespec(int64(2 * time.Millisecond))
		unix.Nanosleep(&ts, nil)
		got = s.end()
	})
	if !strings.Contains(got, "slept") {
		t.Errorf("a session with a 2 ms sleep: %q, want it seen as slept", got)
	}
}

// nextTick returns on a later tick of the coarse clock (red: a session
// could start in the tick of the previous one's last pipe write).
func TestNextTick(t *testing.T) {
	w := &work{}
	var before, after unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &before)
	w.nextTick()
	unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &after)
	if after == before {
		t.Errorf("coarse clock still at %v after nextTick", before)
	}
}
