package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/bisect"
)

func cmdBisectTree(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bisect-tree", flag.ContinueOnError)
	var bt bisect.TreeOptions
	fs.StringVar(&bt.Series, "series", "", "series to commit: v2, v4 (shipped in patches/), an mbox, a dir of .patch files or REPO:RANGE")
	fs.StringVar(&bt.Kernel, "kernel", "", "a named kernel whose series to commit (instead of --series)")
	fs.IntVar(&bt.FixtureAfter, "fixture-after", 0, "after this patch, add a commit that does not build and its revert (0: none)")
	exclude := fs.String("exclude", "", "comma-separated patch numbers to leave out of the series")
	verbose := commonFlags(fs, &bt.Options, stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "kcovlab bisect-tree: give the directory to create, e.g. kcovlab bisect-tree --series v2 /tmp/linux-v2")
		return exitUsage
	}
	bt.Dir = fs.Arg(0)
	var err error
	if bt.Exclude, err = parseExclude(*exclude); err != nil {
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
