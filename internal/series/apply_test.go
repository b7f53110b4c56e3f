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

// numbered returns "lN\n" for N in [from, to].
func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "l%d\n", i)
	}
	return b.String()
}

// gitDiff wraps hunks in a git header for an existing file.
func gitDiff(name, hunks string) string {
	return fmt.Sprintf("diff --git a/%[1]s b/%[1]s\nindex 1111111..2222222 100644\n--- a/%[1]s\n+++ b/%[1]s\n%s", name, hunks)
}

const (
	hunkChange7 = "@@ -4,7 +4,7 @@ section\n l4\n l5\n l6\n-l7\n+L7\n l8\n l9\n l10\n"
	hunkAdd     = "@@ -4,6 +4,8 @@\n l4\n l5\n l6\n+new1\n+new2\n l7\n l8\n l9\n"
	hunkDelete  = "@@ -4,8 +4,6 @@\n l4\n l5\n l6\n-l7\n-l8\n l9\n l10\n l11\n"
	hunkFirst   = "@@ -1,4 +1,4 @@\n-l1\n+L1\n l2\n l3\n l4\n"
	hunkAppend  = "@@ -18,3 +18,4 @@\n l18\n l19\n l20\n+l21\n"
	hunkTwo     = "@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n" +
		"@@ -12,7 +12,7 @@\n l12\n l13\n l14\n-l15\n+L15\n l16\n l17\n l18\n"
)

// applyCase is a tree, a series of diffs and the tree the series makes.
type applyCase struct {
	name  string
	tree  map[string]string
	diffs []string
	want  map[string]string
}

// runApplyCases checks that Check leaves each tree alone and Apply turns it
// into want.
func runApplyCases(t *testing.T, tests []applyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.tree)
			s := mkSeries(tt.diffs...)
			if err := s.Check(dir); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if d := diffTrees(readTree(t, dir), readTree(t, writeTree(t, tt.tree))); d != "" {
				t.Fatalf("Check changed the tree:\n%s", d)
			}
			if err := s.Apply(dir); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if d := diffTrees(readTree(t, dir), tt.want); d != "" {
				t.Errorf("tree after Apply:\n%s", d)
			}
		})
	}
}

func TestApplyLines(t *testing.T) {
	base := numbered(1, 20)
	repeated := "k1\nk2\nX\nk3\nk4\n"
	runApplyCases(t, []applyCase{
		{"change a line", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkChange7)},
			map[string]string{"a.txt": strings.Replace(base, "l7\n", "L7\n", 1)}},
		{"add lines", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkAdd)},
			map[string]string{"a.txt": numbered(1, 6) + "new1\nnew2\n" + numbered(7, 20)}},
		{"delete lines", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkDelete)},
			map[string]string{"a.txt": numbered(1, 6) + numbered(9, 20)}},
		{"first line", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkFirst)},
			map[string]string{"a.txt": "L1\n" + numbered(2, 20)}},
		{"append at end", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkAppend)},
			map[string]string{"a.txt": numbered(1, 21)}},
		{"two hunks", map[string]string{"a.txt": base}, []string{gitDiff("a.txt", hunkTwo)},
			map[string]string{"a.txt": strings.NewReplacer("l5\n", "L5\n", "l15\n", "L15\n").Replace(base)}},
		{"offset match", map[string]string{"a.txt": "x1\nx2\nx3\n" + base}, []string{gitDiff("a.txt", hunkChange7)},
			map[string]string{"a.txt": "x1\nx2\nx3\n" + strings.Replace(base, "l7\n", "L7\n", 1)}},
		{"offset carries to the next hunk", map[string]string{"a.txt": "x1\n" + base}, []string{gitDiff("a.txt", hunkTwo)},
			map[string]string{"a.txt": "x1\n" + strings.NewReplacer("l5\n", "L5\n", "l15\n", "L15\n").Replace(base)}},
		{"nearest of two offset matches",
			map[string]string{"m.txt": numbered(1, 6) + repeated + numbered(7, 14) + repeated + numbered(15, 20)},
			[]string{gitDiff("m.txt", "@@ -10,5 +10,5 @@\n k1\n k2\n-X\n+Y\n k3\n k4\n")},
			map[string]string{"m.txt": numbered(1, 6) + "k1\nk2\nY\nk3\nk4\n" + numbered(7, 14) + repeated + numbered(15, 20)}},
		{"add newline at end of file", map[string]string{"a.txt": numbered(1, 4) + "l5"}, []string{
			gitDiff("a.txt", "@@ -3,3 +3,3 @@\n l3\n l4\n-l5\n\\ No newline at end of file\n+l5\n")},
			map[string]string{"a.txt": numbered(1, 5)}},
		{"remove newline at end of file", map[string]string{"a.txt": numbered(1, 5)}, []string{
			gitDiff("a.txt", "@@ -3,3 +3,3 @@\n l3\n l4\n-l5\n+l5\n\\ No newline at end of file\n")},
			map[string]string{"a.txt": numbered(1, 4) + "l5"}},
		{"change last line without newline", map[string]string{"a.txt": numbered(1, 4) + "l5"}, []string{
			gitDiff("a.txt", "@@ -3,3 +3,3 @@\n l3\n l4\n-l5\n\\ No newline at end of file\n+L5\n\\ No newline at end of file\n")},
			map[string]string{"a.txt": numbered(1, 4) + "L5"}},
		{"context line without newline", map[string]string{"a.txt": numbered(1, 4) + "l5"}, []string{
			gitDiff("a.txt", "@@ -3,3 +3,4 @@\n l3\n+new\n l4\n l5\n\\ No newline at end of file\n")},
			map[string]string{"a.txt": numbered(1, 3) + "new\nl4\nl5"}},
		{"file has the newline the patch says is missing", map[string]string{"a.txt": numbered(1, 5)}, []string{
			gitDiff("a.txt", "@@ -3,3 +3,4 @@\n l3\n+new\n l4\n l5\n\\ No newline at end of file\n")},
			map[string]string{"a.txt": numbered(1, 3) + "new\nl4\nl5"}}, // as git apply does
		{"later patch sees earlier patch", map[string]string{"a.txt": base}, []string{
			gitDiff("a.txt", hunkAppend), gitDiff("a.txt", "@@ -19,3 +19,3 @@\n l19\n l20\n-l21\n+L21\n")},
			map[string]string{"a.txt": numbered(1, 20) + "L21\n"}},
	})
}

func TestApplyFiles(t *testing.T) {
	base := numbered(1, 20)
	runApplyCases(t, []applyCase{
		{"new file", map[string]string{"a.txt": base}, []string{
			"diff --git a/d/new.txt b/d/new.txt\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/d/new.txt\n@@ -0,0 +1,2 @@\n+hello\n+world\n"},
			map[string]string{"a.txt": base, "d/new.txt": "hello\nworld\n"}},
		{"new empty executable file", map[string]string{"a.txt": base}, []string{
			"diff --git a/run.sh b/run.sh\nnew file mode 100755\nindex 0000000..e69de29\n"},
			map[string]string{"a.txt": base, "run.sh*": ""}},
		{"deleted file and its empty dir", map[string]string{"a.txt": base, "d/old.txt": "x\ny\n"}, []string{
			"diff --git a/d/old.txt b/d/old.txt\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/d/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n"},
			map[string]string{"a.txt": base}},
		{"rename with mode change and edit", map[string]string{"tools/run.sh": "#!/bin/sh\nexec x\n"}, []string{
			"diff --git a/tools/run.sh b/bin/run.sh\nold mode 100644\nnew mode 100755\nsimilarity index 80%\nrename from tools/run.sh\nrename to bin/run.sh\n" +
				"--- a/tools/run.sh\n+++ b/bin/run.sh\n@@ -1,2 +1,3 @@\n #!/bin/sh\n+set -e\n exec x\n"},
			map[string]string{"bin/run.sh*": "#!/bin/sh\nset -e\nexec x\n"}},
		{"mode change only", map[string]string{"x.sh": "true\n"}, []string{
			"diff --git a/x.sh b/x.sh\nold mode 100644\nnew mode 100755\n"},
			map[string]string{"x.sh*": "true\n"}},
	})
}

func TestApplyErrors(t *testing.T) {
	base := numbered(1, 20)
	newFile := "diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+x\n"
	tests := []struct {
		name    string
		tree    map[string]string
		diff    string
		wantErr error
		want    ApplyError // Patch is always "[PATCH 1/1] change 1"
		wantMsg string     // the whole Error() text, or a substring when it starts with "..."
	}{
		{"context mismatch in hunk 2", map[string]string{"a.txt": strings.Replace(base, "l14\n", "L14!\n", 1)}, gitDiff("a.txt", hunkTwo),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 2, HunkHeader: "@@ -12,7 +12,7 @@", Line: 12},
			`apply [PATCH 1/1] change 1: a.txt: hunk 2 (@@ -12,7 +12,7 @@) does not apply at line 12: context does not match: line 14: expected "l14", found "L14!"`},
		{"removed line differs", map[string]string{"a.txt": strings.Replace(base, "l7\n", "l7 \n", 1)}, gitDiff("a.txt", hunkChange7),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -4,7 +4,7 @@", Line: 4},
			`... line 7: expected "l7", found "l7 "`},
		{"file too short", map[string]string{"a.txt": numbered(1, 8)}, gitDiff("a.txt", hunkChange7),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -4,7 +4,7 @@", Line: 4},
			`... line 9: expected "l9", found end of file (8 lines)`},
		{"no trailing context but not at the end", map[string]string{"a.txt": base + "l21\n"}, gitDiff("a.txt", hunkAppend),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -18,3 +18,4 @@", Line: 18},
			`... at line 18: hunk has no trailing context, so it must end the file, but the file has 1 more lines`},
		{"missing newline at end of file in the middle", map[string]string{"a.txt": numbered(1, 6)},
			gitDiff("a.txt", "@@ -3,3 +3,3 @@\n l3\n l4\n-l5\n\\ No newline at end of file\n+L5\n"),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -3,3 +3,3 @@", Line: 3},
			`... line 5: expected "l5" (no newline at end of file), found "l5"`},
		{"newline at end of file missing in the file", map[string]string{"a.txt": numbered(1, 4) + "l5"},
			gitDiff("a.txt", "@@ -3,3 +3,3 @@\n l3\n l4\n-l5\n+L5\n"),
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -3,3 +3,3 @@", Line: 3},
			`... line 5: expected "l5", found "l5" (no newline at end of file)`},
		{"file not found", map[string]string{"a.txt": base}, gitDiff("missing.txt", hunkChange7),
			ErrFileNotFound, ApplyError{File: "missing.txt"}, "apply [PATCH 1/1] change 1: missing.txt: file not found"},
		{"new file exists", map[string]string{"a.txt": base}, newFile,
			ErrFileExists, ApplyError{File: "a.txt"}, "apply [PATCH 1/1] change 1: a.txt: file already exists"},
		{"deleted file is longer", map[string]string{"a.txt": base},
			"diff --git a/a.txt b/a.txt\ndeleted file mode 100644\n--- a/a.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-l1\n-l2\n",
			ErrContextMismatch, ApplyError{File: "a.txt", Hunk: 1, HunkHeader: "@@ -1,2 +0,0 @@", Line: 1},
			"... does not apply at line 1: hunk has no trailing context, so it must end the file, but the file has 18 more lines"},
		{"deleted empty file is not empty", map[string]string{"a.txt": base},
			"diff --git a/a.txt b/a.txt\ndeleted file mode 100644\nindex e69de29..0000000\n",
			ErrContextMismatch, ApplyError{File: "a.txt"}, "apply [PATCH 1/1] change 1: a.txt: deleted file would keep 20 lines: the patch removes only part of it"},
		{"binary", map[string]string{"a.bin": "x"},
			"diff --git a/a.bin b/a.bin\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 1\nIcmZpc00031\n\nliteral 1\nIcmZpc00031\n\n",
			ErrUnsupported, ApplyError{File: "a.bin"}, "... binary patches are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.tree)
			s := mkSeries(tt.diff)
			for _, run := range []func(string) error{s.Check, s.Apply} {
				err := run(dir)
				var ae *ApplyError
				if !errors.As(err, &ae) || !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want an *ApplyError wrapping %v", err, tt.wantErr)
				}
				want := tt.want
				want.Patch, want.Reason, want.Err = "[PATCH 1/1] change 1", ae.Reason, ae.Err
				if *ae != want {
					t.Errorf("err = %+v\nwant %+v", *ae, want)
				}
				if sub, ok := strings.CutPrefix(tt.wantMsg, "..."); ok && !strings.Contains(err.Error(), sub) ||
					!ok && err.Error() != tt.wantMsg {
					t.Errorf("err = %q\nwant %q", err, tt.wantMsg)
				}
			}
			if d := diffTrees(readTree(t, dir), readTree(t, writeTree(t, tt.tree))); d != "" {
				t.Errorf("a failed Apply changed the tree:\n%s", d)
			}
		})
	}
}

// TestApplyAtomic: when patch 2 fails, patch 1's changes are not written.
func TestApplyAtomic(t *testing.T) {
	tree := map[string]string{"a.txt": numbered(1, 20), "b.txt": numbered(1, 20)}
	dir := writeTree(t, tree)
	s := mkSeries(
		gitDiff("a.txt", hunkChange7)+
			"diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n",
		gitDiff("b.txt", hunkAdd)+gitDiff("a.txt", hunkChange7), // a.txt no longer has l7
	)
	err := s.Apply(dir)
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Patch != "[PATCH 2/2] change 2" || ae.File != "a.txt" || ae.Hunk != 1 {
		t.Fatalf("err = %v, want patch 2 failing on a.txt hunk 1", err)
	}
	if !strings.Contains(err.Error(), `expected "l7", found "L7"`) {
		t.Errorf("err = %v, want it to show the line patch 1 changed", err)
	}
	if d := diffTrees(readTree(t, dir), tree); d != "" {
		t.Errorf("failed Apply wrote files:\n%s", d)
	}
}

// TestApplyGolden applies testdata/twopatch/patches (git format-patch
// output: new, deleted and renamed files, a mode change, a missing newline
// at the end of a file) to testdata/twopatch/tree and compares the result
// with testdata/twopatch/want.
func TestApplyGolden(t *testing.T) {
	s, err := ParseDir(filepath.Join("testdata", "twopatch", "patches"))
	if err != nil {
		t.Fatal(err)
	}
	dir := copyTree(t, filepath.Join("testdata", "twopatch", "tree"))
	if err := s.Apply(dir); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("testdata", "twopatch", "want")
	if *testutil.Update {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(want, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	if d := diffTrees(readTree(t, dir), readTree(t, want)); d != "" {
		t.Errorf("tree differs from %s (run with -update to accept):\n%s", want, d)
	}
}
