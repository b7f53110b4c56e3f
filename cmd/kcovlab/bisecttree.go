package main

import (
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/bisect"
)

const bisectTreeUsage = `usage: kcovlab bisect-tree (--series SERIES | --kernel NAME) [--fixture-after N] DIR

Makes DIR a git tree to bisect: the base source as one commit, then one
commit per patch of the series (with --fixture-after N, a commit that does
not build and its revert after patch N).

example:
  kcovlab bisect-tree --series v2 --fixture-after 3 /tmp/linux-v2

flags:
`

func cmdBisectTree(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bisect-tree", bisectTreeUsage, stderr)
	var bt bisect.TreeOptions
	fs.StringVar(&bt.Series, "series", "", "series to commit: v2, v4 (shipped in patches/), an mbox, a dir of .patch files or REPO:RANGE")
	kernel := kernelFlag(fs, "the named kernel whose series to commit: one `NAME` (instead of --series)")
	fs.IntVar(&bt.FixtureAfter, "fixture-after", 0, "after this patch, add a commit that does not build and its revert (0: none)")
	exclude := fs.String("exclude", "", "comma-separated patch numbers to leave out of the series")
	verbose := commonFlags(fs, &bt.Options, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "kcovlab bisect-tree: give the directory to create, e.g. kcovlab bisect-tree --series v2 /tmp/linux-v2")
		return exitUsage
	}
	bt.Dir = pos[0]
	ks, err := kernelsOf(kernel, false)
	if err == nil {
		bt.Kernel, err = one("kernel", ks, "a tree holds one kernel's series")
	}
	if err == nil && bt.FixtureAfter < 0 {
		err = fmt.Errorf("--fixture-after %d: want a patch number, or 0 for no fixture", bt.FixtureAfter)
	}
	if err == nil {
		err = commonError(&bt.Options)
	}
	if err == nil {
		bt.Exclude, err = parseExclude(*exclude)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab bisect-tree: %v\n", err)
		return exitUsage
	}
	bt.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	tree, err := bisect.MakeTree(ctx, bt)
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	tree.Text(stdout)
	return exitPass
}
