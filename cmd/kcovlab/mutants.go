package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/mutants"
)

const mutantsUsage = `usage: kcovlab mutants [--series v2] [--only NAME,...] [--scenario a,b] [--judges-only] [--list] [flags]

Proves that the verdicts can fail. Builds the series' kernel, then the series
plus one known-bad edit of kernel/kcov.c at a time (patches/mutants/SERIES/,
each an incremental variant: only kcov.c and the link are rebuilt), runs the
scenarios on each and prints a table: mutant, the invariant it breaks, the
scenarios that judge it, which went red, and the evidence. A mutant is killed
only when one of its judging scenarios fails on it. Ends with the mutation
score (killed/total). mutants.txt and mutants.json go to RESULTS/mutants-ID.

examples:
  kcovlab mutants --list
  kcovlab mutants --only unique-records-every-hit --judges-only

exit codes: 0 every mutant killed and the clean kernel green, 1 a mutant
survived or the clean kernel was not green, 2 usage error, 3 the lab could
not finish

flags:
`

func cmdMutants(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mutants", mutantsUsage, stderr)
	var mo mutants.Options
	fs.StringVar(&mo.Series, "series", "v2", "the series the mutants sit on (patches/mutants/SERIES)")
	only := fs.String("only", "", "comma-separated mutants to run (default: all; --list names them)")
	scen := scenarioFlag(fs, "scenarios run on every kernel: `NAMES`, comma-separated or repeated, or all", mutants.DefaultScenarios...)
	list := fs.Bool("list", false, "list the mutants and exit")
	fs.BoolVar(&mo.JudgesOnly, "judges-only", false, "run on each mutant only the scenarios that judge it (faster; the clean kernel runs them all)")
	verbose := commonFlags(fs, &mo.Lab, stderr)
	jobs := poolFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab mutants: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if !checkPool("mutants", *jobs, stderr) {
		return exitUsage
	}
	if *list {
		dir := mo.Lab.ModuleDir
		if dir == "" {
			d, err := lab.FindModuleDir()
			if err != nil {
				fmt.Fprintf(stderr, "kcovlab mutants: %v\n", err)
				return exitUsage
			}
			dir = d
		}
		ms, err := mutants.List(context.Background(), dir, mo.Series)
		if err != nil {
			return exitCode(err, stderr)
		}
		for _, m := range ms {
			fmt.Fprintf(stdout, "%-26s %-24s judged by %-16s %s\n", m.Name, m.Invariant, strings.Join(m.KilledBy, ","), m.Description)
		}
		return exitPass
	}
	if *only != "" {
		mo.Only = strings.Split(*only, ",")
	}
	var err error
	if mo.Scenarios, err = scenariosOf(scen); err == nil {
		err = commonError(&mo.Lab)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab mutants: %v\n", err)
		return exitUsage
	}
	mo.Log, mo.Out = newLogger(stderr, *verbose), stdout
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	mo.Parallel = poolSize(ctx, *jobs, mo.Lab, mo.Log)
	_, err = mutants.Run(ctx, mo)
	if errors.Is(err, mutants.ErrSurvived) {
		return in.code(exitFail)
	}
	return in.code(exitCode(err, stderr))
}
