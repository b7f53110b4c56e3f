package main

import (
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/compare"
)

const compareUsage = `usage: kcovlab compare --kernel KERNEL_A,KERNEL_B [flags]
       kcovlab compare KERNEL_A KERNEL_B [flags]

Runs the scenarios on kernel A and kernel B --runs times each, interleaved
A,B,A,B,... on this machine, every run a fresh boot (an ordinary run with its
own results/RUN_ID directory). Prints, per metric, each kernel's median and
min..max, the change of the median (B - A, absolute and in percent) and a
two-sided Mann-Whitney U p-value; significant metrics (p < 0.05) first, marked
"*". Plain fixed-width text, ready to paste into a mail. compare.json and
compare.html go to RESULTS/compare-ID.

A kernel is a named kernel (kcovlab kernels) or a series: an mbox, a
directory of .patch files or REPO:RANGE. Comparing a kernel with itself shows
the noise. With fewer than 4 runs per kernel no p-value can fall below 0.05.

examples:
  kcovlab compare --kernel v2,v4 --scenario overflow --runs 8
  kcovlab compare --kernel v2,v2 --runs 5       # the noise of v2 against itself

exit codes: 0 every run passed, 1 a scenario failed or errored in some run,
2 usage error, 3 a run did not finish (left out of the statistics) or a
kernel did not build (the comparison stops)

flags:
`

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("compare", compareUsage, stderr)
	var co compare.Options
	scen := scenarioFlag(fs, "scenarios every run runs: `NAMES`, comma-separated or repeated, or all (see kcovlab scenarios)", "smoke")
	kernel := kernelFlag(fs, "the two kernels, `A,B`: named kernels (kcovlab kernels) or series (an mbox, a directory of .patch files, REPO:RANGE)")
	fs.IntVar(&co.Runs, "runs", 5, "runs per kernel, each a fresh boot (4 or more for a p-value below 0.05)")
	verbose := commonFlags(fs, &co.Options, stderr)
	jobs := poolFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	for _, p := range pos {
		kernel.Set(p)
	}
	kernels, err := kernelsOf(kernel, true)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab compare: %v\n", err)
		return exitUsage
	}
	if len(kernels) == 1 && len(kernel.names) == 2 {
		kernels = append(kernels, kernels[0]) // a kernel against itself: the noise
	}
	if len(kernels) != 2 {
		fmt.Fprintf(stderr, "kcovlab compare: want two kernels, --kernel KERNEL_A,KERNEL_B, got %d %q (see `kcovlab kernels`)\n", len(kernels), kernels)
		return exitUsage
	}
	if co.Runs < 1 {
		fmt.Fprintf(stderr, "kcovlab compare: --runs %d: want 1 or more runs per kernel (4 or more for a p-value below 0.05)\n", co.Runs)
		return exitUsage
	}
	co.KernelA, co.KernelB = kernels[0], kernels[1]
	if co.Scenarios, err = scenariosOf(scen); err != nil {
		fmt.Fprintf(stderr, "kcovlab compare: %v\n", err)
		return exitUsage
	}
	if !checkCommon("compare", &co.Options, stderr) || !checkPool("compare", *jobs, stderr) {
		return exitUsage
	}
	co.Log, co.Out, co.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	co.Parallel = poolSize(ctx, *jobs, co.Options, co.Log)
	_, err = compare.Compare(ctx, co)
	return in.code(exitCode(err, stderr))
}
