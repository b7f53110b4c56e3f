package kconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// KconfigIndex maps Kconfig symbols to their `depends on` expressions, as
// found by IndexKconfig. It implements DepLookup.
type KconfigIndex struct {
	deps map[string][]string // symbol -> distinct non-empty deps per definition
}

// skipDirs are paths (relative to the tree, slash-separated) whose Kconfig
// files are examples or kconfig's own test inputs, not kernel symbols.
var skipDirs = map[string]bool{
	"Documentation/kbuild":  true,
	"scripts/kconfig/tests": true,
}

// IndexKconfig scans every file named Kconfig* under the kernel source tree
// srcTree, skipping hidden directories (.git), kconfig test inputs, and
// build output directories (any subdirectory holding a .config), and records
// each `config`/`menuconfig` symbol's dependencies: its `depends on` lines
// and those of its enclosing `if`, `menu` and `choice` blocks within the same
// file. It does not follow `source`, so dependencies inherited from a
// sourcing file are missing.
func IndexKconfig(srcTree string) (*KconfigIndex, error) {
	return IndexKconfigArch(srcTree, "")
}

// IndexKconfigArch is IndexKconfig limited to one architecture: when arch
// (e.g. "x86") is not empty, arch/* directories other than arch/<arch> are
// skipped, so symbols defined per architecture get only that definition.
func IndexKconfigArch(srcTree, arch string) (*KconfigIndex, error) {
	if _, err := os.Stat(filepath.Join(srcTree, "Kconfig")); err != nil {
		return nil, fmt.Errorf("index Kconfig: %s is not a kernel source tree (no top-level Kconfig): %w",
			srcTree, err)
	}
	w := &kwalker{root: srcTree, arch: arch}
	if err := w.walk(""); err != nil {
		return nil, fmt.Errorf("index Kconfig in %s: %w", srcTree, err)
	}
	defs, err := scanFiles(srcTree, w.files)
	if err != nil {
		return nil, fmt.Errorf("index Kconfig in %s: %w", srcTree, err)
	}
	idx := &KconfigIndex{deps: make(map[string][]string)}
	for _, fileDefs := range defs {
		for _, d := range fileDefs {
			idx.add(d)
		}
	}
	return idx, nil
}

func (k *KconfigIndex) add(d kdef) {
	list, known := k.deps[d.sym]
	if !known {
		list = []string{}
	}
	if d.deps != "" && !slices.Contains(list, d.deps) {
		list = append(list, d.deps)
	}
	k.deps[d.sym] = list
}

// DependsOn returns the symbol's dependencies: its definitions' expressions
// joined with " || " when they differ, "" when it has none. Definitions
// without dependencies are left out of the join, since they usually lose
// theirs to a sourcing file. ok is false for a symbol the tree does not
// define. sym may carry the CONFIG_ prefix.
func (k *KconfigIndex) DependsOn(sym string) (string, bool) {
	list, ok := k.deps[strings.TrimPrefix(sym, symPrefix)]
	if !ok {
		return "", false
	}
	return joinExprs(list, " || "), true
}

// Len returns the number of symbols indexed.
func (k *KconfigIndex) Len() int { return len(k.deps) }

// kwalker lists Kconfig files in lexical order, so the index does not
// depend on scheduling.
type kwalker struct {
	root  string
	arch  string
	files []string // slash-separated, relative to root
}

func (w *kwalker) walk(rel string) error {
	ents, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	if rel != "" && hasEntry(ents, ".config") {
		return nil // build output directory
	}
	for _, e := range ents {
		name := e.Name()
		p := path.Join(rel, name)
		switch {
		case e.IsDir():
			if w.skipDir(p, name) {
				continue
			}
			if err := w.walk(p); err != nil {
				return err
			}
		case e.Type().IsRegular() && isKconfigName(name):
			w.files = append(w.files, p)
		}
	}
	return nil
}

func (w *kwalker) skipDir(rel, name string) bool {
	if strings.HasPrefix(name, ".") || skipDirs[rel] {
		return true
	}
	parent, _ := path.Split(rel)
	return w.arch != "" && parent == "arch/" && name != w.arch
}

func hasEntry(ents []fs.DirEntry, name string) bool {
	for _, e := range ents {
		if e.Name() == name {
			return true
		}
	}
	return false
}

// isKconfigName accepts Kconfig and Kconfig.* but not editor or patch
// leftovers.
func isKconfigName(name string) bool {
	if !strings.HasPrefix(name, "Kconfig") {
		return false
	}
	for _, suf := range []string{"~", ".orig", ".rej", ".swp", ".bak"} {
		if strings.HasSuffix(name, suf) {
			return false
		}
	}
	return true
}

// scanFiles reads and scans files on GOMAXPROCS workers and returns their
// definitions in the order of files.
func scanFiles(root string, files []string) ([][]kdef, error) {
	out := make([][]kdef, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(files[i])))
				if err != nil {
					errs[i] = err
					continue
				}
				out[i] = scanKconfig(data)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}
