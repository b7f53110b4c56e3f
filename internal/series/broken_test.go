package series

import (
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/broken is a two-patch series against Linux 6.12's kernel/kcov.c
// (git format-patch output). Patch 1 fixes a comment typo and applies;
// patch 2's second hunk has a context line written for a tree with "kcov:
// factor out struct kcov_state" applied, so it must fail. The e2e suite
// reuses this fixture against the real kernel tree.
const (
	brokenDir    = "testdata/broken"
	brokenPatch  = "[PATCH 2/2] kcov: document the layout of comparison records"
	brokenWrong  = "\t * The buffer was allocated for t->kcov_state.size unsigned longs.\n"
	brokenRight  = "\t * The buffer was allocated for t->kcov_size unsigned longs.\n"
	kcovLines612 = 1135 // lines of kernel/kcov.c in Debian's 6.12 tree
)

func mustParseBroken(t *testing.T) *Series {
	t.Helper()
	s, err := ParseDir(brokenDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 2 || s.Patches[1].Title() != brokenPatch {
		t.Fatalf("%s: got %d patches, second %q", brokenDir, len(s.Patches), s.Patches[len(s.Patches)-1].Title())
	}
	return s
}

// fakeKcovC stands in for 6.12's kernel/kcov.c without copying it: filler
// lines, except where the fixture's hunks expect text, which is taken from
// their pre-images with the deliberately wrong line put right. Patch 1 does
// not move lines, so both patches' line numbers refer to the same file.
func fakeKcovC(t *testing.T, s *Series) string {
	t.Helper()
	lines := make([]string, kcovLines612)
	for i := range lines {
		lines[i] = fmt.Sprintf("/* filler line %d */\n", i+1)
	}
	for _, p := range s.Patches {
		files, _, err := parseDiff(p.Diff)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range files[0].Hunks {
			pre, _ := h.images()
			copy(lines[h.OldStart-1:], pre)
		}
	}
	text := strings.Join(lines, "")
	if strings.Count(text, brokenWrong) != 1 {
		t.Fatalf("%s no longer has the line %q", brokenDir, brokenWrong)
	}
	return strings.Replace(text, brokenWrong, brokenRight, 1)
}

// checkBroken asserts how the fixture fails on tree, which must have
// kernel/kcov.c as in 6.12.
func checkBroken(t *testing.T, s *Series, tree string) {
	t.Helper()
	first, err := s.Without(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Check(tree); err != nil {
		t.Fatalf("patch 1 of %s should apply: %v", brokenDir, err)
	}
	before := readTree(t, tree)
	err = s.Apply(tree)
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, ErrContextMismatch) {
		t.Fatalf("Apply(%s) = %v, want an *ApplyError for a context mismatch", brokenDir, err)
	}
	want := ApplyError{Patch: brokenPatch, File: "kernel/kcov.c", Hunk: 2, HunkHeader: "@@ -245,7 +245,7 @@",
		Line: 245, Reason: ae.Reason, Err: ae.Err}
	if *ae != want {
		t.Errorf("err = %+v\nwant %+v", *ae, want)
	}
	wantMsg := fmt.Sprintf("apply %s: kernel/kcov.c: hunk 2 (@@ -245,7 +245,7 @@) does not apply at line 245: "+
		"context does not match: line 249: expected %q, found %q", brokenPatch,
		strings.TrimSuffix(brokenWrong, "\n"), strings.TrimSuffix(brokenRight, "\n"))
	if err.Error() != wantMsg {
		t.Errorf("err = %s\nwant %s", err, wantMsg)
	}
	if d := diffTrees(readTree(t, tree), before); d != "" {
		t.Errorf("failed Apply changed the tree:\n%s", d)
	}
}

func TestBrokenFixture(t *testing.T) {
	s := mustParseBroken(t)
	tree := writeTree(t, map[string]string{"kernel/kcov.c": fakeKcovC(t, s)})
	checkBroken(t, s, tree)
}

// TestBrokenFixtureRealKernel checks the fixture against the real 6.12
// kernel/kcov.c when a kernel tree is present.
func TestBrokenFixtureRealKernel(t *testing.T) {
	realKernelDir := testutil.KernelTree(t)
	s := mustParseBroken(t)
	files := map[string]string{}
	for _, p := range s.Patches {
		for _, f := range p.Files {
			data, err := os.ReadFile(filepath.Join(realKernelDir, f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(data)
		}
	}
	checkBroken(t, s, writeTree(t, files))
}
