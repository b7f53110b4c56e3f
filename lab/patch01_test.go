package lab

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/series"
)

func patch01Ref(t *testing.T, name string) []Frame {
	t.Helper()
	s, err := series.Load(context.Background(), filepath.Join("..", "patches", name))
	if err != nil {
		t.Fatal(err)
	}
	ref := patch01Trace(s)
	if len(ref) == 0 {
		t.Fatalf("patches/%s: patch 01's message has no trace", name)
	}
	return ref
}

func funcs(fs []Frame) string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Func)
	}
	return strings.Join(n, " ")
}

func TestPatch01Reference(t *testing.T) {
	for _, name := range []string{"v2", "v4"} {
		ref := patch01Ref(t, name)
		want := "__sanitizer_cov_trace_pc_guard fault_in_kernel_space handle_page_fault exc_page_fault asm_exc_page_fault __sanitizer_cov_trace_pc_guard sched_clock __lock_pin_lock lock_pin_lock rq_pin_lock rq_lock __schedule preempt_schedule_irq irqentry_exit asm_sysvec_reschedule_ipi selftest kcov_init do_one_initcall do_initcall_level do_initcalls kernel_init_freeable kernel_init ret_from_fork ret_from_fork_asm"
		if got := funcs(ref); got != want {
			t.Errorf("%s: patch 01 frames\n got %s\nwant %s", name, got, want)
		}
		i, ok := KCOVCaller(ref)
		if !ok || ref[i].Func != "sched_clock" {
			t.Errorf("%s: KCOV caller of patch 01's own trace = %v, want sched_clock (the outer fault's caller, not the fault handler's)", name, ref[i])
		}
	}
}

// A console as the lockdep kernel prints the crash (shape of patch 01's
// trace, timestamps and "?" frames included).
const consolePatch01 = `[    3.120000] BUG: unable to handle page fault for address: 0000000000000008
[    3.120001] RIP: 0010:__sanitizer_cov_trace_pc_guard+0x3e/0x90
[    3.120002] Call Trace:
[    3.120003]  <TASK>
[    3.120004]  ? __die+0x20/0x70
[    3.120005]  ? page_fault_oops+0x15a/0x2d0
[    3.120006]  ? exc_page_fault+0x6b/0x150
[    3.120007]  ? asm_exc_page_fault+0x26/0x30
[    3.120008]  ? __sanitizer_cov_trace_pc_guard+0x3e/0x90
[    3.120009]  sched_clock+0x9/0x40
[    3.120010]  lock_pin_lock+0x7a/0x140
[    3.120011]  __schedule+0x1b2/0xbb0
[    3.120012]  ? irqentry_exit+0x3e/0x50
[    3.120013]  preempt_schedule_irq+0x37/0x70
[    3.120014]  irqentry_exit+0x3e/0x50
[    3.120015]  asm_sysvec_apic_timer_interrupt+0x1a/0x20
[    3.120016] RIP: 0010:selftest+0x1c/0x30
[    3.120017]  kcov_init+0x53/0x60
[    3.120018]  do_one_initcall+0x77/0x260
[    3.120019]  </TASK>
`

func TestMatchFrames(t *testing.T) {
	ref := patch01Ref(t, "v2")
	for _, tc := range []struct {
		name, console string
		ok            bool
		guilty        string
		missing       string
	}{
		{"patch 01's path", consolePatch01, true, "sched_clock", "asm_sysvec_reschedule_ipi"},
		{"patch 01's own trace", mustPatch01Message(t), true, "sched_clock", ""},
		// Red: a crash in another function of tsc.c.
		{"another function", strings.ReplaceAll(consolePatch01, "sched_clock+0x9/0x40", "read_tsc+0x9/0x40"), false, "read_tsc", ""},
		// Red: sched_clock, but from the interrupt itself, not a preemption.
		{"no preemption", strings.ReplaceAll(consolePatch01, "preempt_schedule_irq+0x37/0x70", "sysvec_apic_timer_interrupt+0x37/0x70"), false, "sched_clock", ""},
		// Red: the preemption only as an unreliable "?" frame.
		{"preemption unreliable", strings.ReplaceAll(consolePatch01, "  preempt_schedule_irq+0x37", "  ? preempt_schedule_irq+0x37"), false, "sched_clock", ""},
		// Red: no KCOV frame at all (some other oops).
		{"not KCOV", "[ 1.0] BUG: kernel NULL pointer dereference\n[ 1.0] RIP: 0010:do_thing+0x1/0x2\n[ 1.0]  sched_clock+0x9/0x40\n[ 1.0]  preempt_schedule_irq+0x37/0x70\n", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MatchFrames(ParseFrames(tc.console), ref)
			if m.OK != tc.ok || m.Guilty != tc.guilty || m.Want != "sched_clock" {
				t.Errorf("match = %+v, want ok %v, guilty %q, want sched_clock", m, tc.ok, tc.guilty)
			}
			if tc.missing != "" && !strings.Contains(strings.Join(m.Missing, " "), tc.missing) {
				t.Errorf("missing %v, want it to name %s", m.Missing, tc.missing)
			}
		})
	}
}

func mustPatch01Message(t *testing.T) string {
	t.Helper()
	s, err := series.Load(context.Background(), filepath.Join("..", "patches", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	return s.Patches[0].Message
}

func TestParseFrames(t *testing.T) {
	got := ParseFrames(`[    3.1] RIP: 0010:selftest+0x1c/0x30
[    3.1]  ? __die+0x20/0x70
   __lock_pin_lock kernel/locking/lockdep.c:5628
Signed-off-by: Someone <a@b>
[    3.1] Call Trace:
[    3.1]  <TASK>
CPU: 0 UID: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.57 #1
`)
	want := []Frame{{Func: "selftest", Off: "+0x1c/0x30", RIP: true}, {Func: "__die", Off: "+0x20/0x70", Unreliable: true}, {Func: "__lock_pin_lock"}}
	if len(got) != len(want) {
		t.Fatalf("frames %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// crashEvidence on consoles: the real one of v2-no01-lockdep-selftest under
// TCG (the callback re-faults in the fault handler until the stack
// overflows, leaving no call trace), one with patch 01's trace, and a
// crash after the selftest (red: not counted as the selftest's).
func TestCrashEvidence(t *testing.T) {
	real, err := os.ReadFile(filepath.Join("testdata", "console-v2-no01-lockdep-selftest.log"))
	if err != nil {
		t.Fatal(err)
	}
	// A boot whose console is an oops loop with no RIP line (the first 300
	// lines of it): nothing ties it to KCOV (red).
	loop, err := os.ReadFile(filepath.Join("testdata", "console-v2-lockdep-selftest-oops-loop.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Another CPU's warning printed before KCOV's own report.
	_, kcovPart, _ := strings.Cut(string(real), "kcov: running self test")
	otherFirst := "[ 2.05] kcov: running self test\n[ 2.06] WARNING: CPU: 0 PID: 0 at mm/page_alloc.c:666 __rmqueue_pcplist+0x7a1/0x900" + kcovPart
	withTrace := "[ 1.40] kcov: running self test\n" + consolePatch01
	after := "[ 1.40] kcov: running self test\n[ 1.70] kcov: done running self test\n" + consolePatch01
	r := &run{def: Kernels["v2-no01-lockdep-selftest"], opts: Options{ModuleDir: ".."}}
	for _, tc := range []struct {
		name, console string
		metrics       string
		evidence      string
	}{
		{"real, no trace", string(real), "crashes_selftest crashes_selftest_window", "no call trace survived: __sanitizer_cov_trace_pc_guard faulted again"},
		{"real, excerpt", string(real), "crashes_selftest crashes_selftest_window", "console: BUG: kernel NULL pointer dereference, address: 0000000000000000 | Thread overran stack, or stack corrupted | RIP: 0010:__sanitizer_cov_trace_pc_guard+0x61/0xd0 | Call Trace: (empty)"},
		{"another CPU's warning first", otherFirst, "crashes_selftest crashes_selftest_window", "KCOV's report: BUG: kernel NULL pointer dereference, address: 0000000000000000"},
		{"real oops loop", string(loop), "crashes_other crashes_selftest_window", "guilty frame: unknown"},
		{"patch 01's trace", withTrace, "crashes_patch01 crashes_selftest crashes_selftest_window", "patch 01 trace: matches (guilty sched_clock"},
		{"after the selftest", after, "crashes_other crashes_patch01", "path: sched_clock <- lock_pin_lock <- __schedule <- preempt_schedule_irq"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crash := FindCrash(tc.console, nil)
			if crash == nil {
				t.Fatal("no crash found")
			}
			m := map[string]float64{}
			ev := strings.Join(r.crashEvidence(context.Background(), m, crash), "\n")
			var got []string
			for k := range m {
				got = append(got, k)
			}
			slices.Sort(got)
			if strings.Join(got, " ") != tc.metrics {
				t.Errorf("metrics %v, want %s\n%s", got, tc.metrics, ev)
			}
			if !strings.Contains(ev, tc.evidence) {
				t.Errorf("evidence lacks %q:\n%s", tc.evidence, ev)
			}
		})
	}
}

// The stacks scripts/first-kcov-fault.sh recovered under gdb on this
// machine (2026-11-29), as frames after the callback's RIP: without patch
// 01 they are patch 01's trace; with it the guilty frame is another
// function (red).
func TestMatchFramesGDBStacks(t *testing.T) {
	ref := patch01Ref(t, "v2")
	for _, tc := range []struct {
		name, words, guilty string
		ok                  bool
	}{
		{"v2-no01-lockdep-selftest", "sched_clock+14 lock_pin_lock+178 __schedule+352 prb_read_valid+46 preempt_schedule_irq+61 irqentry_exit+99 asm_sysvec_reschedule_ipi+22 selftest+37 kcov_init+153 do_one_initcall+420", "sched_clock", true},
		{"v2-lockdep-selftest", "arch_scale_cpu_capacity+16 update_rq_clock+151 __schedule+430 preempt_schedule_irq+61 irqentry_exit+99 asm_sysvec_apic_timer_interrupt+22 selftest+37 kcov_init+153 do_one_initcall+420", "arch_scale_cpu_capacity", false},
	} {
		frames := []Frame{{Func: "__sanitizer_cov_trace_pc_guard", Off: "+0x61/0xd0", RIP: true}}
		for _, w := range strings.Fields(tc.words) {
			fn, off, _ := strings.Cut(w, "+")
			frames = append(frames, Frame{Func: fn, Off: "+" + off})
		}
		m := MatchFrames(frames, ref)
		if m.OK != tc.ok || m.Guilty != tc.guilty {
			t.Errorf("%s: match %+v, want ok %v guilty %s", tc.name, m, tc.ok, tc.guilty)
		}
	}
}
