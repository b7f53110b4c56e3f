package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kcovlab/kcovlab/ask"
	"github.com/kcovlab/kcovlab/compare"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
	"github.com/kcovlab/kcovlab/runs"
)

const planUsage = `usage: kcovlab plan nightly|compare|ask ... [--format json|github|gitlab] [-o FILE]

Prints a verb's work, the same runs the verb makes on one machine, as jobs
for other machines: one build job per kernel with its cache key, and run
jobs (nightly: kernel x scenario; compare: kernel x run number), each
needing its kernel's build. The verb's own flags follow the verb:

  kcovlab plan nightly [--kernels a,b] [--scenario x,y] [--tolerance 0.10]
  kcovlab plan compare KERNEL_A KERNEL_B [--runs 5] [--scenario smoke]
  kcovlab plan ask RECIPE [--runs N] [--kernel a,b]   recipes that only run (overflow, v2-vs-v4)
  kcovlab plan --from plan.json --format github    an existing plan, reprinted

--format json is plan.json (what run --job and merge read); github prints
id=, builds= and runs= lines for $GITHUB_OUTPUT (each a JSON list for a
job matrix); gitlab prints a child pipeline. Then, per job:

  kcovlab run --job build-KERNEL --plan plan.json   build the kernel and image
  kcovlab cache export KEY FILE / cache import FILE move them to another machine
  kcovlab run --job ID --plan plan.json --results DIR   one run job
  kcovlab merge DIR...                               the verb's output from the shards

ask's plan is the runs the recipe asks for when every run passes and
measures nothing; merge replays the recipe on the real results and stops
(exit 3) if they take it to a run the plan lacks. Recipes that read built
kernels (guard-size, edges-vs-nodes, tsc-noise) are refused.

flags:
`

func cmdPlan(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && strings.HasPrefix(strings.TrimLeft(args[0], "-"), "from") {
		return planFrom(args, stdout, stderr)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, planUsage)
		return exitUsage
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("plan "+verb, flag.ContinueOnError)
	format := fs.String("format", runs.FormatJSON, "json, github or gitlab")
	outFile := fs.String("o", "", "write the plan to FILE (default stdout)")
	var build func(ctx context.Context, o lab.Options, pos []string) (*runs.Plan, error)
	var o *lab.Options
	switch verb {
	case "nightly":
		var no nightly.Options
		kernels := fs.String("kernels", "", "comma-separated kernels (default: every named kernel)")
		scen := fs.String("scenario", "", "comma-separated scenarios (default: all)")
		fs.Float64Var(&no.Tolerance, "tolerance", 0.10, "relative change of a metric that counts as moved")
		o = &no.Options
		build = func(ctx context.Context, lo lab.Options, pos []string) (*runs.Plan, error) {
			if len(pos) > 0 {
				return nil, &lab.UsageError{Msg: fmt.Sprintf("plan nightly: unexpected argument %q", pos[0])}
			}
			no.Options = lo
			no.Kernels, no.Scenarios = splitList(*kernels), splitList(*scen)
			return nightly.Plan(ctx, no, nil)
		}
	case "compare":
		var co compare.Options
		scen := fs.String("scenario", "smoke", "comma-separated scenarios every run runs")
		fs.IntVar(&co.Runs, "runs", 5, "runs per kernel")
		o = &co.Options
		build = func(ctx context.Context, lo lab.Options, pos []string) (*runs.Plan, error) {
			if len(pos) != 2 {
				return nil, &lab.UsageError{Msg: fmt.Sprintf("plan compare: want two kernels, KERNEL_A KERNEL_B, got %q", pos)}
			}
			co.Options, co.KernelA, co.KernelB = lo, pos[0], pos[1]
			co.Scenarios = splitList(*scen)
			return compare.Plan(ctx, co, nil)
		}
	case "ask":
		var ao ask.Options
		fs.IntVar(&ao.Runs, "runs", 0, "runs per kernel where the recipe repeats runs (default: the recipe's)")
		kernels := kernelFlag(fs, "kernels replacing the recipe's, in its order: `NAMES`, comma-separated or repeated")
		o = &ao.Options
		build = func(ctx context.Context, lo lab.Options, pos []string) (*runs.Plan, error) {
			if len(pos) != 1 {
				return nil, &lab.UsageError{Msg: fmt.Sprintf("plan ask: want one recipe, got %q", pos)}
			}
			if ao.Runs < 0 {
				return nil, &lab.UsageError{Msg: fmt.Sprintf("plan ask: --runs %d: want 1 or more", ao.Runs)}
			}
			ks, err := kernelsOf(kernels, false)
			if err != nil {
				return nil, &lab.UsageError{Msg: "plan ask: " + err.Error()}
			}
			ao.Options, ao.Recipe, ao.Kernels = lo, pos[0], ks
			return ask.Plan(ctx, ao, nil)
		}
	default:
		fmt.Fprintf(stderr, "kcovlab plan: want nightly, compare or ask, got %q\n\n%s", verb, planUsage)
		return exitUsage
	}
	verbose := commonFlags(fs, o, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, planUsage)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if !checkCommon("plan", o, stderr) {
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	p, err := build(ctx, *o, pos)
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	var b bytes.Buffer
	if err := runs.WritePlan(&b, p, *format); err != nil {
		fmt.Fprintf(stderr, "kcovlab plan: %v\n", err)
		return exitUsage
	}
	if *outFile == "" {
		stdout.Write(b.Bytes())
		return exitPass
	}
	if err := os.WriteFile(*outFile, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "kcovlab plan: %v\n", err)
		return exitInfra
	}
	return exitPass
}

// planFrom reprints an existing plan in another format: a CI plan job
// writes plan.json once and derives its matrix from that file.
func planFrom(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "plan.json to reprint")
	format := fs.String("format", runs.FormatJSON, "json, github or gitlab")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	p, err := runs.ReadPlan(*from)
	if err != nil {
		return exitCode(err, stderr)
	}
	if err := runs.WritePlan(stdout, p, *format); err != nil {
		fmt.Fprintf(stderr, "kcovlab plan: %v\n", err)
		return exitUsage
	}
	return exitPass
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// runJob is kcovlab run --job ID --plan FILE: one job of a plan. A run
// job exits 0 once its run directory is written, whatever its verdicts
// (merge gives the verdict), 3 when the run did not finish.
func runJob(id, planFile string, allowBuild bool, o lab.Options, stdout, stderr io.Writer) int {
	if planFile == "" {
		fmt.Fprintln(stderr, "kcovlab run: --job needs --plan FILE (kcovlab plan writes one)")
		return exitUsage
	}
	p, err := runs.ReadPlan(planFile)
	if err != nil {
		return exitCode(err, stderr)
	}
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	res, err := runs.Jobs{AllowBuild: allowBuild}.Do(ctx, p, id, o)
	switch {
	case res != nil:
		fmt.Fprintf(stdout, "job %s: %s\n", id, res.Verdict())
	case err == nil:
		fmt.Fprintf(stdout, "job %s: kernel and guest image ready (kcovlab cache export KEY FILE moves them)\n", id)
	}
	if res != nil && errors.Is(err, lab.ErrScenarioFailed) {
		err = nil // the verdict is merge's
	}
	return in.code(exitCode(err, stderr))
}
