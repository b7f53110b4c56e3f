package kbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kcovlab/kcovlab/internal/series"
)

// Worktree is a git repository made from a base source: commit "base" is the
// source as it came, and each series becomes a branch with one commit per
// patch. Every kernel of that base is built from this one directory, checked
// out at its branch, into one output tree, so git touches only the files a
// switch changes and make rebuilds only what depends on them. The branches
// also make the series bisectable.
type Worktree struct {
	Dir  string
	base *Source
	log  *slog.Logger
}

const baseTag = "kcovlab-base"

// committer identity and date are fixed so the same series always gives the
// same commits.
var gitEnv = []string{
	"GIT_COMMITTER_NAME=kcovlab", "GIT_COMMITTER_EMAIL=kcovlab@localhost",
	"GIT_COMMITTER_DATE=2000-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent",
}

// OpenWorktree returns the worktree of base under cacheDir/trees, making it
// (a copy of base committed as "base") the first time. A worktree is made
// in a staging dir and renamed into place whole, so one that exists is
// complete: it is never removed (another run may be building from it).
// Call it under the build lock (Lock).
func OpenWorktree(ctx context.Context, base *Source, cacheDir string, log *slog.Logger) (*Worktree, error) {
	w := WorktreeFor(base, cacheDir, log)
	dir := w.Dir
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if _, err := w.git(ctx, "rev-parse", "--verify", "-q", baseTag); err != nil {
			return nil, fmt.Errorf("worktree %s has no %s tag (remove the directory to make it again): %w", dir, baseTag, err)
		}
		return w, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tree-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	log.Info("source: making git worktree (once per base source)", "dir", dir)
	if out, err := proc.Command(ctx, []string{"cp", "-a", base.Dir + "/.", tmp}).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy %s: %w: %s", base.Dir, err, out)
	}
	t := &Worktree{Dir: tmp, base: base, log: log}
	steps := [][]string{
		{"init", "-q"},
		{"add", "-A", "-f"},
		{"-c", "user.name=kcovlab", "-c", "user.email=kcovlab@localhost", "commit", "-q", "--no-verify", "--allow-empty", "-m", "base: " + base.ID},
		{"tag", baseTag},
	}
	for _, s := range steps {
		if _, err := t.git(ctx, s...); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".git")); serr == nil {
			return w, nil // another run made it meanwhile
		}
		return nil, err
	}
	return w, nil
}

// WorktreeFor names base's worktree without making it.
func WorktreeFor(base *Source, cacheDir string, log *slog.Logger) *Worktree {
	h := sha256.Sum256([]byte(base.ID))
	return &Worktree{Dir: filepath.Join(cacheDir, "trees", hex.EncodeToString(h[:8])), base: base, log: log}
}

func (w *Worktree) git(ctx context.Context, args ...string) (string, error) {
	argv := append([]string{"git", "-C", w.Dir}, args...)
	cmd := proc.Command(ctx, argv)
	cmd.Env = append(os.Environ(), gitEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", proc.Quote(argv), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Checkout puts the tree at base plus s (nil: the base itself) and returns
// the commit. The first time a series is seen it is checked as a whole, so a
// patch that does not apply fails here, naming patch, file and hunk, before
// anything is built; then it is committed patch by patch on its own branch.
func (w *Worktree) Checkout(ctx context.Context, s *series.Series) (string, error) {
	ref, err := w.Branch(ctx, s)
	if err != nil {
		return "", err
	}
	// Refresh the index's stat data first: checkout -f rewrites every file
	// whose stat data looks stale, which would defeat incremental builds.
	// It exits non-zero when some file really differs; checkout handles that.
	w.git(ctx, "update-index", "-q", "--refresh")
	if _, err := w.git(ctx, "checkout", "-q", "-f", ref); err != nil {
		return "", err
	}
	if _, err := w.git(ctx, "clean", "-q", "-fdx"); err != nil {
		return "", err
	}
	return w.git(ctx, "rev-parse", "HEAD")
}

// Branch returns the ref of base plus s (nil: the base tag), committing the
// series on its branch the first time, without touching the checked-out
// files: a build running in this tree is not disturbed.
func (w *Worktree) Branch(ctx context.Context, s *series.Series) (string, error) {
	if s == nil {
		return baseTag, nil
	}
	ref := SeriesRef(s)
	if _, err := w.git(ctx, "rev-parse", "--verify", "-q", ref); err != nil {
		if err := w.commitSeries(ctx, s, ref); err != nil {
			return "", err
		}
	}
	return ref, nil
}

// SeriesRef is the branch a series is committed on in a base source's
// worktree (see Branch); it exists once a kernel of the series was built.
func SeriesRef(s *series.Series) string { return "kcovlab/" + s.ID() }

// commitSeries makes branch ref: base plus s, one commit per patch. The
// commits are made in a scratch checkout, so the main tree's files keep
// their timestamps and the next build stays incremental.
func (w *Worktree) commitSeries(ctx context.Context, s *series.Series, ref string) error {
	scratch, err := os.MkdirTemp(filepath.Dir(w.Dir), ".series-")
	if err != nil {
		return err
	}
	os.Remove(scratch)
	if _, err := w.git(ctx, "worktree", "add", "-q", "--detach", scratch, baseTag); err != nil {
		return err
	}
	defer func() {
		w.git(context.WithoutCancel(ctx), "worktree", "remove", "--force", scratch)
		os.RemoveAll(scratch)
	}()
	sw := &Worktree{Dir: scratch, base: w.base, log: w.log}
	if err := s.Check(scratch); err != nil {
		return err
	}
	for _, p := range s.Patches {
		one := &series.Series{Name: s.Name, Version: s.Version, Patches: []series.Patch{p}}
		if err := one.Apply(scratch); err != nil {
			return err
		}
		args := []string{"-c", "user.name=kcovlab", "-c", "user.email=kcovlab@localhost", "commit", "-q", "--no-verify", "--allow-empty", "-m", p.Subject + "\n\n" + p.Message}
		if p.From != "" {
			args = append(args, "--author", p.From)
		}
		if p.Date != "" {
			args = append(args, "--date", p.Date)
		}
		if _, err := sw.git(ctx, "add", "-A", "-f"); err != nil {
			return err
		}
		if _, err := sw.git(ctx, args...); err != nil {
			return err
		}
	}
	if _, err := sw.git(ctx, "branch", ref, "HEAD"); err != nil {
		return err
	}
	w.log.Info("source: series committed", "series", s.Name, "patches", len(s.Patches), "branch", ref)
	return nil
}

// Source returns the worktree as a build source for the given series.
func (w *Worktree) Source(s *series.Series) *Source {
	src := &Source{Dir: w.Dir, ID: w.base.ID, Origin: w.base.Origin, TreeID: w.base.ID}
	if s != nil {
		src.ID += "+series:" + s.ID()
	}
	return src
}

// CloneBranch is the branch a Clone checks out.
const CloneBranch = "kcovlab-tree"

// Clone makes dir (absent or empty) a git repository of base plus s (nil:
// the base alone), one commit per patch, checked out on CloneBranch with
// the base tagged kcovlab-base, and returns its HEAD: a tree to bisect. It does not touch this worktree's
// checkout; objects are hard-linked when dir is on the same file system.
func (w *Worktree) Clone(ctx context.Context, s *series.Series, dir string) (string, error) {
	ref, err := w.Branch(ctx, s)
	if err != nil {
		return "", err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("clone into %s: the directory is not empty; give a new one", dir)
	}
	argv := []string{"git", "clone", "-q", "--single-branch", "--branch", ref, w.Dir, dir}
	cmd := proc.Command(ctx, argv)
	cmd.Env = append(os.Environ(), gitEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", proc.Quote(argv), err, strings.TrimSpace(string(out)))
	}
	c := &Worktree{Dir: dir, base: w.base, log: w.log}
	steps := [][]string{{"checkout", "-q", "-B", CloneBranch}, {"remote", "remove", "origin"}}
	if ref != baseTag {
		steps = append(steps, []string{"branch", "-D", ref})
	}
	for _, st := range steps {
		if _, err := c.git(ctx, st...); err != nil {
			return "", err
		}
	}
	return c.git(ctx, "rev-parse", "HEAD")
}
