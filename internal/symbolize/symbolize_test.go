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

func TestAddr(t *testing.T) {
	tab := New([]Symbol{{Name: "sched_clock", Addr: 0x2000, Size: 0x70}, {Name: "read_tsc", Addr: 0x1000, Size: 0x20}})
	if a, ok := tab.Addr("sched_clock"); !ok || a != 0x2000 {
		t.Errorf("Addr(sched_clock) = %#x, %v; want 0x2000, true", a, ok)
	}
	if _, ok := tab.Addr("native_sched_clock"); ok {
		t.Error("Addr found a function the table does not have")
	}
}
