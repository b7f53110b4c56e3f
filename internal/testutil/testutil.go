// Package testutil holds skip helpers for tests that need real host tools.
// A test that needs QEMU or a kernel toolchain calls NeedE2E and the Need*
// helpers: under `go test -short` they skip; with KCOVLAB_E2E=1 (make e2e)
// a missing tool fails the test instead, so CI cannot pass by skipping.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// E2ERequired reports whether the e2e suite was asked for explicitly.
func E2ERequired() bool { return os.Getenv("KCOVLAB_E2E") == "1" }

// NeedE2E skips slow end-to-end tests under -short unless KCOVLAB_E2E=1.
func NeedE2E(t testing.TB) {
	t.Helper()
	if testing.Short() && !E2ERequired() {
		t.Skip("end-to-end test: skipped under -short (make e2e runs it)")
	}
}

// NeedCommands skips (or, under KCOVLAB_E2E=1, fails) when a command is missing.
func NeedCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if E2ERequired() {
				t.Fatalf("%s is required for the e2e suite: %v (make deps installs it)", n, err)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

// NeedQEMU needs qemu-system-x86_64.
func NeedQEMU(t testing.TB) {
	t.Helper()
	NeedCommands(t, "qemu-system-x86_64")
}

// NeedFile skips (or fails under KCOVLAB_E2E=1) when path does not exist.
func NeedFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if E2ERequired() {
			t.Fatalf("%s is required for the e2e suite: %v", path, err)
		}
		t.Skipf("%s: %v", path, err)
	}
}

// KernelTree returns an unpacked 6.12 source tree for tests that read real
// kernel files: one the lab already unpacked into its cache, or else the
// Debian tarball unpacked once under the temp dir. It skips under -short.
func KernelTree(t testing.TB) string {
	t.Helper()
	NeedE2E(t)
	if dirs, _ := filepath.Glob(filepath.Join(cacheDir(), "src", "*", "*", "kernel", "kcov.c")); cacheDir() != "" && len(dirs) > 0 {
		return filepath.Dir(filepath.Dir(dirs[0]))
	}
	const tarball = "/usr/src/linux-source-6.12.tar.xz"
	NeedFile(t, tarball)
	dest := filepath.Join(os.TempDir(), "kcovlab-test-tree")
	tree := filepath.Join(dest, "linux-source-6.12")
	if _, err := os.Stat(filepath.Join(tree, "kernel", "kcov.c")); err == nil {
		return tree
	}
	tmp, err := os.MkdirTemp(os.TempDir(), ".kcovlab-test-tree-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", tarball, "-C", tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		t.Fatalf("unpack %s: %v: %s", tarball, err, out)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.RemoveAll(tmp) // another test binary won the race
	}
	return tree
}

// cacheDir mirrors lab.DefaultCacheDir without importing lab: "" (no
// cache to look in) when there is no user cache dir, never a shared /tmp.
func cacheDir() string {
	if d := os.Getenv("KCOVLAB_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kcovlab")
	}
	return ""
}

// BuiltKernels returns the directories of the kernels already built in the
// lab's cache (each holds vmlinux, config and meta.json), for tests that
// read a real kernel image. It skips under -short, and when no kernel is
// built yet: building them is the job of the kbuild and e2e tests.
func BuiltKernels(t testing.TB) []string {
	t.Helper()
	NeedE2E(t)
	if cacheDir() == "" {
		t.Skip("no cache dir (HOME unset, no KCOVLAB_CACHE)")
	}
	root := filepath.Join(cacheDir(), "kernels")
	metas, _ := filepath.Glob(filepath.Join(root, "*", "meta.json"))
	var dirs []string
	for _, m := range metas {
		dir := filepath.Dir(m)
		if strings.HasPrefix(filepath.Base(dir), ".") { // a build in progress
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "vmlinux")); err == nil {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) == 0 {
		t.Skipf("no kernel built in %s yet (kcovlab run builds one)", root)
	}
	return dirs
}
