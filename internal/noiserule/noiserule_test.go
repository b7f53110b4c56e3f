package noiserule

import (
	"bufio"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/instrumented.txt.gz from -kernel")
	kernel = flag.String("kernel", "", "a built kernel's directory (vmlinux inside), for -update")
)

const fixture = "testdata/instrumented.txt.gz"

func TestClassify(t *testing.T) {
	for _, r := range Rules {
		for _, fn := range r.Funcs {
			for _, name := range []string{fn, fn + ".cold", fn + ".constprop.0"} {
				if got, ok := Classify(name); !ok || got.Class != r.Class || !slices.Equal(got.Funcs, r.Funcs) {
					t.Errorf("Classify(%s) = %+v %v, want the rule naming it", name, got, ok)
				}
			}
		}
	}
	// What the race's own syscalls run deterministically is never set
	// aside: whole subsystems once were (every hrtimer_*, folio_*,
	// page_*, *irq*, *fpu* function), and with them the coverage timerfd,
	// memfd and the rest record every time.
	for _, fn := range []string{
		"ksys_read", "do_statx", "kcov_ioctl", "__x64_sys_statx", "memfd_create", "inotify_init1",
		"shmem_get_inode", "kmem_cache_alloc_noprof", "do_timerfd_settime", "hrtimer_start_range_ns",
		"hrtimer_try_to_cancel", "hrtimer_init", "folio_mark_dirty", "folio_add_lru", "page_cache_ra_unbounded",
		"irq_work_queue", "fpu__clear_user_states", "task_work_run", "__fput", "lockref_get", "dput",
		"fast_dput_extra", "get_random_u32_extra",
	} {
		if r, ok := Classify(fn); ok && !r.ExtraOnly {
			t.Errorf("Classify(%s) = rule %s %v: set aside", fn, r.Class, r.Funcs)
		}
	}
}

func TestSplit(t *testing.T) {
	if len(Rules) == 0 {
		t.Skip("no rules")
	}
	noisy := Rules[0].Funcs[0]
	by, rest := Split([]string{noisy, "ksys_read", noisy + ".cold", "do_pipe2"})
	if by[Rules[0].Class] != 2 || len(by) != 1 {
		t.Errorf("by class %v", by)
	}
	if !slices.Equal(rest, []string{"do_pipe2", "ksys_read"}) {
		t.Errorf("unexplained %v", rest)
	}
}

var funcName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func TestEveryRuleSaysWhyAndWhere(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if r.Class == "" || r.Why == "" || r.Seen == "" || len(r.Funcs) == 0 {
			t.Errorf("rule %+v: needs a class, functions, a reason and where it was seen", r)
		}
		if !regexp.MustCompile(`\d+ of \d+`).MatchString(r.Seen) {
			t.Errorf("rule %v: Seen %q gives no count (\"N of M trials\")", r.Funcs, r.Seen)
		}
		for _, fn := range r.Funcs {
			if !funcName.MatchString(fn) {
				t.Errorf("rule %v: %q is not a function name (rules name functions, not patterns)", r.Funcs, fn)
			}
			if seen[fn] {
				t.Errorf("%s is in two rules", fn)
			}
			seen[fn] = true
		}
	}
}

// TestRulesMatchInstrumentedFunctions: every function a rule names is
// instrumented on this config, so that every rule can match a PC. A
// function in a file built with KCOV_INSTRUMENT := n, or in one the
// config does not build, fails here.
func TestRulesMatchInstrumentedFunctions(t *testing.T) {
	if *update {
		writeFixture(t)
	}
	inst := readFixture(t)
	if len(inst) < 1000 {
		t.Fatalf("%s lists %d functions: not a kernel's", fixture, len(inst))
	}
	for _, r := range Rules {
		for _, fn := range r.Funcs {
			if !inst[fn] {
				t.Errorf("rule %s: %s is not an instrumented function of this config (%s): it can match nothing", r.Class, fn, fixture)
			}
		}
	}
	// The fixture itself: the kernel's own instrumented code is there,
	// what is built without instrumentation is not.
	for fn, want := range map[string]bool{
		"do_statx": true, "shmem_get_inode": true, "__x64_sys_timerfd_create": true, "timerfd_create": false,
		"__schedule": false, "rcu_note_context_switch": false, "queued_spin_lock_slowpath": false,
		"___slab_alloc": false, "get_page_from_freelist": false, "native_sched_clock": false,
		"__sanitizer_cov_trace_pc_guard": false, "syscall_exit_to_user_mode": false,
	} {
		if inst[fn] != want {
			t.Errorf("fixture: %s instrumented = %v, want %v", fn, inst[fn], want)
		}
	}
}

func readFixture(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	inst := map[string]bool{}
	sc := bufio.NewScanner(z)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			inst[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return inst
}

// writeFixture lists the functions of -kernel's vmlinux that call a
// coverage hook (a direct call, e8 rel32, to __sanitizer_cov_trace_pc or
// __sanitizer_cov_trace_pc_guard): the functions KCOV can record a PC in.
func writeFixture(t *testing.T) {
	t.Helper()
	if *kernel == "" {
		t.Fatal("-update needs -kernel DIR, a built kernel's directory (~/.cache/kcovlab/kernels/KEY)")
	}
	fns, err := instrumented(filepath.Join(*kernel, "vmlinux"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Functions that call a KCOV hook in %s's vmlinux, one a line:\n", filepath.Base(*kernel))
	fmt.Fprintf(&b, "# go test ./internal/noiserule -run TestRulesMatchInstrumentedFunctions -update -kernel DIR\n")
	for _, fn := range fns {
		b.WriteString(fn + "\n")
	}
	f, err := os.Create(fixture)
	if err != nil {
		t.Fatal(err)
	}
	z, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	z.Write([]byte(b.String()))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d instrumented functions", fixture, len(fns))
}

func instrumented(vmlinux string) ([]string, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	hooks := map[uint64]bool{}
	for _, s := range syms {
		if s.Name == "__sanitizer_cov_trace_pc" || s.Name == "__sanitizer_cov_trace_pc_guard" {
			hooks[s.Value] = true
		}
	}
	if len(hooks) == 0 {
		return nil, fmt.Errorf("%s: no KCOV hook symbol", vmlinux)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, fmt.Errorf("%s: no .text", vmlinux)
	}
	code, err := text.Data()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < text.Addr || s.Value+s.Size > text.Addr+uint64(len(code)) {
			continue
		}
		body := code[s.Value-text.Addr : s.Value-text.Addr+s.Size]
		for i := 0; i+5 <= len(body); i++ {
			if body[i] != 0xe8 {
				continue
			}
			rel := int32(binary.LittleEndian.Uint32(body[i+1 : i+5]))
			if hooks[uint64(int64(s.Value)+int64(i)+5+int64(rel))] {
				name, _, _ := strings.Cut(s.Name, ".")
				seen[name] = true
				break
			}
		}
	}
	out := make([]string, 0, len(seen))
	for fn := range seen {
		out = append(out, fn)
	}
	slices.Sort(out)
	return out, nil
}
