package series

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Check applies the whole series, in order, to an in-memory view of tree (a
// kernel source directory; it need not be a git repository) and reports the
// first patch that does not apply as an *ApplyError. Later patches see what
// earlier ones did. Nothing is written.
func (s *Series) Check(tree string) error {
	_, err := s.run(tree)
	return err
}

// Apply is Check followed by writing every changed file into tree. If any
// hunk fails nothing is written. Files are replaced one by one (write to a
// temporary file, then rename), so only an I/O error while writing can
// leave the tree partly patched.
func (s *Series) Apply(tree string) error {
	ov, err := s.run(tree)
	if err != nil {
		return err
	}
	if err := ov.write(); err != nil {
		return fmt.Errorf("apply series %s to %s: %w", s.Name, tree, err)
	}
	return nil
}

// run applies every patch to an overlay of tree.
func (s *Series) run(tree string) (*overlay, error) {
	fi, err := os.Stat(tree)
	if err != nil {
		return nil, fmt.Errorf("apply series %s: source tree: %w", s.Name, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("apply series %s: source tree %s is not a directory", s.Name, tree)
	}
	ov := &overlay{root: tree, files: map[string]*overlayFile{}}
	for i := range s.Patches {
		p := &s.Patches[i]
		files, _, err := parseDiff(p.Diff)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.Source = p.Source + " " + p.Title()
			}
			return nil, err
		}
		for _, fd := range files {
			if err := ov.applyFile(fd); err != nil {
				var ae *ApplyError
				if errors.As(err, &ae) {
					ae.Patch = p.Title()
				}
				return nil, err
			}
		}
	}
	return ov, nil
}

// overlay is a copy-on-read view of a tree: files are read once and then
// changed in memory.
type overlay struct {
	root  string
	files map[string]*overlayFile
}

type overlayFile struct {
	lines  []string // each with its "\n" except perhaps the last
	exists bool
	mode   fs.FileMode
	dirty  bool
}

// get returns the current state of a tree-relative path.
func (o *overlay) get(name string) (*overlayFile, error) {
	if f, ok := o.files[name]; ok {
		return f, nil
	}
	full := filepath.Join(o.root, filepath.FromSlash(name))
	f := &overlayFile{}
	fi, err := os.Stat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", full)
	default:
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		f.exists, f.mode = true, fi.Mode().Perm()
		f.lines = splitLines(string(data))
	}
	o.files[name] = f
	return f, nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// applyFile applies one file diff to the overlay.
func (o *overlay) applyFile(fd *fileDiff) error {
	fail := func(reason string, err error) error {
		return &ApplyError{File: fd.name(), Reason: reason, Err: err}
	}
	if fd.Binary {
		return fail("binary patches are not supported", ErrUnsupported)
	}
	srcName := fd.OldName
	if !fd.Rename && !fd.Copy && fd.NewName != "" {
		srcName = fd.NewName
	}
	var src *overlayFile
	if !fd.NewFile {
		var err error
		if src, err = o.get(srcName); err != nil {
			return fail(err.Error(), err)
		}
		if !src.exists {
			return &ApplyError{File: srcName, Reason: "file not found", Err: ErrFileNotFound}
		}
	}
	dst := src
	if fd.NewFile || (fd.NewName != "" && fd.NewName != srcName) {
		var err error
		if dst, err = o.get(fd.NewName); err != nil {
			return fail(err.Error(), err)
		}
		if dst.exists {
			return fail("file already exists", ErrFileExists)
		}
	}
	var lines []string
	mode := fs.FileMode(0o644)
	if src != nil {
		lines, mode = src.lines, src.mode
	}
	lines, aerr := applyHunks(lines, fd.Hunks)
	if aerr != nil {
		aerr.File = fd.name()
		return aerr
	}
	if fd.Deleted {
		if len(lines) > 0 {
			return fail(fmt.Sprintf("deleted file would keep %d lines: the patch removes only part of it", len(lines)), ErrContextMismatch)
		}
		*src = overlayFile{dirty: true}
		return nil
	}
	if fd.NewMode != 0 {
		mode = fs.FileMode(fd.NewMode).Perm()
	}
	if fd.Rename {
		*src = overlayFile{dirty: true}
	}
	*dst = overlayFile{lines: lines, exists: true, mode: mode, dirty: true}
	return nil
}

// write stores every changed file of the overlay in the tree.
func (o *overlay) write() error {
	names := make([]string, 0, len(o.files))
	for name, f := range o.files {
		if f.dirty {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		f := o.files[name]
		full := filepath.Join(o.root, filepath.FromSlash(name))
		if !f.exists {
			if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			o.removeEmptyDirs(filepath.Dir(full))
			continue
		}
		if err := writeFile(full, strings.Join(f.lines, ""), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// removeEmptyDirs removes dir and its parents up to the root while empty,
// as git apply does after deleting a file.
func (o *overlay) removeEmptyDirs(dir string) {
	root := filepath.Clean(o.root)
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// writeFile replaces path with data via a temporary file and a rename.
func writeFile(path, data string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".series-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
