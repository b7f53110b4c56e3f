package kbuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestIndexFunctions builds two objects and a nested thin archive the way
// kbuild links vmlinux (vmlinux.a of dir/built-in.a), plus a stale object
// outside the archive, and checks every linked function names its source.
func TestIndexFunctions(t *testing.T) {
	tc, err := FindClang(context.Background(), 0)
	if err != nil {
		t.Skipf("no clang: %v", err)
	}
	ar := "llvm-ar" + tc.LLVM
	if _, err := exec.LookPath(ar); err != nil {
		t.Skipf("no %s", ar)
	}
	src, tree := t.TempDir(), t.TempDir()
	files := map[string]string{
		"kernel/a.c":   "static int helper(int x) { return x + 1; }\nint a_entry(int x) { return helper(x); }\n__attribute__((weak)) int kclock(void) { return 0; }\n",
		"fs/b.c":       "static int helper(int x) { return x * 2; }\nint b_entry(int x) { return helper(x); }\nint kclock(void) { return 1; }\n",
		"stale/old.c":  "int stale_entry(void) { return 0; }\n",
		"arch/x86/e.S": ".globl asm_entry\n.type asm_entry,@function\nasm_entry:\n ret\n",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
		obj := filepath.Join(tree, name[:len(name)-2]+".o")
		os.MkdirAll(filepath.Dir(obj), 0o755)
		run(t, tree, tc.CC, "-c", "-O1", "-o", obj, p)
	}
	run(t, tree, ar, "cDPrST", "kernel/built-in.a", "kernel/a.o")
	run(t, tree, ar, "cDPrST", "vmlinux.a", "kernel/built-in.a", "fs/b.o", "arch/x86/e.o")

	index, err := IndexFunctions(tree, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"a_entry":   {"kernel/a.c"},
		"b_entry":   {"fs/b.c"},
		"asm_entry": {"arch/x86/e.S"},
		"kclock":    {"fs/b.c"}, // the weak one in kernel/a.c is overridden
	}
	for fn, files := range want {
		if !slices.Equal(index[fn], files) {
			t.Errorf("%s: %v, want %v", fn, index[fn], files)
		}
	}
	if _, ok := index["stale_entry"]; ok {
		t.Error("a stale object outside vmlinux.a was indexed")
	}
	if h := index["helper"]; len(h) != 2 && len(h) != 0 { // -O1 may inline both
		t.Errorf("helper: %v, want both files or none", h)
	}
	var buf bytes.Buffer
	if err := WriteFuncFiles(&buf, index); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("a_entry\tkernel/a.c\n")) {
		t.Errorf("written index lacks a_entry:\n%s", buf.String())
	}
}

func TestThinMembersRejectsRegularArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.a")
	os.WriteFile(p, []byte("!<arch>\n"), 0o644)
	if _, err := thinMembers(p); err == nil {
		t.Error("a regular archive was taken for a thin one")
	}
}

func run(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
}
