package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/ask"
	"github.com/kcovlab/kcovlab/compare"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
	"github.com/kcovlab/kcovlab/runs"
)

const mergeUsage = `usage: kcovlab merge [--results DIR] SHARD_DIR...

Combines the run directories of a plan's run jobs (kcovlab run --job, on
any machines), found under the SHARD_DIRs by their job.json, into the
output the planned verb writes on one machine: a nightly's
RESULTS/nightly-DATE (one result per kernel, junit.xml, results.ktap,
report.html, the comparison with the newest earlier nightly in RESULTS),
a comparison's RESULTS/compare-ID, an ask's RESULTS/ask-RECIPE-ID (the
recipe replayed on the shards' results; exit 3 if they take it to a run
the plan lacks). A run job with no directory is named
and counted as a run that did not finish; two directories of one job, or
shards of two plans, are refused.

exit codes: as the verb's (nightly, compare, ask); 2 also for shards merge
cannot trust; 3 also when a run job left no directory

flags:
`

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	var o lab.Options
	fs.SetOutput(stderr)
	fs.StringVar(&o.ResultsDir, "results", "", "results root (default: <src>/results)")
	fs.StringVar(&o.ModuleDir, "src", "", "kcovlab source dir (default: found from the working dir)")
	tol := fs.Float64("tolerance", 0, "nightly: relative change of a metric that counts as moved (default: the plan's)")
	verbose := fs.Bool("v", false, "log debug lines")
	fs.Usage = func() {
		fmt.Fprint(stderr, mergeUsage)
		fs.PrintDefaults()
	}
	dirs, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(dirs) == 0 {
		fs.Usage()
		return exitUsage
	}
	o.Log, o.Out, o.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	s, err := runs.LoadShards(dirs)
	var se *runs.ShardsError
	if errors.As(err, &se) {
		fmt.Fprintf(stderr, "kcovlab: %v\n", err)
		return exitUsage
	}
	if err != nil {
		return exitCode(err, stderr)
	}
	for _, m := range s.Missing {
		fmt.Fprintf(stderr, "kcovlab merge: run job %s (%s, %v) left no run directory\n", m.ID, m.Label, m.Scenarios)
	}
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	switch s.Plan.Verb {
	case "nightly":
		no := nightly.Options{Options: o, Tolerance: *tol}
		_, err = nightly.Merge(ctx, no, s)
	case "compare":
		_, err = compare.Merge(ctx, o, s)
	case "ask":
		_, err = ask.Merge(ctx, o, s)
	default:
		err = &lab.UsageError{Msg: fmt.Sprintf("merge: plan %s is of verb %q, which merge does not know", s.Plan.ID, s.Plan.Verb)}
	}
	return in.code(exitCode(err, stderr))
}
