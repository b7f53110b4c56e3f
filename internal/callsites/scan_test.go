package callsites

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kcovlab/kcovlab/internal/proc"
)

// The counts testdata/sites.c is written to give (see its comment).
const (
	fixturePCSites = 16 // one of them a tail call, one outside any function
	fixtureGuards  = 16
)

func TestScanFixture(t *testing.T) {
	for _, tc := range []struct {
		model string
		guard bool
		// setup is the guard pointer loads' bytes: 7 for mov $imm32, %rdi
		// and lea sym(%rip), %rdi, 5 for mov $imm32, %edi; the two
		// assembly sites always use lea.
		setup uint64
	}{
		{model: "kernel"},
		{model: "kernel", guard: true, setup: 16 * 7},
		{model: "small"},
		{model: "small", guard: true, setup: 14*5 + 2*7},
		{model: "pie"},
		{model: "pie", guard: true, setup: 16 * 7},
	} {
		f := fixture{Model: tc.model, Guard: tc.guard}
		t.Run(f.name(), func(t *testing.T) {
			f := buildFixture(t, tc.model, tc.guard)
			r, err := Scan(context.Background(), f.exe(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			hook, mode, other := TracePC, ModePC, TracePCGuard
			if tc.guard {
				hook, mode, other = TracePCGuard, ModePCGuard, TracePC
			}
			if r.Instrumentation != mode {
				t.Errorf("Instrumentation = %q, want %q", r.Instrumentation, mode)
			}
			want := HookSites{
				Name: hook, Addr: r.Hook(hook).Addr, Sites: fixturePCSites, Calls: fixturePCSites - 1,
				TailCalls: 1, Unsymbolized: 1, CallBytes: fixturePCSites * 5, SetupBytes: tc.setup,
				BytesPerSite: float64(fixturePCSites*5+tc.setup) / fixturePCSites,
			}
			if got := r.Hook(hook); got != want {
				t.Errorf("%s:\n got %+v\nwant %+v", hook, got, want)
			}
			if got := r.Hook(other); got.Sites != 0 {
				t.Errorf("%s has %d sites in a %s build", other, got.Sites, mode)
			}
			for _, name := range []string{"__sanitizer_cov_trace_cmp4", "__sanitizer_cov_trace_const_cmp4", "__sanitizer_cov_trace_switch"} {
				if got := r.Hook(name); got.Sites != 1 || got.Calls != 1 {
					t.Errorf("%s: %+v, want one call", name, got)
				}
			}
			if r.Cost.PCSites != fixturePCSites || r.Cost.CmpSites != 3 {
				t.Errorf("Cost = %+v, want %d PC and 3 comparison sites", r.Cost, fixturePCSites)
			}
			if r.Decode.Errors != 1 || r.Decode.BadBytes != 2 {
				t.Errorf("Decode = %+v, want asm_junk's two bytes in one place", r.Decode)
			}
			checkOracle(t, f, r)
			checkGuards(t, r, tc.guard)
		})
	}
}

// checkOracle compares every hook's sites with the relocations to it in
// the object file.
func checkOracle(t *testing.T, f fixture, r *Report) {
	t.Helper()
	relocs := hookRelocs(t, f.obj())
	if relocs[TracePC]+relocs[TracePCGuard] != fixturePCSites {
		t.Errorf("the object has %v hook relocations, testdata/sites.c says %d PC sites", relocs, fixturePCSites)
	}
	for _, name := range Hooks {
		if got := r.Hook(name).Sites; got != relocs[name] {
			t.Errorf("%s: %d sites decoded, %d relocations in %s", name, got, relocs[name], f.obj())
		}
	}
}

func checkGuards(t *testing.T, r *Report, guard bool) {
	t.Helper()
	if !guard {
		if r.Guards != nil || r.Sizes.Guards != 0 {
			t.Errorf("trace-pc build has guards: %+v", r.Guards)
		}
		return
	}
	g := r.Guards
	if g == nil {
		t.Fatal("no guards found in a trace-pc-guard build")
	}
	want := Guards{
		Start: g.Start, Stop: g.Start + fixtureGuards*4, Section: "__sancov_guards", Bytes: fixtureGuards * 4,
		Count: fixtureGuards, Sites: fixturePCSites, Match: true, Loaded: fixturePCSites,
		Distinct: fixtureGuards, OneToOne: true,
	}
	if *g != want {
		t.Errorf("Guards:\n got %+v\nwant %+v", *g, want)
	}
	if r.Sizes.Guards != want.Bytes || r.Cost.GuardBytesPerSite != 4 {
		t.Errorf("guard bytes %d, %v per site; want %d, 4", r.Sizes.Guards, r.Cost.GuardBytesPerSite, want.Bytes)
	}
}

func TestScanRefusesBadInput(t *testing.T) {
	obj := buildFixture(t, "kernel", false)
	stripped := filepath.Join(t.TempDir(), "stripped")
	argv := append(obj.linkArgv()[:len(obj.linkArgv())-1], stripped, "-Wl,--strip-all")
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", proc.Quote(argv), err, out)
	}
	text := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(text, []byte("not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		is         error
	}{
		{"object file", obj.obj(), ErrUnsupported},
		{"stripped", stripped, elf.ErrNoSymbols},
		{"not ELF", text, nil},
		{"missing", filepath.Join(t.TempDir(), "vmlinux"), os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan(context.Background(), tc.path, Options{})
			if err == nil {
				t.Fatal("Scan accepted it")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			t.Log(err)
		})
	}
}

func TestScanCanceled(t *testing.T) {
	f := buildFixture(t, "kernel", true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, f.exe(), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan with a canceled context: %v", err)
	}
}

func TestScanWorkersAgree(t *testing.T) {
	f := buildFixture(t, "pie", true)
	defer func(n int) { chunkBytes = n }(chunkBytes)
	chunkBytes = 1 // one function per chunk
	scan := func(workers int) *Report {
		r, err := Scan(context.Background(), f.exe(), Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		r.Elapsed = 0
		return r
	}
	if one, many := scan(1), scan(8); !reflect.DeepEqual(one, many) {
		t.Errorf("1 worker:\n%+v\n8 workers:\n%+v", one, many)
	}
}

func BenchmarkScanFixture(b *testing.B) {
	f := buildFixture(b, "kernel", true)
	for b.Loop() {
		if _, err := Scan(context.Background(), f.exe(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
