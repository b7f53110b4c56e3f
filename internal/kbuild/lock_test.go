package kbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A run waiting for the build lock says who holds it and gives up when its
// context ends; once the holder lets go, the lock is taken.
func TestLockWaitsNamesHolderAndHonoursCancel(t *testing.T) {
	cache := t.TempDir()
	unlock, err := Lock(context.Background(), cache, "building kernel v2 (key abc)", nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Lock(ctx, cache, "second", log); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled wait took %s", d)
	}
	want := fmt.Sprintf("pid %d: building kernel v2 (key abc)", os.Getpid())
	if !strings.Contains(logged.String(), want) {
		t.Errorf("log %q does not name the holder %q", logged.String(), want)
	}
	unlock()
	unlock2, err := Lock(context.Background(), cache, "third", nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

// What a killed run left behind is removed by the next one: staging dirs,
// a git index.lock in a worktree, old failed builds; finished entries stay.
func TestRecoverRemovesLeftovers(t *testing.T) {
	cache := t.TempDir()
	mk := func(p string) string {
		t.Helper()
		p = filepath.Join(cache, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := []string{
		mk("src/.unpack-123"), mk("kernels/.build-abc-1"), mk("trees/.tree-9"),
		mk("trees/.series-4"),
	}
	old := mk("failed/abc-20200101T000000")
	past := time.Now().Add(-30 * 24 * time.Hour)
	os.Chtimes(old, past, past)
	keep := []string{mk("kernels/abc"), mk("trees/0123/.git"), mk("failed/new-1"), mk("images/.build-def-2")}
	lock := filepath.Join(cache, "trees/0123/.git/index.lock")
	os.WriteFile(lock, nil, 0o644)
	stale = append(stale, old, lock)

	Recover(cache, nil)
	for _, p := range stale {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Recover", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}

// ENOSPC, or a failure on a filesystem with no room left, is a full disk.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	var de *DiskFullError
	if err := DiskFull(dir, fmt.Errorf("write meta.json: %w", syscall.ENOSPC)); !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "disk full: "+dir) {
		t.Errorf("ENOSPC: got %v", err)
	}
	build := &BuildError{Stage: "make", Err: errors.New("exit status 2")}
	if err := DiskFull(dir, build); errors.As(err, &de) {
		t.Errorf("a build failure with room left became %v", err)
	}
}

// OpenWorktree leaves an existing worktree alone even when git cannot read
// it for the moment: another run may be building from it.
func TestOpenWorktreeNeverRemovesExistingTree(t *testing.T) {
	w, src, cache := testWorktree(t, "keep", "int kcov;\n")
	marker := filepath.Join(w.Dir, "being-built")
	os.WriteFile(marker, nil, 0o644)
	os.Rename(filepath.Join(w.Dir, ".git", "refs", "tags"), filepath.Join(w.Dir, ".git", "refs", "tags.hidden"))
	os.Remove(filepath.Join(w.Dir, ".git", "packed-refs"))
	if _, err := OpenWorktree(context.Background(), src, cache, nil); err == nil {
		t.Error("OpenWorktree on a tree without its base tag succeeded")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the existing tree was replaced: %v", err)
	}
}

// A local git tree's ID changes with an untracked file (an old kernel must
// not be served for it), not with an ignored one; a directory below the
// top level is refused.
func TestLocalTreeUntrackedAndTopLevel(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := fakeTree(t)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.o\n"), 0o644)
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	id := func() string {
		t.Helper()
		s, err := LocalTree(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	clean := id()
	os.WriteFile(filepath.Join(dir, "kernel", "built.o"), []byte("x"), 0o644)
	if got := id(); got != clean {
		t.Errorf("an ignored file changed the ID: %s -> %s", clean, got)
	}
	os.WriteFile(filepath.Join(dir, "kernel", "new.c"), []byte("int a;\n"), 0o644)
	withNew := id()
	if withNew == clean {
		t.Errorf("an untracked file left the ID at %s", clean)
	}
	os.WriteFile(filepath.Join(dir, "kernel", "new.c"), []byte("int b;\n"), 0o644)
	if got := id(); got == withNew {
		t.Errorf("editing an untracked file left the ID at %s", got)
	}
	sub := filepath.Join(dir, "kernel")
	for _, f := range []string{"Makefile", "Kconfig", "arch/x86/Kconfig", "kernel/kcov.c"} {
		os.MkdirAll(filepath.Dir(filepath.Join(sub, f)), 0o755)
		os.WriteFile(filepath.Join(sub, f), nil, 0o644)
	}
	if _, err := LocalTree(context.Background(), sub); !errors.Is(err, ErrNotTopLevel) {
		t.Errorf("LocalTree below the top level = %v, want ErrNotTopLevel", err)
	}
}

// LockHeld sees a held lock (and its holder) and a free one, and never
// takes it.
func TestLockHeld(t *testing.T) {
	cache := t.TempDir()
	if held, _ := LockHeld(cache); held {
		t.Fatal("LockHeld on a cache without a lock file = true")
	}
	unlock, err := Lock(context.Background(), cache, "building kernel v4", nil)
	if err != nil {
		t.Fatal(err)
	}
	held, who := LockHeld(cache)
	if !held || !strings.Contains(who, "building kernel v4") {
		t.Fatalf("LockHeld while held = %v %q, want true and the holder", held, who)
	}
	unlock()
	if held, _ := LockHeld(cache); held {
		t.Fatal("LockHeld after unlock = true")
	}
	unlock2, err := Lock(context.Background(), cache, "again", nil)
	if err != nil {
		t.Fatalf("LockHeld left the lock taken: %v", err)
	}
	unlock2()
}
