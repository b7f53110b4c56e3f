package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Git runs git in dir and returns its trimmed output; a failure fails t.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// StateRepo makes a tiny kernel-shaped git tree (Makefile, Kconfig,
// arch/x86/Kconfig, kernel/kcov.c) on branch main with one commit per
// state: commit i writes states[i] to the file "state" and is titled
// "ci: state". Bisect tests' fake labs read that file. It returns the tree
// and the commits' hashes, oldest first; without git it skips t.
func StateRepo(t testing.TB, states ...string) (string, []string) {
	t.Helper()
	return StateRepoTitled(t, "c%d: %s", states...)
}

// StateRepoTitled is StateRepo with commit i titled
// fmt.Sprintf(title, i, states[i]).
func StateRepoTitled(t testing.TB, title string, states ...string) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"Makefile": "# fake\n", "Kconfig": "config KCOV\n\tbool\n", "arch/x86/Kconfig": "config X86\n\tdef_bool y\n", "kernel/kcov.c": "",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, dir, "init", "-q", "-b", "main")
	var hashes []string
	for i, st := range states {
		if err := os.WriteFile(filepath.Join(dir, "state"), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
		Git(t, dir, "add", "-A")
		Git(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", fmt.Sprintf(title, i, st))
		hashes = append(hashes, Git(t, dir, "rev-parse", "HEAD"))
	}
	return dir, hashes
}
