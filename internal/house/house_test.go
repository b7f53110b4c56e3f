package house

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kcovlab/kcovlab/"

// Levels of the house, top first. A package may import only packages of a
// lower level, never its own level (so verbs never import each other);
// packages not listed are below lab.
var levels = [][]string{
	{"cmd/kcovlab"},
	{"e2e"},
	{"bisect", "compare", "ask", "nightly", "mutants", "export", "bench"},
	{"runs"},
	{"runs/runstest"}, // the fake lab: runs' own tests use it too
	{"lab"},
}

// engine is what only lab, and the parts below it, may import.
var engine = []string{"internal/vm", "internal/sshlink", "images"}

// level is the package's level (0 top), or len(levels) below lab.
func level(pkg string) int {
	for i, l := range levels {
		if slices.Contains(l, pkg) {
			return i
		}
	}
	return len(levels)
}

// imports maps every package of the module (by path relative to the
// module root) to the module packages its files import, tests included.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	graph := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(graph[pkg], dep) {
				graph[pkg] = append(graph[pkg], dep)
			}
		}
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

// TestArrowsPointDown fails on an import that runs back up the house or
// sideways between verbs, and on a package above lab that reaches the VM,
// SSH or the guest image itself.
func TestArrowsPointDown(t *testing.T) {
	graph := imports(t)
	for _, l := range levels {
		for _, p := range l {
			if _, ok := graph[p]; !ok {
				t.Errorf("package %s of the house is missing: update levels in this test and README's Layout", p)
			}
		}
	}
	var pkgs []string
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		for _, dep := range graph[p] {
			if dep == p {
				continue
			}
			lp, ld := level(p), level(dep)
			if ld < len(levels) && ld <= lp {
				t.Errorf("%s imports %s: arrows point down only (cmd/kcovlab, verbs, runs, lab, the rest), and verbs never import each other", p, dep)
			}
			if slices.Contains(engine, dep) && lp < len(levels) && p != "lab" {
				t.Errorf("%s imports %s: only lab reaches the VM, SSH and the guest image; ask lab for a run", p, dep)
			}
		}
	}
}

// TestLevelOf checks the rule's own arithmetic on made-up arrows.
func TestLevelOf(t *testing.T) {
	if level("compare") != level("ask") || level("runs") <= level("ask") || level("lab") <= level("runs") || level("internal/vm") <= level("lab") {
		t.Fatal("levels are out of order")
	}
}
