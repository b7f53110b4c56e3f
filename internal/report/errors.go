package report

import (
	"errors"
	"fmt"

	"github.com/kcovlab/kcovlab/internal/results"
)

// ErrNoRuns means there was no result to report on.
var ErrNoRuns = errors.New("no kcovlab runs to report")

// InputError says a run handed to a writer cannot be reported: the caller
// passed something that is not a result.json.
type InputError struct {
	Index   int    // position in the runs slice
	Problem string // what is wrong with it
}

func (e *InputError) Error() string {
	return fmt.Sprintf("report: run %d: %s (pass results loaded with results.Read)", e.Index, e.Problem)
}

// FileError says an output or input file could not be written or read.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("report: %s: %v", e.Path, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// checkRuns rejects nil runs, which every writer would otherwise have to skip.
func checkRuns(runs []*results.Result) error {
	for i, r := range runs {
		if r == nil {
			return &InputError{Index: i, Problem: "nil result"}
		}
	}
	return nil
}
