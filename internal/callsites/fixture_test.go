package callsites

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kcovlab/kcovlab/internal/proc"
)

// fixture is one build of testdata/sites.c.
type fixture struct {
	Clang  string
	Source string
	Dir    string
	// Model is how code addresses data: "kernel" (-mcmodel=kernel, linked
	// at the kernel's base: mov $imm32, %rdi), "small" (non-PIC: mov
	// $imm32, %edi) or "pie" (lea sym(%rip), %rdi).
	Model string
	Guard bool // trace-pc-guard instead of trace-pc
}

func (f fixture) name() string {
	if f.Guard {
		return f.Model + "-guard"
	}
	return f.Model + "-pc"
}

func (f fixture) obj() string { return filepath.Join(f.Dir, f.name()+".o") }
func (f fixture) exe() string { return filepath.Join(f.Dir, f.name()) }

// compileArgv compiles the source into an object file.
func (f fixture) compileArgv() []string {
	argv := []string{f.Clang, "-O2", "-ffreestanding", "-fcf-protection=none", "-fno-stack-protector"}
	switch f.Model {
	case "kernel":
		argv = append(argv, "-fno-pic", "-mcmodel=kernel")
	case "small":
		argv = append(argv, "-fno-pic")
	case "pie":
		argv = append(argv, "-fpie")
	}
	if f.Guard {
		argv = append(argv, "-fsanitize-coverage=trace-pc-guard,trace-cmp", "-DSITES_GUARD")
	} else {
		argv = append(argv, "-fsanitize-coverage=trace-pc,trace-cmp")
	}
	return append(argv, "-c", f.Source, "-o", f.obj())
}

// linkArgv links the object into a freestanding static executable.
func (f fixture) linkArgv() []string {
	argv := []string{f.Clang, "-fuse-ld=lld", "-nostdlib", "-e", "main"}
	switch f.Model {
	case "kernel":
		argv = append(argv, "-static", "-Wl,--image-base=0xffffffff81000000")
	case "small":
		argv = append(argv, "-static")
	case "pie":
		argv = append(argv, "-static-pie")
	}
	return append(argv, f.obj(), "-o", f.exe())
}

func TestFixtureArgv(t *testing.T) {
	for _, tc := range []struct {
		f             fixture
		compile, link []string
	}{
		{
			f: fixture{Clang: "clang-22", Source: "s.c", Dir: "/w", Model: "kernel", Guard: true},
			compile: []string{"clang-22", "-O2", "-ffreestanding", "-fcf-protection=none", "-fno-stack-protector",
				"-fno-pic", "-mcmodel=kernel", "-fsanitize-coverage=trace-pc-guard,trace-cmp", "-DSITES_GUARD",
				"-c", "s.c", "-o", "/w/kernel-guard.o"},
			link: []string{"clang-22", "-fuse-ld=lld", "-nostdlib", "-e", "main",
				"-static", "-Wl,--image-base=0xffffffff81000000", "/w/kernel-guard.o", "-o", "/w/kernel-guard"},
		},
		{
			f: fixture{Clang: "clang", Source: "s.c", Dir: "/w", Model: "pie"},
			compile: []string{"clang", "-O2", "-ffreestanding", "-fcf-protection=none", "-fno-stack-protector",
				"-fpie", "-fsanitize-coverage=trace-pc,trace-cmp", "-c", "s.c", "-o", "/w/pie-pc.o"},
			link: []string{"clang", "-fuse-ld=lld", "-nostdlib", "-e", "main", "-static-pie", "/w/pie-pc.o", "-o", "/w/pie-pc"},
		},
	} {
		t.Run(tc.f.name(), func(t *testing.T) {
			if got := tc.f.compileArgv(); !slices.Equal(got, tc.compile) {
				t.Errorf("compileArgv:\n got %q\nwant %q", got, tc.compile)
			}
			if got := tc.f.linkArgv(); !slices.Equal(got, tc.link) {
				t.Errorf("linkArgv:\n got %q\nwant %q", got, tc.link)
			}
		})
	}
}

// findClang returns the first of clang, clang-22, clang-19 on PATH, and
// skips the test when there is none.
func findClang(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"clang", "clang-22", "clang-19"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no clang on PATH (clang, clang-22 or clang-19)")
	return ""
}

// fixtureRoot holds the fixtures built by this test binary; TestMain makes
// and removes it.
var fixtureRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callsites-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	fixtureMu    sync.Mutex
	fixturesDone = map[string]fixture{}
)

// buildFixture compiles and links testdata/sites.c once per model and mode
// for the whole test binary.
func buildFixture(t testing.TB, model string, guard bool) fixture {
	t.Helper()
	clang := findClang(t)
	src, err := filepath.Abs(filepath.Join("testdata", "sites.c"))
	if err != nil {
		t.Fatal(err)
	}
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	f := fixture{Clang: clang, Source: src, Dir: fixtureRoot, Model: model, Guard: guard}
	if done, ok := fixturesDone[f.name()]; ok {
		return done
	}
	for _, argv := range [][]string{f.compileArgv(), f.linkArgv()} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", proc.Quote(argv), err, out)
		}
	}
	fixturesDone[f.name()] = f
	return f
}

// hookRelocs counts, in the object file, the relocations of calls and
// jumps to each hook: an exact count of the call sites that does not
// decode any code.
func hookRelocs(t testing.TB, obj string) map[string]int {
	t.Helper()
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA || f.Sections[s.Info].Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+24 <= len(data); off += 24 {
			info := binary.LittleEndian.Uint64(data[off+8:])
			typ, sym := elf.R_X86_64(info&0xffffffff), info>>32
			if (typ != elf.R_X86_64_PLT32 && typ != elf.R_X86_64_PC32) || sym == 0 {
				continue
			}
			if name := syms[sym-1].Name; slices.Contains(Hooks, name) {
				n[name]++
			}
		}
	}
	return n
}
