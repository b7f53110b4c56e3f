package symbolize

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildFixture compiles testdata/prog with symbols and DWARF and returns the
// binary and the address of its marker function.
func buildFixture(t *testing.T) (string, uint64) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary")
	}
	bin := filepath.Join(t.TempDir(), "prog")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/prog").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "main.marker" {
			return bin, s.Value
		}
	}
	t.Fatal("main.marker not in the fixture")
	return "", 0
}

func TestFixtureBinary(t *testing.T) {
	bin, marker := buildFixture(t)
	tab, err := Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	name, off, ok := tab.Func(marker + 2)
	if !ok || name != "main.marker" || off != 2 {
		t.Fatalf("Func = %q+%d %v", name, off, ok)
	}
	if !tab.HasDWARF() {
		t.Fatal("the fixture has DWARF, the table does not see it")
	}
	file, line, ok := tab.Line(marker)
	if !ok || !strings.HasSuffix(file, "prog/main.go") || line != 8 {
		t.Errorf("Line = %s:%d %v, want prog/main.go:8", file, line, ok)
	}
	if src := tab.Source(marker); !strings.HasSuffix(src, "prog/main.go:8") {
		t.Errorf("Source = %q, want prog/main.go:8", src)
	}
	if d := tab.Describe(marker); !strings.HasPrefix(d, "main.marker+0x0 (") {
		t.Errorf("Describe = %q", d)
	}
	if _, _, ok := tab.Func(1); ok {
		t.Error("an address below every symbol was attributed")
	}
}

func TestTextLeavesUnknownAddresses(t *testing.T) {
	tab := &Table{syms: []sym{{addr: 0xffffffff81000000, size: 0x100, name: "read_tsc"}, {addr: 0xffffffff81000200, size: 0x10, name: "ksys_read"}}}
	got := tab.Text("pc 0xffffffff81000010 and 0xffffffff81000150 and 0xffffffff81000204")
	want := "pc read_tsc+0x10 and 0xffffffff81000150 and ksys_read+0x4"
	if got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}

func TestFileFromFunctionIndex(t *testing.T) {
	tab := &Table{syms: []sym{
		{addr: 0x1000, size: 0x100, name: "read_tsc", file: "tsc.c"},
		{addr: 0x1100, size: 0x100, name: "helper", file: "b.c"},
		{addr: 0x1200, size: 0x100, name: "helper", file: "a.c"},
		{addr: 0x1300, size: 0x100, name: "ksys_read"},
		{addr: 0x1400, size: 0x100, name: "only_local", file: "x.c"},
		{addr: 0x1500, size: 0x100, name: "nowhere"},
	}}
	index := "read_tsc\tarch/x86/kernel/tsc.c\nhelper\tkernel/a.c,fs/b.c\nksys_read\tfs/read_write.c\n"
	if err := tab.AddFuncFiles(strings.NewReader(index)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pc   uint64
		want string
	}{
		{0x1004, "read_tsc+0x4 (arch/x86/kernel/tsc.c)"},
		{0x1110, "helper+0x10 (fs/b.c)"},     // told apart by its STT_FILE
		{0x1210, "helper+0x10 (kernel/a.c)"}, // the other one
		{0x1300, "ksys_read+0x0 (fs/read_write.c)"},
		{0x1400, "only_local+0x0 (x.c)"}, // not indexed: the basename
		{0x1500, "nowhere+0x0"},
	} {
		if got := tab.Describe(tc.pc); got != tc.want {
			t.Errorf("Describe(%#x) = %q, want %q", tc.pc, got, tc.want)
		}
	}
	if err := (&Table{}).AddFuncFiles(strings.NewReader("no tab here\n")); err == nil {
		t.Error("a malformed index was accepted")
	}
}

// The call before a return address, from x86-64 code bytes the v2 kernel
// has (kcov_init's call to panic, do_one_initcall's call *%rbx,
// ret_from_fork's call *%r14, a call through a RIP-relative pointer) and
// bytes that end in no call.
func TestCallBefore(t *testing.T) {
	cases := []struct {
		name   string
		b      [7]byte
		ret    uint64
		target uint64
		isCall bool
	}{
		{"direct", [7]byte{0xa8, 0x81, 0xe8, 0x52, 0x0d, 0x34, 0xff}, 0xffffffff81d4359e, 0xffffffff810842f0, true},
		{"call *%rbx", [7]byte{0xe7, 0xff, 0xff, 0x7f, 0x00, 0xff, 0xd3}, 0xffffffff81d1016e, 0, true},
		{"call *%r14", [7]byte{0x4c, 0x89, 0xe7, 0x90, 0x41, 0xff, 0xd6}, 0xffffffff81048a89, 0, true},
		{"call *disp32(%rip)", [7]byte{0x90, 0xff, 0x15, 0x10, 0x20, 0x30, 0x00}, 0x1000, 0, true},
		{"call *0x8(%rax)", [7]byte{0x90, 0x90, 0x90, 0x90, 0xff, 0x50, 0x08}, 0x1000, 0, true},
		{"jmp, not a call", [7]byte{0x48, 0x89, 0xc6, 0x0f, 0x0b, 0xeb, 0x0c}, 0xffffffff810844c1, 0, false},
		{"bytes that decode as a call either way are taken for one", [7]byte{0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xd3}, 0x1000, 0, true},
		{"ff /4 (jmp *%rax) is not a call", [7]byte{0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xe0}, 0x1000, 0, false},
	}
	for _, c := range cases {
		target, isCall := callBefore(c.b, c.ret)
		if target != c.target || isCall != c.isCall {
			t.Errorf("%s: callBefore = %#x %v, want %#x %v", c.name, target, isCall, c.target, c.isCall)
		}
	}
	if _, _, ok := New(nil).CallBefore(0x1000); ok {
		t.Error("a table with no code read code")
	}
}

// Assembly entry code has sized symbols of no type: an address in one is
// named after it, but only where no function covers the address and
// within its size.
func TestAsmSymbols(t *testing.T) {
	tab := &Table{
		syms: []sym{{addr: 0x1000, size: 0x100, name: "do_syscall_64"}},
		asm:  []sym{{addr: 0x1080, size: 0x10, name: "inner_label"}, {addr: 0x2000, size: 0xaa, name: "entry_SYSCALL_64"}},
	}
	for pc, want := range map[uint64]string{0x206c: "entry_SYSCALL_64+0x6c", 0x1084: "do_syscall_64+0x84", 0x20b0: "0x20b0"} {
		if got := tab.Describe(pc); got != want {
			t.Errorf("Describe(%#x) = %q, want %q", pc, got, want)
		}
	}
}

func TestAddr(t *testing.T) {
	tab := New([]Symbol{{Name: "sched_clock", Addr: 0x2000, Size: 0x70}, {Name: "read_tsc", Addr: 0x1000, Size: 0x20}})
	if a, ok := tab.Addr("sched_clock"); !ok || a != 0x2000 {
		t.Errorf("Addr(sched_clock) = %#x, %v; want 0x2000, true", a, ok)
	}
	if _, ok := tab.Addr("native_sched_clock"); ok {
		t.Error("Addr found a function the table does not have")
	}
}
