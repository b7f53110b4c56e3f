package kbuild

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/series"
)

func TestMakeArgv(t *testing.T) {
	tests := []struct {
		name    string
		o       MakeOptions
		want    []string
		wantErr string
	}{
		{
			name: "bzImage with clang-22",
			o:    MakeOptions{SourceDir: "/src", OutDir: "/out", LLVM: "-22", Jobs: 2, Targets: []string{"bzImage"}},
			want: []string{"make", "-C", "/src", "O=/out", "-j2", "ARCH=x86_64", "LLVM=-22",
				"KBUILD_BUILD_USER=kcovlab", "KBUILD_BUILD_HOST=kcovlab", "KBUILD_BUILD_TIMESTAMP=1970-01-01", "bzImage"},
		},
		{
			name: "jobs default to one",
			o:    MakeOptions{SourceDir: "/s", OutDir: "/o", LLVM: "1", Targets: []string{"tinyconfig"}},
			want: []string{"make", "-C", "/s", "O=/o", "-j1", "ARCH=x86_64", "LLVM=1",
				"KBUILD_BUILD_USER=kcovlab", "KBUILD_BUILD_HOST=kcovlab", "KBUILD_BUILD_TIMESTAMP=1970-01-01", "tinyconfig"},
		},
		{name: "no LLVM", o: MakeOptions{SourceDir: "/s", OutDir: "/o", Targets: []string{"x"}}, wantErr: "clang only"},
		{name: "no targets", o: MakeOptions{SourceDir: "/s", OutDir: "/o", LLVM: "1"}, wantErr: "no targets"},
		{name: "no dirs", o: MakeOptions{LLVM: "1", Targets: []string{"x"}}, wantErr: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.o.Argv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Argv() = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

func TestPickClang(t *testing.T) {
	found := []Toolchain{{CC: "clang-19", LLVM: "-19", Major: 19}, {CC: "clang-22", LLVM: "-22", Major: 22}, {CC: "clang", LLVM: "1", Major: 14}}
	tests := []struct {
		min     int
		want    string
		wantErr bool
	}{
		{0, "clang-22", false},
		{21, "clang-22", false},
		{23, "", true},
	}
	for _, tt := range tests {
		got, err := pickClang(found, tt.min)
		if (err != nil) != tt.wantErr || got.CC != tt.want {
			t.Errorf("pickClang(min %d) = %q, %v; want %q", tt.min, got.CC, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), "clang-22 (22)") {
			t.Errorf("error does not list what was found: %v", err)
		}
	}
	if _, err := pickClang(nil, 0); err == nil || !strings.Contains(err.Error(), "found: none") {
		t.Errorf("no clang: %v", err)
	}
}

func TestIsStep(t *testing.T) {
	for line, want := range map[string]bool{
		"  CC      kernel/fork.o":        true,
		"  LD      vmlinux":              true,
		"  HOSTCC  scripts/basic/fixdep": true,
		"make[1]: Entering directory":    false,
		"  cc1: warning":                 false,
		"#":                              false,
	} {
		if got := isStep(line); got != want {
			t.Errorf("isStep(%q) = %v", line, got)
		}
	}
}

func TestCheckTree(t *testing.T) {
	err := CheckTree(t.TempDir())
	if !errors.Is(err, ErrNotKernelTree) || !strings.Contains(err.Error(), "--kernel-src") {
		t.Fatalf("CheckTree(empty) = %v", err)
	}
	if err := CheckTree(fakeTree(t)); err != nil {
		t.Fatal(err)
	}
}

func TestSpecKey(t *testing.T) {
	frag := func(s string) []*kconfig.Fragment {
		f, err := kconfig.ParseFragment("a.config", strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return []*kconfig.Fragment{f}
	}
	base := Spec{Source: &Source{ID: "tarball:1"}, Fragments: frag("CONFIG_KCOV=y\n"), Toolchain: Toolchain{Version: "clang version 22.1.8"}}
	same := base
	same.Fragments = frag("# comment\nCONFIG_KCOV=y\n")
	if base.Key() != same.Key() {
		t.Error("a comment in a fragment changed the key")
	}
	for name, mod := range map[string]func(*Spec){
		"source":   func(s *Spec) { s.Source = &Source{ID: "tarball:2"} },
		"fragment": func(s *Spec) { s.Fragments = frag("CONFIG_KCOV=n\n") },
		"compiler": func(s *Spec) { s.Toolchain.Version = "clang version 19.1.7" },
		"targets":  func(s *Spec) { s.Targets = []string{"vmlinux"} },
	} {
		s := base
		mod(&s)
		if s.Key() == base.Key() {
			t.Errorf("changing the %s did not change the key", name)
		}
	}
}

// fakeTree makes a directory that passes CheckTree and has a small Kconfig.
func fakeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Makefile":         "# fake\n",
		"Kconfig":          "config KCOV\n\tbool \"kcov\"\n\tdepends on ARCH_HAS_KCOV\n",
		"arch/x86/Kconfig": "config X86\n\tdef_bool y\n",
		"kernel/kcov.c":    "",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeMake puts a "make" on PATH that imitates kbuild: tinyconfig writes a
// .config, olddefconfig drops CONFIG_KCOV (as if ARCH_HAS_KCOV were unmet)
// when $FAKE_DROP is set, and bzImage writes the artifacts, or fails when
// $FAKE_FAIL is set. Each call is logged to $FAKE_LOG.
func fakeMake(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	script := `#!/bin/sh
out=""; target=""
for a in "$@"; do
	case "$a" in O=*) out="${a#O=}";; -*|*=*) ;; *) target="$a";; esac
done
echo "$target" >> "$FAKE_LOG"
case "$target" in
tinyconfig) printf 'CONFIG_X86=y\n' > "$out/.config" ;;
olddefconfig)
	if [ -n "$FAKE_DROP" ]; then grep -v KCOV "$out/.config" > "$out/.c"; mv "$out/.c" "$out/.config"; fi ;;
bzImage)
	echo "  CC      kernel/kcov.o"; echo "  LD      vmlinux"
	if [ -n "$FAKE_FAIL" ]; then echo "kernel/kcov.c:1:1: error: boom" >&2; exit 2; fi
	mkdir -p "$out/arch/x86/boot"; echo bz > "$out/arch/x86/boot/bzImage"; echo elf > "$out/vmlinux"; echo o > "$out/vmlinux.o" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "make"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	logPath := filepath.Join(t.TempDir(), "make.log")
	t.Setenv("FAKE_LOG", logPath)
	return logPath
}

func fakeSpec(t *testing.T) Spec {
	t.Helper()
	f, err := kconfig.ParseFragment("kcov.config", strings.NewReader("CONFIG_KCOV=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Source:    &Source{Dir: fakeTree(t), ID: "tree:test", Origin: "test"},
		Fragments: []*kconfig.Fragment{f},
		Toolchain: Toolchain{CC: "clang-22", LLVM: "-22", Major: 22, Version: "clang version 22.1.8"},
	}
}

func TestBuildCachesAndPublishesAtomically(t *testing.T) {
	logPath := fakeMake(t)
	spec := fakeSpec(t)
	opts := Options{CacheDir: t.TempDir(), Jobs: 2}
	k, err := Build(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if k.Cached || k.Meta.Key != spec.Key() || k.Meta.Steps != 2 {
		t.Errorf("first build: cached %v key %s steps %d", k.Cached, k.Meta.Key, k.Meta.Steps)
	}
	for _, p := range []string{k.BzImage, k.Vmlinux, k.Config, k.Log} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("missing artifact: %v", err)
		}
	}
	if !k.Meta.Cold {
		t.Error("the first build in an empty tree is not marked cold")
	}
	again, err := Build(context.Background(), spec, opts)
	if err != nil || !again.Cached {
		t.Fatalf("second build: cached %v, err %v", again != nil && again.Cached, err)
	}
	// A variant (another fragment content) in the same tree, which has
	// linked a kernel now: a rebuild, not cold.
	variant := spec
	f, err := kconfig.ParseFragment("kcov.config", strings.NewReader("CONFIG_KCOV=y\nCONFIG_KCOV_ENABLE_COMPARISONS=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	variant.Fragments = []*kconfig.Fragment{f}
	v, err := Build(context.Background(), variant, opts)
	if err != nil || v.Meta.Cold || v.Meta.Key == k.Meta.Key {
		t.Fatalf("variant: cold %v key %s, err %v; want a warm rebuild under its own key", v != nil && v.Meta.Cold, v.Meta.Key, err)
	}
	calls, _ := os.ReadFile(logPath)
	if got := strings.Fields(string(calls)); !reflect.DeepEqual(got, []string{"tinyconfig", "olddefconfig", "bzImage", "tinyconfig", "olddefconfig", "bzImage"}) {
		t.Errorf("make ran %q; the cached build must not run make at all, the variant once", got)
	}
}

func TestBuildFailureLeavesNoCacheEntry(t *testing.T) {
	fakeMake(t)
	t.Setenv("FAKE_FAIL", "1")
	spec := fakeSpec(t)
	opts := Options{CacheDir: t.TempDir()}
	_, err := Build(context.Background(), spec, opts)
	var be *BuildError
	if !errors.As(err, &be) || be.Stage != "make" {
		t.Fatalf("got %v, want a make BuildError", err)
	}
	if !strings.Contains(be.Tail, "error: boom") || !strings.Contains(err.Error(), "bzImage") {
		t.Errorf("error does not show the failing command and log tail:\n%v", err)
	}
	if _, err := Lookup(spec, opts); err == nil {
		t.Error("a failed build left a cache entry")
	}
	if _, err := os.Stat(be.LogPath); err != nil {
		t.Errorf("the failed build's log was not kept: %v", err)
	}
}

func TestBuildValidationNamesDependency(t *testing.T) {
	fakeMake(t)
	t.Setenv("FAKE_DROP", "1")
	_, err := Build(context.Background(), fakeSpec(t), Options{CacheDir: t.TempDir()})
	var be *BuildError
	if !errors.As(err, &be) || be.Stage != "validate" {
		t.Fatalf("got %v, want a validate BuildError", err)
	}
	var ve *kconfig.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validation error not reachable with errors.As: %v", err)
	}
	for _, want := range []string{"KCOV", "ARCH_HAS_KCOV"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A series that does not apply stops the build before make runs: the log
// names the patch, the file, the hunk and why (not "build failed"), and no
// failed build is kept, as nothing was built.
func TestPrepareFailureNamesPatch(t *testing.T) {
	logPath := fakeMake(t)
	spec := fakeSpec(t)
	applyErr := &series.ApplyError{Patch: "[PATCH 2/2] kcov: document the layout of comparison records",
		File: "kernel/kcov.c", Hunk: 2, HunkHeader: "@@ -600,7 +600,9 @@", Line: 603,
		Reason: "context does not match", Err: series.ErrContextMismatch}
	spec.Prepare = func(context.Context) error { return applyErr }
	var logBuf bytes.Buffer
	opts := Options{CacheDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(&logBuf, nil))}
	_, err := Build(context.Background(), spec, opts)
	if !errors.Is(err, series.ErrContextMismatch) {
		t.Fatalf("got %v, want the ApplyError", err)
	}
	log := logBuf.String()
	for _, want := range []string{"series did not apply", "[PATCH 2/2] kcov: document the layout", "kernel/kcov.c", "hunk=\"2 @@ -600,7 +600,9 @@\"", "line=603", "context does not match"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "build failed") {
		t.Errorf("log says the build failed although nothing was built:\n%s", log)
	}
	if calls, _ := os.ReadFile(logPath); len(calls) > 0 {
		t.Errorf("make ran: %q", calls)
	}
	if kept, _ := filepath.Glob(filepath.Join(opts.CacheDir, "failed", "*")); len(kept) > 0 {
		t.Errorf("kept %v for a build that never started", kept)
	}
}
