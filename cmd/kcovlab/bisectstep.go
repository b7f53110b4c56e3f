package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kcovlab/kcovlab/bisect"
	"github.com/kcovlab/kcovlab/internal/gitbisect"
)

const bisectStepUsage = `usage: kcovlab bisect-step --scenario NAME [--check 'METRIC OP N'] [--invert] [flags]

Judges the commit checked out in --kernel-src (default: the working
directory) for git bisect run: builds and boots it and runs the scenario.

example:
  git bisect start BAD GOOD && git bisect run kcovlab bisect-step --scenario unique --check 'errno==0'

exit codes: 0 good, 1 bad (swapped by --invert), 125 skip (did not build
or boot), 128 stop the bisect (usage error, or the lab broke)

flags:
`

// cmdBisectStep judges the checked-out commit for `git bisect run`: exit
// 0 good, 1 bad (swapped with --invert), 125 skip, 128 stop the bisect.
func cmdBisectStep(args []string, stdout, stderr io.Writer, runner labRunner) int {
	fs := newFlagSet("bisect-step", bisectStepUsage, stderr)
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
	bisectPool(ctx, &bo)
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
