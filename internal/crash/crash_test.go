package crash

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/symbolize"
)

var update = flag.Bool("update", false, "rewrite testdata/*.syms from the kernels in the kcovlab cache")

// fixture is one console excerpt in testdata and what Parse must find in
// it. real-* excerpts are consoles of kcovlab runs (their raw addresses
// symbolized by testdata/NAME.syms, cut from the kernel's vmlinux);
// written-* ones are written by hand, for kinds the lean guests cannot
// trigger, as kernels with kallsyms print them.
type fixture struct {
	file    string
	kind    Kind
	title   string
	guilty  string
	reports int
	// kernel is the cache key of the kernel a real-* console came from.
	kernel string
}

var fixtures = []fixture{
	{file: "real-warn-on-reset", kernel: "24c46ff73b402ed7", kind: Warning, title: "WARNING in kcov_ioctl", guilty: "kcov_ioctl", reports: 2},
	{file: "real-boot-panic", kernel: "4420673a2f44acf4", kind: Panic, title: "kernel panic: kcov: mutant boot-panic", guilty: "kcov_init", reports: 1},
	{file: "written-tsc-selftest-oops", kind: Oops, title: "BUG: kernel NULL pointer dereference in sched_clock", guilty: "sched_clock", reports: 1},
	{file: "written-kasan", kind: KASAN, title: "KASAN: slab-out-of-bounds Write in kcov_append_unique", guilty: "kcov_append_unique", reports: 1},
	{file: "written-ubsan", kind: UBSAN, title: "UBSAN: shift-out-of-bounds in kcov_bitmap_set", guilty: "kcov_bitmap_set", reports: 1},
	{file: "written-lockdep-circular", kind: Lockdep, title: "possible deadlock in kcov_ioctl", guilty: "kcov_ioctl", reports: 1},
	{file: "written-lockdep-inconsistent", kind: Lockdep, title: "inconsistent lock state in kcov_remote_reset", guilty: "kcov_remote_reset", reports: 1},
	{file: "written-rcu-stall", kind: RCUStall, title: "INFO: rcu detected stall in kcov_unique_wait", guilty: "kcov_unique_wait", reports: 1},
	{file: "written-hung-task", kind: HungTask, title: "INFO: task hung in kcov_close", guilty: "kcov_close", reports: 1},
	{file: "written-soft-lockup", kind: SoftLockup, title: "BUG: soft lockup in kcov_bitmap_scan", guilty: "kcov_bitmap_scan", reports: 1},
	{file: "written-gpf", kind: GPF, title: "general protection fault in kcov_remote_find", guilty: "kcov_remote_find", reports: 1},
	{file: "written-kernel-bug", kind: BUG, title: "kernel BUG in vfree", guilty: "vfree", reports: 1},
	{file: "written-sleep-in-atomic", kind: BUG, title: "BUG: sleeping function called from invalid context in vmalloc_user", guilty: "vmalloc_user", reports: 1},
	{file: "real-v2-suite-clean"},
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".console"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			var syms *symFile
			var ps Symbols
			if f.kernel != "" {
				syms = loadSyms(t, f.file)
				ps = syms
			}
			reps := Parse(readFixture(t, f.file), ps)
			if len(reps) != f.reports {
				for _, r := range reps {
					t.Logf("report %s %q", r.Kind, r.Title)
				}
				t.Fatalf("%d reports, want %d", len(reps), f.reports)
			}
			if f.reports == 0 {
				return
			}
			r := reps[0]
			if r.Kind != f.kind || r.Title != f.title || r.Guilty.Func != f.guilty {
				t.Errorf("got %s %q guilty %q, want %s %q guilty %q", r.Kind, r.Title, r.Guilty.Func, f.kind, f.title, f.guilty)
			}
			if syms != nil {
				for _, fr := range r.Frames {
					if fr.Func == "" && syms.funcAt(fr.PC) {
						t.Errorf("frame %#x is left raw in the symbolized report", fr.PC)
					}
				}
			}
		})
	}
}

// Without symbols a lean kernel's report still gets its kind and a
// title from what the console says.
func TestParseRawWithoutSymbols(t *testing.T) {
	for _, c := range []struct{ file, title string }{
		{"real-warn-on-reset", "WARNING in kernel/kcov.c:762"},
		{"real-boot-panic", "kernel panic: kcov: mutant boot-panic"},
	} {
		r := First(readFixture(t, c.file), nil)
		if r == nil || r.Title != c.title || r.Guilty.Func != "" {
			t.Errorf("%s: got %+v, want title %q and no guilty function", c.file, r, c.title)
		}
	}
}

// The symbolized report reads function+offset (file) for every frame.
func TestSymbolizedText(t *testing.T) {
	r := First(readFixture(t, "real-warn-on-reset"), loadSyms(t, "real-warn-on-reset"))
	for _, want := range []string{
		"WARNING: CPU: 0 PID: 49 at kernel/kcov.c:762 kcov_ioctl+0x",
		"RIP: 0010:kcov_ioctl+0x",
		"? __x64_sys_ioctl+0x",
		"(fs/ioctl.c)",
		"? do_syscall_64+0x",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("report lacks %q:\n%s", want, r.Text)
		}
	}
	if r.Guilty.String() != "kcov_ioctl+0x"+strconv.FormatUint(r.Guilty.Off, 16)+" (kernel/kcov.c)" {
		t.Errorf("guilty frame %q", r.Guilty.String())
	}
}

// The guess unwinder's stale return addresses are not blamed: in the
// boot-panic console the first non-generic "?" frame is __d_instantiate,
// a leftover on the stack whose call goes to a coverage hook, not to
// panic; kcov_init's call goes to panic.
func TestStaleFramesAreNotBlamed(t *testing.T) {
	console := readFixture(t, "real-boot-panic")
	syms := loadSyms(t, "real-boot-panic")
	r := First(console, syms)
	if r.Guilty.Func != "kcov_init" {
		t.Fatalf("guilty %q, want kcov_init", r.Guilty.Func)
	}
	if !strings.Contains(r.Text, "? kcov_init+0x9e (kernel/kcov.c)") {
		t.Errorf("the trace is not symbolized:\n%s", r.Text)
	}
	blind := First(console, noCalls{syms})
	if blind.Guilty.Func != "__d_instantiate" {
		t.Errorf("without the call check the guilty frame is %q: the test no longer shows what the check is for", blind.Guilty.Func)
	}
}

// noCalls hides CallBefore.
type noCalls struct{ s Symbols }

func (n noCalls) Func(pc uint64) (string, uint64, bool) { return n.s.Func(pc) }
func (n noCalls) Source(pc uint64) string               { return n.s.Source(pc) }

func TestOnlyOneReportPerOopsAndPanic(t *testing.T) {
	reps := Parse(readFixture(t, "written-tsc-selftest-oops"), nil)
	if len(reps) != 1 || !strings.Contains(reps[0].Text, "Fatal exception in interrupt") {
		t.Fatalf("%d reports; the panic after the oops must end the oops's report", len(reps))
	}
}

func TestEveryReportListed(t *testing.T) {
	console := readFixture(t, "written-gpf") + "[   20.0] kcovinit: ok\n" + readFixture(t, "written-hung-task")
	// the GPF's panic ends its report; the hung task is the second.
	reps := Parse(console, nil)
	var kinds []Kind
	for _, r := range reps {
		kinds = append(kinds, r.Kind)
	}
	if !slices.Equal(kinds, []Kind{GPF, HungTask}) {
		t.Errorf("kinds %v, want [gpf hung-task]", kinds)
	}
}

func TestGeneric(t *testing.T) {
	for fn, want := range map[string]bool{
		"__sanitizer_cov_trace_pc_guard": true, "write_comp_data": true, "dump_stack_lvl": true,
		"_raw_spin_lock_irqsave": true, "__asan_load8": true, "panic": true, "report_bug": true,
		"memcpy.cold": true, "exc_page_fault": true,
		"kcov_ioctl": false, "kcov_init": false, "sched_clock": false, "kcov_remote_start": false, "vfree": false,
	} {
		if Generic(fn) != want {
			t.Errorf("Generic(%s) = %v", fn, !want)
		}
	}
}

// Short consoles that must and must not be taken for reports.
func TestHeaders(t *testing.T) {
	cases := []struct{ line, title string }{
		{"[ 1.0] WARNING: CPU: 1 PID: 201 at kernel/kcov.c:760 kcov_ioctl_locked+0x2b4/0x6a0", "WARNING in kernel/kcov.c:760"},
		{"[ 1.0] WARNING: kernel/kcov.c:760 at kcov_ioctl+0x2b4/0x6a0, CPU#1: reset/201", "WARNING in kernel/kcov.c:760"},
		{"[ 9.0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", "INFO: rcu detected stall"},
		{"[ 5.0] BUG: Bad page state in process reset  pfn:0b3f1", "BUG: Bad page state"},
		{"[ 5.0] BUG: KFENCE: use-after-free read in kcov_put+0x1/0x2", "KFENCE: use-after-free Read"},
		{"[ 5.0] BUG: spinlock recursion on CPU#0, reset/12", "BUG: spinlock recursion"},
		{"[ 5.0] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)", "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)"},
		{"[ 5.0] Oops: invalid opcode: 0000 [#1] PREEMPT SMP", "Oops: invalid opcode"},
		{"[ 5.0] WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage"},
		{"[ 5.0] random: crng init done", ""},
		{"kcovinit: exit 0: [\"unique\"][    5.307019] WARNING: CPU: 0 PID: 49 at kernel/kcov.c:762 0xffffffff811356bf", "WARNING in kernel/kcov.c:762"},
		{"kcovinit: BUG: printed by a guest program, not the kernel", ""},
		{"[ 5.0] kcovinit: exec [\"smoke\"]: BUG: not a kernel line", ""},
		{"[ 5.0] ACPI: PM: Preparing to enter system sleep state S5", ""},
		{"[ 5.0] x86/mm: Checked W+X mappings: passed, no W+X pages found.", ""},
	}
	for _, c := range cases {
		r := First(c.line+"\n", nil)
		got := ""
		if r != nil {
			got = r.Title
		}
		if got != c.title {
			t.Errorf("%q: title %q, want %q", c.line, got, c.title)
		}
	}
}

// A stall's stack is printed from the timer interrupt: the interrupt's
// own frames are not blamed, the task it interrupted is.
func TestHangSkipsInterrupt(t *testing.T) {
	console := `[   84.331021] rcu: INFO: rcu_preempt self-detected stall on CPU
[   84.332214] CPU: 1 UID: 0 PID: 230 Comm: guardrace Not tainted 6.12.117+ #7
[   84.334706] Call Trace:
[   84.334856]  <IRQ>
[   84.334971]  ktime_get_update_offsets_now+0x2e/0xd0
[   84.335653]  hrtimer_interrupt+0xfa/0x230
[   84.336841]  </IRQ>
[   84.336955]  <TASK>
[   84.337070]  asm_sysvec_apic_timer_interrupt+0x1a/0x20
[   84.337849]  kcov_unique_wait+0x2e/0x60
[   84.338046]  kcov_ioctl+0x41c/0x6a0
[   84.338718]  </TASK>
`
	if r := First(console, nil); r.Title != "INFO: rcu detected stall in kcov_unique_wait" {
		t.Errorf("title %q: the interrupt that printed the stall was blamed", r.Title)
	}
	// The same stack in a WARNING is blamed where it happened, interrupt or not.
	warn := strings.Replace(console, "rcu: INFO: rcu_preempt self-detected stall on CPU", "WARNING: CPU: 1 PID: 230 at kernel/time/timekeeping.c:1 ktime_get_update_offsets_now+0x2e/0xd0", 1)
	if r := First(warn, nil); r.Title != "WARNING in ktime_get_update_offsets_now" {
		t.Errorf("title %q", r.Title)
	}
}

// symFile is a fixture's symbols: the functions its raw addresses fall
// in and the call before each, as the kernel's vmlinux has them.
type symFile struct {
	funcs []symFunc
	calls map[uint64][2]uint64 // ret -> {target, isCall}
}

type symFunc struct {
	name       string
	addr, size uint64
	source     string
}

func (s *symFile) Func(pc uint64) (string, uint64, bool) {
	for _, f := range s.funcs {
		if pc >= f.addr && pc < f.addr+f.size {
			return f.name, pc - f.addr, true
		}
	}
	return "", 0, false
}

func (s *symFile) funcAt(pc uint64) bool { _, _, ok := s.Func(pc); return ok }

func (s *symFile) Source(pc uint64) string {
	for _, f := range s.funcs {
		if pc >= f.addr && pc < f.addr+f.size {
			return f.source
		}
	}
	return ""
}

func (s *symFile) CallBefore(ret uint64) (uint64, bool, bool) {
	c, ok := s.calls[ret]
	return c[0], c[1] == 1, ok
}

func loadSyms(t *testing.T, name string) *symFile {
	t.Helper()
	path := filepath.Join("testdata", name+".syms")
	if *update {
		writeSyms(t, name, path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &symFile{calls: map[uint64][2]uint64{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Split(sc.Text(), "\t")
		hex := func(i int) uint64 { v, _ := strconv.ParseUint(w[i], 16, 64); return v }
		switch {
		case strings.HasPrefix(sc.Text(), "#"):
		case w[0] == "func" && len(w) == 5:
			s.funcs = append(s.funcs, symFunc{name: w[1], addr: hex(2), size: hex(3), source: w[4]})
		case w[0] == "call" && len(w) == 4:
			s.calls[hex(1)] = [2]uint64{hex(2), hex(3)}
		default:
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
	}
	return s
}

var fixtureAddr = regexp.MustCompile(`0x(ffffffff[0-9a-f]{8})`)

// writeSyms cuts a fixture's symbols out of its kernel in the cache.
func writeSyms(t *testing.T, name, path string) {
	t.Helper()
	var kernel string
	for _, f := range fixtures {
		if f.file == name {
			kernel = f.kernel
		}
	}
	home, _ := os.UserHomeDir()
	dir := filepath.Join(home, ".cache", "kcovlab", "kernels", kernel)
	tab, err := symbolize.Open(filepath.Join(dir, "vmlinux"))
	if err != nil {
		t.Fatalf("-update needs kernel %s in the cache: %v", kernel, err)
	}
	if ff, err := os.Open(filepath.Join(dir, "funcs.tsv")); err == nil {
		tab.AddFuncFiles(ff)
		ff.Close()
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# symbols of %s's raw addresses, cut from kernel %s's vmlinux by go test -update\n", name, kernel)
	seen := map[string]bool{}
	addFunc := func(pc uint64) {
		fn, off, ok := tab.Func(pc)
		if !ok || seen[fn] {
			return
		}
		seen[fn] = true
		size := uint64(1)
		for {
			n, o, ok := tab.Func(pc - off + size)
			if !ok || n != fn || o != size {
				break
			}
			size++
		}
		fmt.Fprintf(&out, "func\t%s\t%x\t%x\t%s\n", fn, pc-off, size, tab.Source(pc))
	}
	for _, m := range fixtureAddr.FindAllStringSubmatch(readFixture(t, name), -1) {
		pc, _ := strconv.ParseUint(m[1], 16, 64)
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		addFunc(pc)
		if target, isCall, ok := tab.CallBefore(pc); ok {
			b := 0
			if isCall {
				b = 1
			}
			fmt.Fprintf(&out, "call\t%x\t%x\t%d\n", pc, target, b)
			if target != 0 {
				addFunc(target)
			}
		}
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
