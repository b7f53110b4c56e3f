package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/kcovlab/kcovlab/internal/results"
)

// Files WriteRunDir writes.
const (
	JUnitFile = "junit.xml"
	KTAPFile  = "results.ktap"
	HTMLFile  = "report.html"
)

// WriteRunDir writes junit.xml, results.ktap and report.html for runs into
// dir (created if missing). Each file is rendered in memory and then written
// through a temporary file and a rename, so a reader never sees half a file.
func WriteRunDir(dir string, runs []*results.Result) error {
	if len(runs) == 0 {
		return fmt.Errorf("report: write %s: %w", dir, ErrNoRuns)
	}
	if err := checkRuns(runs); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &FileError{Path: dir, Err: err}
	}
	outputs := []struct {
		name   string
		render func(io.Writer) error
	}{
		{JUnitFile, func(w io.Writer) error { return JUnit(w, runs) }},
		{KTAPFile, func(w io.Writer) error { return KTAP(w, runs) }},
		{HTMLFile, func(w io.Writer) error { return HTML(w, runs, HTMLOptions{Title: pageTitle(runs)}) }},
	}
	for _, o := range outputs {
		var b bytes.Buffer
		if err := o.render(&b); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, o.name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func pageTitle(runs []*results.Result) string {
	if len(runs) == 1 {
		return fmt.Sprintf("kcovlab run %s: kernel %s", runs[0].RunID, kernelName(runs[0]))
	}
	return fmt.Sprintf("kcovlab report: %d kernels", len(runs))
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = &FileError{Path: path, Err: err}
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Load reads the runs at paths. Each path is a run directory, a result.json,
// or a directory whose subdirectories are run directories (a results/ tree
// or a nightly's); those are read in name order, which for run ids is the
// order they started.
func Load(paths ...string) ([]*results.Result, error) {
	var runs []*results.Result
	for _, p := range paths {
		found, err := load(p)
		if err != nil {
			return nil, err
		}
		runs = append(runs, found...)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: %v: %w (want run directories holding result.json)", paths, ErrNoRuns)
	}
	return runs, nil
}

func load(path string) ([]*results.Result, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	if _, err := os.Stat(filepath.Join(path, "result.json")); !st.IsDir() || err == nil {
		r, err := results.Read(path)
		if err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		return []*results.Result{r}, nil
	}
	matches, err := filepath.Glob(filepath.Join(path, "*", "result.json"))
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	sort.Strings(matches)
	var runs []*results.Result
	for _, m := range matches {
		r, err := results.Read(m)
		if err != nil {
			return nil, &FileError{Path: m, Err: err}
		}
		runs = append(runs, r)
	}
	return runs, nil
}
