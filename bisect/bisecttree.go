package bisect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/lab"
)

// TreeOptions make a git tree to bisect from a base source and a
// series: one base commit, then one commit per patch.
type TreeOptions struct {
	// Options give the base (Tarball or KernelSrc), the series (Series or
	// a named Kernel, and Exclude), CacheDir, ModuleDir and Log.
	lab.Options
	// Dir is the new tree; it must be absent or empty.
	Dir string
	// FixtureAfter, when 1..len(series), puts two commits after that patch:
	// one that breaks the kernel's configuration (a line that is not
	// Kconfig appended to init/Kconfig, so the build fails within seconds)
	// and its revert. A bisect must skip the first, not blame it.
	FixtureAfter int
}

// Tree is the tree MakeTree made.
type Tree struct {
	Dir    string
	Branch string
	// Base is the unpatched source; Head the last patch.
	Base, Head CommitInfo
	// Commits are base first, head last.
	Commits []CommitInfo
	// Fixture is the broken commit and its revert, when asked for.
	Fixture []CommitInfo
	// Kernel and Fragments are the series' kernel and its config
	// fragments: bisect the tree with --fragments.
	Kernel    string
	Fragments []string
}

// Fixture is the broken commit FixtureAfter inserts.
var Fixture = gitbisect.Fixture{
	Subject: "bisect fixture: break the kernel configuration",
	Path:    "init/Kconfig",
	Append:  "\nthis line is not Kconfig: a kcovlab bisect fixture that must fail the configuration\n",
}

// MakeTree creates TreeOptions.Dir as a git repository of the
// base source plus the series, one commit per patch, cloned from the
// base's worktree in the cache (objects hard-linked when on one file
// system). The commits do not depend on who runs it or when, so their
// kernels stay in the cache across remakes.
func MakeTree(ctx context.Context, bt TreeOptions) (*Tree, error) {
	o := bt.Options
	if err := o.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if o.Series == "" && o.Kernel == "" {
		return nil, &lab.UsageError{Msg: "bisect-tree needs --series (v2, v4, an mbox, a directory of patches or REPO:RANGE) or a --kernel with one"}
	}
	if bt.Dir == "" {
		return nil, &lab.UsageError{Msg: "bisect-tree needs the directory to create"}
	}
	dir, err := filepath.Abs(bt.Dir)
	if err != nil {
		return nil, err
	}
	def, err := o.KernelDef()
	if err != nil {
		return nil, err
	}
	if def.Series == "" {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("kernel %s has no series to make commits of", def.Name)}
	}
	s, err := def.LoadSeries(ctx, o.ModuleDir)
	if err != nil {
		return nil, err
	}
	if bt.FixtureAfter < 0 || bt.FixtureAfter > len(s.Patches) {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("--fixture-after %d: the series has patches 1..%d", bt.FixtureAfter, len(s.Patches))}
	}
	base, err := lab.KernelSource(ctx, o)
	if err != nil {
		return nil, err
	}
	// The worktree is shared with every build of this base: branch and
	// clone it only under the build lock.
	unlock, err := kbuild.Lock(ctx, o.CacheDir, "bisect-tree "+dir, o.Log)
	if err != nil {
		return nil, &lab.InfraError{Stage: "source", Err: err}
	}
	defer unlock()
	w, err := kbuild.OpenWorktree(ctx, base, o.CacheDir, o.Log)
	if err != nil {
		return nil, &lab.InfraError{Stage: "source", Err: err}
	}
	o.Log.Info("bisect-tree: cloning", "series", s.Name, "patches", len(s.Patches), "dir", dir)
	_, statErr := os.Stat(dir)
	tree := &Tree{Dir: dir, Branch: kbuild.CloneBranch, Kernel: def.Name, Fragments: def.Fragments}
	_, err = w.Clone(ctx, s, dir)
	if err == nil {
		err = tree.fill(ctx, len(s.Patches), bt.FixtureAfter)
	}
	if err != nil {
		if os.IsNotExist(statErr) {
			os.RemoveAll(dir) // ours: a half-made tree is no use
		}
		return nil, err
	}
	return tree, nil
}

// fill inserts the fixture (when asked for) and lists the commits.
func (t *Tree) fill(ctx context.Context, patches, fixtureAfter int) error {
	repo, err := gitbisect.Open(ctx, t.Dir)
	if err != nil {
		return err
	}
	commits := patches
	if fixtureAfter > 0 {
		after, err := repo.Resolve(ctx, "HEAD~"+strconv.Itoa(patches-fixtureAfter))
		if err != nil {
			return err
		}
		if _, _, _, err := repo.InsertFixture(ctx, after, Fixture); err != nil {
			return fmt.Errorf("bisect-tree: %w", err)
		}
		commits += 2
	}
	head, err := repo.Head(ctx)
	if err != nil {
		return err
	}
	base, err := repo.Resolve(ctx, "HEAD~"+strconv.Itoa(commits))
	if err != nil {
		return err
	}
	hashes, err := repo.Commits(ctx, head, base)
	if err != nil {
		return err
	}
	hashes = append(hashes, base)
	for i := len(hashes) - 1; i >= 0; i-- {
		subject, err := repo.Subject(ctx, hashes[i])
		if err != nil {
			return err
		}
		c := CommitInfo{Commit: hashes[i], Subject: subject}
		t.Commits = append(t.Commits, c)
		if fixtureAfter > 0 && (len(t.Commits) == fixtureAfter+2 || len(t.Commits) == fixtureAfter+3) {
			t.Fixture = append(t.Fixture, c)
		}
	}
	t.Base, t.Head = t.Commits[0], t.Commits[len(t.Commits)-1]
	return nil
}

// Text lists the tree's commits and how to bisect it.
func (t *Tree) Text(w io.Writer) {
	fmt.Fprintf(w, "bisect tree %s (branch %s), kernel %s\n", t.Dir, t.Branch, t.Kernel)
	fixture := map[string]bool{}
	for _, c := range t.Fixture {
		fixture[c.Commit] = true
	}
	for i, c := range t.Commits {
		label := strconv.Itoa(i)
		switch {
		case i == 0:
			label = "base"
		case fixture[c.Commit]:
			label = "fixture"
		}
		fmt.Fprintf(w, "  %-7s %s %s\n", label, c.Commit, c.Subject)
	}
	fmt.Fprintf(w, "base %s\nhead %s\n", t.Base.Commit, t.Head.Commit)
	fmt.Fprintln(w, "bisect it with the series' config, e.g.:")
	argv := []string{"kcovlab", "bisect", "--kernel-src", t.Dir, "--fragments", strings.Join(t.Fragments, ","),
		"--good", t.Head.Commit, "--bad", t.Base.Commit, "--scenario", "SCENARIO"}
	fmt.Fprintf(w, "  %s\n", proc.Quote(argv))
}
