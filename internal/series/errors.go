package series

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels that callers branch on with errors.Is. They are wrapped by
// *ParseError, *SeriesError and *ApplyError, which carry the details.
var (
	// ErrNoPatches: the input held no message with a diff.
	ErrNoPatches = errors.New("no patches")
	// ErrDuplicatePatch: two messages carry the same [PATCH M/T] number.
	ErrDuplicatePatch = errors.New("duplicate patch number")
	// ErrMissingPatch: numbers between 1 and the total are absent.
	ErrMissingPatch = errors.New("missing patches")
	// ErrMixedSeries: patches disagree on version or total, or a number is
	// larger than the total.
	ErrMixedSeries = errors.New("patches from different series")
	// ErrUnknownPatch: Without was asked to drop a number the series lacks.
	ErrUnknownPatch = errors.New("no such patch in series")
	// ErrMalformed: a message or diff could not be parsed.
	ErrMalformed = errors.New("malformed patch")

	// ErrContextMismatch: a hunk's pre-image is not in the file.
	ErrContextMismatch = errors.New("hunk does not apply")
	// ErrFileNotFound: a patch changes or deletes a file the tree lacks.
	ErrFileNotFound = errors.New("file not found")
	// ErrFileExists: a patch creates (or renames onto) a file that exists.
	ErrFileExists = errors.New("file already exists")
	// ErrUnsupported: the diff uses a feature the applier does not have
	// (binary patches).
	ErrUnsupported = errors.New("unsupported diff")
)

// ParseError reports input that is not a usable patch: a malformed mbox
// message, patch file or diff. The fault is in the input.
type ParseError struct {
	Source string // file path, with "#N" for the Nth message of an mbox
	Line   int    // 1-based line within the diff, 0 when not about a line
	Reason string // what is wrong
	Err    error  // ErrMalformed, or the underlying read error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("parse %s: diff line %d: %s", e.Source, e.Line, e.Reason)
	}
	return fmt.Sprintf("parse %s: %s", e.Source, e.Reason)
}

func (e *ParseError) Unwrap() error { return e.Err }

// SeriesError reports patches that parsed but do not form one complete,
// consistent series (duplicates, gaps, mixed versions or totals), or a
// Without call naming a patch the series does not have.
type SeriesError struct {
	Series  string // the series name (input path or REPO:RANGE)
	Numbers []int  // the patch numbers concerned (missing, duplicated, unknown)
	Reason  string // what is wrong and what to do about it
	Err     error  // one of the Err* sentinels
}

func (e *SeriesError) Error() string {
	return fmt.Sprintf("series %s: %s", e.Series, e.Reason)
}

func (e *SeriesError) Unwrap() error { return e.Err }

// ApplyError reports a patch of the series that does not apply to the tree.
// Nothing has been written to the tree when it is returned.
type ApplyError struct {
	Patch      string // "[PATCH v2 06/11] kcov: x86: introduce CONFIG_KCOV_UNIQUE"
	File       string // tree-relative path the failing part changes
	Hunk       int    // 1-based within the file; 0 for file-level failures
	HunkHeader string // "@@ -10,6 +10,9 @@"
	Line       int    // 1-based line of the file where the hunk was expected
	Reason     string // "context does not match: line 12: expected ... found ..."
	Err        error  // ErrContextMismatch, ErrFileNotFound, ErrFileExists, ErrUnsupported, ...
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apply %s: %s: ", e.Patch, e.File)
	if e.Hunk > 0 {
		fmt.Fprintf(&b, "hunk %d (%s) does not apply at line %d: ", e.Hunk, e.HunkHeader, e.Line)
	}
	b.WriteString(e.Reason)
	return b.String()
}

func (e *ApplyError) Unwrap() error { return e.Err }

// CommandError reports an external command (git) that failed.
type CommandError struct {
	Argv   []string
	Stderr string // the tail of its stderr
	Err    error  // from exec
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("run %s: %v", strings.Join(e.Argv, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + strings.ReplaceAll(s, "\n", "; ")
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }
