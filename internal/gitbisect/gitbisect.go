// Package gitbisect drives `git bisect` in a working tree: start it between
// an old and a new revision (with custom terms when the newer revision is
// the good one), mark commits, read git's answer and reset. kcovlab's bisect
// (bisect.Bisect) judges each commit itself and marks it here; the argv
// builders also give the plain git commands that reproduce a bisect.
// InsertFixture puts a deliberately broken commit (and its revert) into a
// history, to test that a bisect skips such a commit rather than blame it.
//
// Host needs: git 2.7 or newer (--term-old/--term-new).
//
// Tests: go test -short ./internal/gitbisect/ table-tests the argv builders
// and the output parser and runs git on throwaway repositories in
// t.TempDir().
package gitbisect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kcovlab/kcovlab/internal/proc"
)

// Terms are git bisect's words for the two states: Old holds at the older
// revision, New at the newer one.
type Terms struct{ Old, New string }

var (
	// DefaultTerms: the older revision is good, the newer one bad.
	DefaultTerms = Terms{Old: "good", New: "bad"}
	// FixTerms: the older revision is broken, the newer one fixed (git
	// refuses "bad" as the old term, so a fix search needs its own words).
	FixTerms = Terms{Old: "broken", New: "fixed"}
)

// Skip is the mark for a commit that cannot be judged.
const Skip = "skip"

// Exit codes of a `git bisect run` command.
const (
	ExitOld   = 0   // the commit is Old
	ExitNew   = 1   // the commit is New (1..127 except 125)
	ExitSkip  = 125 // the commit cannot be judged
	ExitAbort = 128 // stop the bisect (128..255)
)

// Conditions that keep a tree from being bisected.
var (
	ErrNotRepo   = errors.New("not a git work tree")
	ErrDirty     = errors.New("has uncommitted changes")
	ErrBisecting = errors.New("is already in a git bisect")
)

func (t Terms) custom() bool { return t != DefaultTerms }

// StartArgv starts a bisect in dir between newRev (Terms.New) and oldRev.
func StartArgv(dir string, terms Terms, newRev, oldRev string) []string {
	argv := []string{"git", "-C", dir, "bisect", "start"}
	if terms.custom() {
		argv = append(argv, "--term-old", terms.Old, "--term-new", terms.New)
	}
	return append(argv, newRev, oldRev)
}

// MarkArgv marks commit with a term (Old, New or Skip).
func MarkArgv(dir, term, commit string) []string {
	return []string{"git", "-C", dir, "bisect", term, commit}
}

// RunArgv hands the bisect to command, judged by its exit code.
func RunArgv(dir string, command []string) []string {
	return append([]string{"git", "-C", dir, "bisect", "run"}, command...)
}

// ResetArgv ends the bisect and checks out the revision it started from.
func ResetArgv(dir string) []string { return []string{"git", "-C", dir, "bisect", "reset"} }

// Progress is what git said after a mark.
type Progress struct {
	// Done: git has nothing left to test.
	Done bool
	// First is the first New commit, when git could name it.
	First string
	// Candidates, when only skipped commits are left, are the commits the
	// first New commit is among.
	Candidates []string
}

var (
	firstRe = regexp.MustCompile(`(?m)^([0-9a-f]{40,64}) is the first (\S+) commit$`)
	anyOfRe = regexp.MustCompile(`(?m)^The first (\S+) commit could be any of:$`)
	hashRe  = regexp.MustCompile(`^[0-9a-f]{40,64}$`)
)

// ParseProgress reads the output of a `git bisect TERM` run under LC_ALL=C.
func ParseProgress(out string, terms Terms) (Progress, error) {
	if m := firstRe.FindStringSubmatch(out); m != nil {
		if m[2] != terms.New {
			return Progress{}, fmt.Errorf("git bisect named the first %s commit, want the first %s one", m[2], terms.New)
		}
		return Progress{Done: true, First: m[1]}, nil
	}
	loc := anyOfRe.FindStringSubmatchIndex(out)
	if loc == nil {
		return Progress{}, nil
	}
	p := Progress{Done: true}
	for _, line := range strings.Split(out[loc[1]:], "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !hashRe.MatchString(line) {
			break
		}
		p.Candidates = append(p.Candidates, line)
	}
	if len(p.Candidates) == 0 {
		return Progress{}, fmt.Errorf("git bisect left only skipped commits but listed none:\n%s", out)
	}
	return p, nil
}

// Repo is a git working tree to bisect.
type Repo struct {
	// Dir is the tree's top-level directory.
	Dir string
}

// Open returns the repository whose work tree holds dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: abs}
	top, err := r.git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("kernel tree %s: %w (bisect needs a git tree; `kcovlab bisect-tree` makes one from a tarball and a series): %v",
			abs, ErrNotRepo, err)
	}
	r.Dir = top
	return r, nil
}

// Ready fails unless the tree can start a bisect: no bisect in progress and
// no uncommitted change to a tracked file (untracked files are allowed).
func (r *Repo) Ready(ctx context.Context) error {
	if r.Bisecting(ctx) {
		return fmt.Errorf("kernel tree %s %w: finish it or run `git -C %s bisect reset`", r.Dir, ErrBisecting, r.Dir)
	}
	out, err := r.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return err
	}
	if out != "" {
		lines := strings.Split(out, "\n")
		if len(lines) > 5 {
			lines = append(lines[:5], "...")
		}
		return fmt.Errorf("kernel tree %s %w (%s): commit or stash them first, a bisect checks out other commits",
			r.Dir, ErrDirty, strings.Join(lines, "; "))
	}
	return nil
}

// Bisecting reports whether a bisect is in progress.
func (r *Repo) Bisecting(ctx context.Context) bool {
	p, err := r.git(ctx, "rev-parse", "--git-path", "BISECT_START")
	if err != nil {
		return false
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.Dir, p)
	}
	_, err = os.Stat(p)
	return err == nil
}

// Resolve returns the commit hash rev names.
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	h, err := r.git(ctx, "rev-parse", "--verify", "-q", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("kernel tree %s: %q is not a commit", r.Dir, rev)
	}
	return h, nil
}

// Head returns the checked-out commit.
func (r *Repo) Head(ctx context.Context) (string, error) { return r.git(ctx, "rev-parse", "HEAD") }

// Subject returns the first line of a commit's message.
func (r *Repo) Subject(ctx context.Context, rev string) (string, error) {
	return r.git(ctx, "log", "-1", "--format=%s", rev)
}

// IsAncestor reports whether a is an ancestor of b (or b itself).
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.git(ctx, "merge-base", "--is-ancestor", a, b)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, err
}

// Commits lists the commits a bisect between newRev and oldRev can test:
// newRev and its ancestors that are not ancestors of oldRev, newest first.
func (r *Repo) Commits(ctx context.Context, newRev, oldRev string) ([]string, error) {
	out, err := r.git(ctx, "rev-list", newRev, "^"+oldRev)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// Start starts the bisect and checks out the first commit to test.
func (r *Repo) Start(ctx context.Context, terms Terms, newRev, oldRev string) (Progress, error) {
	return r.bisect(ctx, StartArgv(r.Dir, terms, newRev, oldRev), terms)
}

// Mark records a verdict on commit (a term or Skip) and checks out the next
// commit to test, or says git is done.
func (r *Repo) Mark(ctx context.Context, terms Terms, term, commit string) (Progress, error) {
	return r.bisect(ctx, MarkArgv(r.Dir, term, commit), terms)
}

// Reset ends the bisect and puts back the revision it started from.
func (r *Repo) Reset(ctx context.Context) error {
	_, err := r.run(ctx, ResetArgv(r.Dir))
	return err
}

func (r *Repo) bisect(ctx context.Context, argv []string, terms Terms) (Progress, error) {
	out, err := r.run(ctx, argv)
	p, perr := ParseProgress(out, terms)
	if perr != nil {
		return p, perr
	}
	if err != nil && !p.Done {
		return p, err
	}
	return p, nil
}

func (r *Repo) git(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, append([]string{"git", "-C", r.Dir}, args...))
}

// run runs argv in the C locale (its output is parsed) and returns its
// stdout and stderr together, trimmed.
func (r *Repo) run(ctx context.Context, argv []string) (string, error) {
	return r.runEnv(ctx, argv, nil)
}

func (r *Repo) runEnv(ctx context.Context, argv, env []string) (string, error) {
	cmd := proc.Command(ctx, argv)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C", "LANGUAGE=C", "GIT_TERMINAL_PROMPT=0"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		if ctx.Err() != nil {
			return text, fmt.Errorf("%s: %w", proc.Quote(argv), ctx.Err())
		}
		return text, &CommandError{Argv: argv, Output: text, Err: err}
	}
	return text, nil
}

// CommandError is a git command that failed, with what it printed.
type CommandError struct {
	Argv   []string
	Output string
	Err    error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: %v", proc.Quote(e.Argv), e.Err)
	if e.Output != "" {
		out := e.Output
		if len(out) > 2000 {
			out = "..." + out[len(out)-2000:]
		}
		msg += ": " + out
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }
