package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/kcovlab/kcovlab/bisect"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// labRunner does one run; nil means lab.Run (tests pass a fake).
type labRunner func(ctx context.Context, o lab.Options) (*results.Result, error)

// Exit code of `kcovlab bisect` when git is left with skipped commits only.
const exitUndecided = 1

// bisectFlags registers the flags bisect and bisect-step share and returns
// a function that finishes the options once the flags are parsed.
func bisectFlags(fs *flag.FlagSet, bo *bisect.Options, stderr io.Writer) (verbose *bool, finish func() error) {
	verbose = commonFlags(fs, &bo.Options, stderr)
	fs.StringVar(&bo.Scenario, "scenario", "", "the scenario that judges each commit (kcovlab scenarios lists them)")
	fs.StringVar(&bo.Check, "check", "", "judge on a metric of the scenario instead of its verdict: METRIC OP NUMBER, e.g. 'errno==0'")
	fs.IntVar(&bo.Runs, "runs", 1, "runs per commit; a commit takes its runs' majority (a tie is a skip)")
	retries := fs.Int("retries", 2, "reruns of a run the lab itself broke (QEMU, lost SSH) before the bisect stops")
	fragments := fs.String("fragments", "", "comma-separated config fragments in kernel-configs/ (default guest.config,kcov.config)")
	onBuild := fs.String("on-build-error", "skip", "verdict on a commit that does not build: skip, bad, good or abort")
	onBoot := fs.String("on-boot-error", "skip", "verdict on a kernel that does not boot: skip, bad, good or abort")
	onCrash := fs.String("on-crash", "bad", "verdict on a kernel that crashes in the scenario: skip, bad, good or abort")
	return verbose, func() error {
		if *fragments != "" {
			bo.Fragments = strings.Split(*fragments, ",")
		}
		bo.Retries = *retries
		if *retries == 0 {
			bo.Retries = -1
		}
		var err error
		if bo.OnBuildError, err = bisect.ParsePolicy("--on-build-error", *onBuild); err != nil {
			return err
		}
		if bo.OnBootError, err = bisect.ParsePolicy("--on-boot-error", *onBoot); err != nil {
			return err
		}
		bo.OnCrash, err = bisect.ParsePolicy("--on-crash", *onCrash)
		return err
	}
}

func cmdBisect(args []string, stdout, stderr io.Writer, runner labRunner) int {
	fs := flag.NewFlagSet("bisect", flag.ContinueOnError)
	var bo bisect.Options
	fs.StringVar(&bo.Good, "good", "", "revision where the scenario passes (the check holds)")
	fs.StringVar(&bo.Bad, "bad", "", "revision where it does not; either may be the newer one")
	dryRun := fs.Bool("dry-run", false, "list the commits the bisect may build and which kernels are cached; build nothing")
	verbose, finish := bisectFlags(fs, &bo, stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab bisect: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := finish(); err != nil {
		fmt.Fprintf(stderr, "kcovlab bisect: %v\n", err)
		return exitUsage
	}
	bo.Runner = runner
	bo.Log, bo.Out = newLogger(stderr, *verbose), stdout
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	if *dryRun {
		return in.code(listBisectKernels(ctx, bo, stdout, stderr))
	}
	_, err := bisect.Bisect(ctx, bo)
	switch {
	case err == nil:
		return in.code(exitPass)
	case errors.Is(err, bisect.ErrUndecided):
		return in.code(exitUndecided)
	case errors.Is(err, gitbisect.ErrDirty), errors.Is(err, gitbisect.ErrBisecting), errors.Is(err, gitbisect.ErrNotRepo):
		fmt.Fprintf(stderr, "kcovlab: %v\n", err)
		return exitUsage
	}
	return in.code(exitCode(err, stderr))
}

// cmdBisectStep judges the checked-out commit for `git bisect run`: exit
// 0 good, 1 bad (swapped with --invert), 125 skip, 128 stop the bisect.
func cmdBisectStep(args []string, stdout, stderr io.Writer, runner labRunner) int {
	fs := flag.NewFlagSet("bisect-step", flag.ContinueOnError)
	var bo bisect.Options
	invert := fs.Bool("invert", false, "the good revision is the newer one (git bisect start --term-old broken --term-new fixed): exit 1 for good, 0 for bad")
	verbose, finish := bisectFlags(fs, &bo, stderr)
	if err := fs.Parse(args); err != nil {
		return gitbisect.ExitAbort
	}
	if err := finish(); err != nil || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab bisect-step: %v (arguments %q)\n", err, fs.Args())
		return gitbisect.ExitAbort
	}
	if bo.KernelSrc == "" {
		bo.KernelSrc = "."
	}
	bo.Runner = runner
	bo.Log, bo.Out = newLogger(stderr, *verbose), stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := bisect.StepAt(ctx, bo)
	code := bisect.ExitCode(st, err, *invert)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab bisect-step: stopping the bisect: %v\n", err)
	}
	if st != nil {
		fmt.Fprintf(stdout, "%s %s: %s", st.Commit, st.Subject, st.Verdict)
		if st.Split != "" {
			fmt.Fprintf(stdout, " (%s)", st.Split)
		}
		if st.Why != "" {
			fmt.Fprintf(stdout, ": %s", st.Why)
		}
		fmt.Fprintf(stdout, " -> exit %d\n", code)
	}
	return code
}

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

func listBisectKernels(ctx context.Context, bo bisect.Options, stdout, stderr io.Writer) int {
	ks, err := bisect.Kernels(ctx, bo)
	if err != nil {
		return exitCode(err, stderr)
	}
	cached := 0
	for _, k := range ks {
		state := "to build"
		if k.Cached {
			state, cached = "cached", cached+1
		}
		fmt.Fprintf(stdout, "%s  %-8s  %s  %s\n", k.Commit[:12], state, k.Key, k.Subject)
	}
	fmt.Fprintf(stdout, "%d commits between the two revisions, %d kernels cached\n", len(ks), cached)
	return exitPass
}
