// Package testutil holds skip helpers for tests that need real host tools.
// A test that needs QEMU or a kernel toolchain calls NeedE2E and the Need*
// helpers: under `go test -short` they skip; with KCOVLAB_E2E=1 (make e2e)
// a missing tool fails the test instead, so CI cannot pass by skipping.
package testutil

import (
	"os"
	"os/exec"
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
