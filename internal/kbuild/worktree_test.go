package kbuild

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/series"
)

const onePatch = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Ada Kernel <ada@example.org>
Date: Mon, 16 Jun 2025 10:00:00 +0200
Subject: [PATCH v1 1/1] kcov: say hello

A one-line change.
---
 kernel/kcov.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/kernel/kcov.c b/kernel/kcov.c
--- a/kernel/kcov.c
+++ b/kernel/kcov.c
@@ -1,2 +1,3 @@
 line one
+hello
 line two
-- 
2.50.0
`

func parseOne(t *testing.T, text string) *series.Series {
	t.Helper()
	s, err := series.ParseMbox("test", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testWorktree makes a fake kernel tree whose kernel/kcov.c holds kcovC and
// opens its worktree in a fresh cache. It skips when git is missing.
func testWorktree(t *testing.T, id, kcovC string) (w *Worktree, src *Source, cache string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	src = &Source{Dir: fakeTree(t), ID: id}
	if err := os.WriteFile(filepath.Join(src.Dir, "kernel/kcov.c"), []byte(kcovC), 0o644); err != nil {
		t.Fatal(err)
	}
	cache = t.TempDir()
	w, err := OpenWorktree(context.Background(), src, cache, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return w, src, cache
}

func TestWorktreeCheckout(t *testing.T) {
	w, src, cache := testWorktree(t, "tree:fake", "line one\nline two\n")
	ctx := context.Background()
	s := parseOne(t, onePatch)
	patched, err := w.Checkout(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	kcov := filepath.Join(w.Dir, "kernel/kcov.c")
	if b, _ := os.ReadFile(kcov); string(b) != "line one\nhello\nline two\n" {
		t.Fatalf("patched kcov.c = %q", b)
	}
	author, err := w.git(ctx, "log", "-1", "--format=%an <%ae>|%s")
	if err != nil || author != "Ada Kernel <ada@example.org>|kcov: say hello" {
		t.Errorf("commit = %q, %v; want the patch's author and subject", author, err)
	}
	if _, err := w.Checkout(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(kcov); string(b) != "line one\nline two\n" {
		t.Fatalf("base kcov.c = %q", b)
	}
	// A second worktree handle and a second checkout reuse what is there.
	w2, err := OpenWorktree(ctx, src, cache, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	again, err := w2.Checkout(ctx, s)
	if err != nil || again != patched {
		t.Errorf("second checkout = %s, %v; want the same commit %s", again, err, patched)
	}
	if got := w.Source(s).ID; got != "tree:fake+series:"+s.ID() || w.Source(s).TreeID != "tree:fake" {
		t.Errorf("Source(s) = %+v", w.Source(s))
	}
}

func TestWorktreeBrokenSeriesFailsBeforeCommitting(t *testing.T) {
	w, _, _ := testWorktree(t, "tree:broken", "line one\nline 2\n")
	ctx := context.Background()
	_, err := w.Checkout(ctx, parseOne(t, onePatch))
	var ae *series.ApplyError
	if !errors.As(err, &ae) || ae.File != "kernel/kcov.c" || ae.Hunk != 1 {
		t.Fatalf("got %v, want an ApplyError for kernel/kcov.c hunk 1", err)
	}
	if !strings.Contains(err.Error(), "kcov: say hello") {
		t.Errorf("error does not name the patch: %v", err)
	}
	if branches, _ := w.git(ctx, "branch", "--list", "kcovlab/*"); branches != "" {
		t.Errorf("a failed series left a branch: %q", branches)
	}
}

const twoPatches = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Ada Kernel <ada@example.org>
Date: Mon, 16 Jun 2025 10:00:00 +0200
Subject: [PATCH v1 1/2] build: touch the Makefile

---
diff --git a/Makefile b/Makefile
--- a/Makefile
+++ b/Makefile
@@ -1 +1,2 @@
 # fake
+# patched
-- 
2.50.0

From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: Ada Kernel <ada@example.org>
Date: Mon, 16 Jun 2025 10:00:00 +0200
Subject: [PATCH v1 2/2] kcov: say hello

---
diff --git a/kernel/kcov.c b/kernel/kcov.c
--- a/kernel/kcov.c
+++ b/kernel/kcov.c
@@ -1,2 +1,3 @@
 line one
+hello
 line two
-- 
2.50.0
`

// TestWorktreeSwitchKeepsTimestamps: going from a series to the same series
// without patch 1 rewrites only patch 1's file; the others keep their
// timestamps, so make rebuilds only what that patch touched.
func TestWorktreeSwitchKeepsTimestamps(t *testing.T) {
	w, _, _ := testWorktree(t, "tree:mtime", "line one\nline two\n")
	ctx := context.Background()
	full := parseOne(t, twoPatches)
	if _, err := w.Checkout(ctx, full); err != nil {
		t.Fatal(err)
	}
	kcov := filepath.Join(w.Dir, "kernel/kcov.c")
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(kcov, old, old); err != nil {
		t.Fatal(err)
	}
	without1, err := full.Without(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Checkout(ctx, without1); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(kcov)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(old) {
		t.Errorf("kernel/kcov.c was rewritten (mtime %v) although both series have the same content", st.ModTime())
	}
	if b, _ := os.ReadFile(filepath.Join(w.Dir, "Makefile")); string(b) != "# fake\n" {
		t.Errorf("Makefile = %q, want patch 1 undone", b)
	}
}

// TestWorktreeClone: a clone is base plus one commit per patch on its own
// branch, stands alone (no remote), and leaves the worktree's checkout be.
func TestWorktreeClone(t *testing.T) {
	w, _, _ := testWorktree(t, "tree:clone", "line one\nline two\n")
	ctx := context.Background()
	before, err := w.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bisect")
	head, err := w.Clone(ctx, parseOne(t, twoPatches), dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &Worktree{Dir: dir}
	log, err := c.git(ctx, "log", "--format=%s", "--reverse")
	if err != nil || log != "base: tree:clone\nbuild: touch the Makefile\nkcov: say hello" {
		t.Errorf("clone history %q, %v", log, err)
	}
	if got, _ := c.git(ctx, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD %s, Clone said %s", got, head)
	}
	if ref, _ := c.git(ctx, "symbolic-ref", "--short", "HEAD"); ref != CloneBranch {
		t.Errorf("branch %q, want %s", ref, CloneBranch)
	}
	if tags, _ := c.git(ctx, "tag"); tags != baseTag {
		t.Errorf("clone tags %q, want the base tagged %s", tags, baseTag)
	}
	if remotes, _ := c.git(ctx, "remote"); remotes != "" {
		t.Errorf("the clone keeps remotes %q", remotes)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "kernel/kcov.c")); string(b) != "line one\nhello\nline two\n" {
		t.Errorf("checked-out kcov.c = %q", b)
	}
	if after, _ := w.git(ctx, "rev-parse", "HEAD"); after != before {
		t.Errorf("Clone moved the worktree from %s to %s", before, after)
	}
	if _, err := w.Clone(ctx, nil, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("clone into a used dir: %v", err)
	}
	base := filepath.Join(t.TempDir(), "base")
	if _, err := w.Clone(ctx, nil, base); err != nil {
		t.Fatal(err)
	}
	if log, _ := (&Worktree{Dir: base}).git(ctx, "log", "--format=%s"); log != "base: tree:clone" {
		t.Errorf("base clone history %q", log)
	}
}

// A --kernel-src tree that is a git checkout with everything committed: its
// worktree copy carries the tree's .git, so the base commit has nothing new
// to add and must still be made (a series on such a tree failed with "git
// commit: exit status 1").
func TestWorktreeOfCommittedGitTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := fakeTree(t)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	w, err := OpenWorktree(context.Background(), &Source{Dir: dir, ID: "git:committed"}, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("worktree of a committed git tree: %v", err)
	}
	if _, err := w.git(context.Background(), "rev-parse", "--verify", "-q", baseTag); err != nil {
		t.Errorf("no base tag: %v", err)
	}
}
