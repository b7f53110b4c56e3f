package bisect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/lab"
)

// threePatches is a series of three one-line changes to kernel/kcov.c.
func threePatches() string {
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, `From 000000000000000000000000000000000000000%d Mon Sep 17 00:00:00 2001
From: Ada Kernel <ada@example.org>
Date: Mon, 16 Jun 2025 10:00:0%d +0200
Subject: [PATCH v1 %d/3] kcov: step %d

---
diff --git a/kernel/kcov.c b/kernel/kcov.c
--- a/kernel/kcov.c
+++ b/kernel/kcov.c
@@ -%d,0 +%d,1 @@
+step %d
-- 
2.50.0

`, i, i, i, i, i-1, i, i)
	}
	return b.String()
}

// TestMakeTree builds a bisect tree from a plain (non-git) kernel
// tree and a three-patch series with the fixture after patch 2.
func TestMakeTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Parallel()
	src := t.TempDir()
	for name, body := range map[string]string{
		"Makefile": "# fake\n", "Kconfig": "source \"init/Kconfig\"\n", "init/Kconfig": "config KCOV\n\tbool\n",
		"arch/x86/Kconfig": "config X86\n\tdef_bool y\n", "kernel/kcov.c": "",
	} {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mbox := filepath.Join(t.TempDir(), "three.mbox")
	if err := os.WriteFile(mbox, []byte(threePatches()), 0o644); err != nil {
		t.Fatal(err)
	}
	bt := TreeOptions{
		Options: lab.Options{KernelSrc: src, Series: mbox, ModuleDir: t.TempDir(), CacheDir: t.TempDir()},
		Dir:     filepath.Join(t.TempDir(), "tree"), FixtureAfter: 2,
	}
	tree, err := MakeTree(context.Background(), bt)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, c := range tree.Commits {
		subjects = append(subjects, c.Subject)
	}
	want := []string{"kcov: step 1", "kcov: step 2", Fixture.Subject, `Revert "` + Fixture.Subject + `"`, "kcov: step 3"}
	if len(subjects) != 6 || !strings.HasPrefix(subjects[0], "base: tree:") || strings.Join(subjects[1:], "|") != strings.Join(want, "|") {
		t.Fatalf("commits %q, want base then %q", subjects, want)
	}
	if len(tree.Fixture) != 2 || tree.Fixture[0] != tree.Commits[3] || tree.Fixture[1] != tree.Commits[4] {
		t.Errorf("fixture %+v", tree.Fixture)
	}
	if tree.Base != tree.Commits[0] || tree.Head != tree.Commits[5] || tree.Kernel != "series:three.mbox" ||
		strings.Join(tree.Fragments, ",") != "guest.config,kcov.config,kcov-unique.config" {
		t.Errorf("tree %+v", tree)
	}
	show := func(rev, path string) string {
		out, err := exec.Command("git", "-C", tree.Dir, "show", rev+":"+path).Output()
		if err != nil {
			t.Fatalf("git show %s:%s: %v", rev, path, err)
		}
		return string(out)
	}
	if got := show(tree.Fixture[0].Commit, "init/Kconfig"); !strings.Contains(got, "not Kconfig") {
		t.Errorf("the fixture does not break init/Kconfig: %q", got)
	}
	if got := show("HEAD", "init/Kconfig"); got != "config KCOV\n\tbool\n" {
		t.Errorf("head's init/Kconfig = %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "kernel/kcov.c")); string(got) != "step 1\nstep 2\nstep 3\n" {
		t.Errorf("checked-out kcov.c = %q", got)
	}
	var out bytes.Buffer
	tree.Text(&out)
	for _, w := range []string{"fixture", "--fragments guest.config,kcov.config,kcov-unique.config", "--good " + tree.Head.Commit} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, out.String())
		}
	}

	bt.Dir, bt.FixtureAfter = filepath.Join(t.TempDir(), "again"), 4
	var ue *lab.UsageError
	if _, err := MakeTree(context.Background(), bt); !errors.As(err, &ue) || !strings.Contains(err.Error(), "1..3") {
		t.Errorf("fixture after patch 4 of 3: %v", err)
	}
	if _, err := os.Stat(bt.Dir); !os.IsNotExist(err) {
		t.Errorf("a refused tree left %s behind", bt.Dir)
	}
}
