package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/bisect"
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
	scen := scenarioFlag(fs, "the scenario that judges each commit: one `NAME` (kcovlab scenarios lists them)")
	jobs := poolFlag(fs)
	fs.StringVar(&bo.Check, "check", "", "judge on a metric of the scenario instead of its verdict: METRIC OP NUMBER, e.g. 'errno==0'")
	fs.IntVar(&bo.Runs, "runs", 1, "runs per commit; a commit takes its runs' majority (a tie is a skip)")
	retries := fs.Int("retries", 2, "reruns of a run the lab itself broke (QEMU, lost SSH) before the bisect stops")
	fragments := fs.String("fragments", "", "comma-separated config fragments in kernel-configs/ (default guest.config,kcov.config)")
	onBuild := fs.String("on-build-error", "skip", "verdict on a commit that does not build: skip, bad, good or abort")
	onBoot := fs.String("on-boot-error", "skip", "verdict on a kernel that does not boot: skip, bad, good or abort")
	onCrash := fs.String("on-crash", "bad", "verdict on a kernel that crashes in the scenario: skip, bad, good or abort")
	return verbose, func() error {
		names, err := scenariosOf(scen)
		if err != nil {
			return err
		}
		if bo.Scenario, err = one("scenario", names, "a bisect is judged by one scenario"); err != nil {
			return err
		}
		switch {
		case bo.Runs < 1:
			return fmt.Errorf("--runs %d: want 1 or more runs per commit", bo.Runs)
		case *retries < 0:
			return fmt.Errorf("--retries %d: want 0 or more", *retries)
		case *jobs < 0:
			return fmt.Errorf("--jobs %d: want 1 or more runs at once (or 0 for the host's default)", *jobs)
		case !checkCommon(fs.Name(), &bo.Options, io.Discard):
			return commonError(&bo.Options)
		}
		bo.Parallel = *jobs // 0 until bisectPool sizes it
		if *fragments != "" {
			bo.Fragments = strings.Split(*fragments, ",")
		}
		bo.Retries = *retries
		if *retries == 0 {
			bo.Retries = -1
		}
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

const bisectUsage = `usage: kcovlab bisect --kernel-src TREE --good REV --bad REV --scenario NAME [--check 'METRIC OP N'] [flags]

Finds the commit of TREE that changed the scenario's verdict (or, with
--check, a metric of it): each step builds the commit's kernel
(incrementally), boots it and runs the scenario --runs times. Either
revision may be the newer one. The report goes to RESULTS/bisect-ID.

examples:
  kcovlab bisect --kernel-src ~/linux --good v6.12 --bad HEAD --scenario unique --check 'errno==0'
  kcovlab bisect --kernel-src ~/linux --good A --bad B --scenario smoke --dry-run

exit codes: 0 found, 1 undecided (only skipped commits left), 2 usage
error, 3 the lab could not finish

flags:
`

func cmdBisect(args []string, stdout, stderr io.Writer, runner labRunner) int {
	fs := newFlagSet("bisect", bisectUsage, stderr)
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
	bisectPool(ctx, &bo)
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

// bisectPool sizes the pool of a step's runs (--jobs, or the host's
// default when a step makes more than one run).
func bisectPool(ctx context.Context, bo *bisect.Options) {
	if bo.Runs > 1 {
		bo.Parallel = poolSize(ctx, bo.Parallel, bo.Options, bo.Log)
	}
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
