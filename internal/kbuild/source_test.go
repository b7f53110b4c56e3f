package kbuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitTree makes fakeTree a git repository with one commit and returns a
// function that commits a change to kernel/kcov.c and returns the new HEAD.
func gitTree(t *testing.T) (dir string, commit func(body string) string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir = fakeTree(t)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), gitEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	commit = func(body string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "kernel/kcov.c"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c: "+body)
		return git("rev-parse", "HEAD")
	}
	commit("one\n")
	return dir, commit
}

// TestLocalTreeOneBuildTreePerPath: two commits of one local tree are two
// kernels (two cache keys) built in one output tree, so a bisect step
// rebuilds incrementally; LocalTreeAt names a commit's kernel without a
// checkout.
func TestLocalTreeOneBuildTreePerPath(t *testing.T) {
	ctx := context.Background()
	dir, commit := gitTree(t)
	tc := Toolchain{Version: "clang version 22.1.8"}
	first, err := LocalTree(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	head := commit("two\n")
	second, err := LocalTree(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != "git:"+head || first.ID == second.ID {
		t.Errorf("IDs %q then %q; want one per commit, the second git:%s", first.ID, second.ID, head)
	}
	a, b := Spec{Source: first, Toolchain: tc}, Spec{Source: second, Toolchain: tc}
	if a.Key() == b.Key() {
		t.Error("two commits share a cache key")
	}
	if a.treeKey() != b.treeKey() {
		t.Errorf("two commits of %s build in two trees (%s, %s): every bisect step would be a full build", dir, a.treeKey(), b.treeKey())
	}
	at, err := LocalTreeAt(dir, head)
	if err != nil || *at != *second {
		t.Errorf("LocalTreeAt = %+v, %v; want %+v", at, err, second)
	}
	other, commitOther := gitTree(t)
	commitOther("two\n")
	o, err := LocalTree(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if (Spec{Source: o, Toolchain: tc}).treeKey() == b.treeKey() {
		t.Error("two local trees share one build tree")
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel/kcov.c"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirty, err := LocalTree(ctx, dir)
	if err != nil || !strings.HasPrefix(dirty.ID, "git:"+head+"+dirty:") || dirty.TreeID != second.TreeID {
		t.Errorf("edited tree = %+v, %v; want a dirty ID in the same build tree", dirty, err)
	}
}
