package series

import (
	"fmt"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// upstreamSeries holds the real kcov-dedup mboxes, as posted, shipped in the repo.
const upstreamSeries = "../../patches/upstream"

// realMbox returns the path of kcov-dedup-vN.mbox.
func realMbox(t *testing.T, version int) string {
	t.Helper()
	p := filepath.Join(upstreamSeries, fmt.Sprintf("kcov-dedup-v%d.mbox", version))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("real series missing from the repo: %v", err)
	}
	return p
}

func mustParseMboxFile(t *testing.T, path string) *Series {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseMbox(path, f)
	if err != nil {
		t.Fatalf("ParseMbox(%s): %v", path, err)
	}
	return s
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, name, []byte(got))
}

// writeTree creates files (slash-separated path -> content) under a new
// temporary directory and returns it. A path ending in "*" is made
// executable (the "*" is dropped).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// readTree returns every regular file under root (slash-separated path ->
// content, "*" appended to executable files' paths) and, as "dir/", every
// empty directory.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 && rel != "." {
				out[rel+"/"] = ""
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&0o100 != 0 {
			rel += "*"
		}
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffTrees describes how got differs from want, "" when equal.
func diffTrees(got, want map[string]string) string {
	var b strings.Builder
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "missing %s\n", k)
		case !wok:
			fmt.Fprintf(&b, "unexpected %s\n", k)
		case g != w:
			fmt.Fprintf(&b, "%s differs:\n got: %q\nwant: %q\n", k, g, w)
		}
	}
	return b.String()
}

// copyTree copies the regular files and modes of src into a new temporary
// directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// mkSeries builds a series of numbered patches from diffs, as if they had
// been mailed as "[PATCH n/N] change n".
func mkSeries(diffs ...string) *Series {
	s := &Series{Name: "test", Version: 1}
	for i, d := range diffs {
		s.Patches = append(s.Patches, Patch{
			Subject: fmt.Sprintf("change %d", i+1),
			Prefix:  fmt.Sprintf("PATCH %d/%d", i+1, len(diffs)),
			Version: 1, Number: i + 1, Total: len(diffs),
			Diff:   d,
			Source: fmt.Sprintf("test#%d", i+1),
		})
	}
	return s
}
