package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/ask"
)

const askUsage = `usage: kcovlab ask RECIPE [flags]

Answers a reviewer's question about the series with data: builds (or takes
from the cache) and boots the kernels the recipe needs, runs its scenarios
and prints a paste-ready answer that starts with the kernels' identity and
ends with the commands that reproduce it. answer.txt and answer.json go to
RESULTS/ask-RECIPE-ID. Without RECIPE, lists the recipes.

examples:
  kcovlab ask                                   # list the recipes
  kcovlab ask overflow
  kcovlab ask v2-vs-v4 --kernel v2,v4 --runs 3

exit codes: 0 answered, 2 usage error, 3 the lab could not finish (a kernel
did not build or boot, a run did not finish)

flags:
`

func cmdAsk(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ask", askUsage, stderr)
	var ao ask.Options
	fs.IntVar(&ao.Runs, "runs", 0, "runs per kernel where the recipe repeats runs (default: the recipe's)")
	kernels := kernelFlag(fs, "kernels replacing the recipe's, in its order: `NAMES`, comma-separated or repeated")
	verbose := commonFlags(fs, &ao.Options, stderr)
	jobs := poolFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) == 0 {
		listRecipes(stdout)
		return exitPass
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "kcovlab ask: one recipe at a time, got %q\n", pos)
		return exitUsage
	}
	if !checkPool("ask", *jobs, stderr) {
		return exitUsage
	}
	if ao.Runs < 0 {
		fmt.Fprintf(stderr, "kcovlab ask: --runs %d: want 1 or more\n", ao.Runs)
		return exitUsage
	}
	ao.Recipe = pos[0]
	if _, err := ask.LookupRecipe(ao.Recipe); err != nil {
		fmt.Fprintf(stderr, "kcovlab ask: %v\n", err)
		return exitUsage
	}
	if ao.Kernels, err = kernelsOf(kernels, false); err != nil {
		fmt.Fprintf(stderr, "kcovlab ask: %v\n", err)
		return exitUsage
	}
	if !checkCommon("ask", &ao.Options, stderr) {
		return exitUsage
	}
	ao.Log, ao.Out = newLogger(stderr, *verbose), stdout
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	ao.Parallel = poolSize(ctx, *jobs, ao.Options, ao.Log)
	_, err = ask.Ask(ctx, ao)
	return in.code(exitCode(err, stderr))
}

func listRecipes(w io.Writer) {
	for _, n := range ask.RecipeNames() {
		r, _ := ask.LookupRecipe(n)
		fmt.Fprintf(w, "%-15s %s\n%-15s kernels: %s\n", n, r.Question, "", strings.Join(r.Kernels, ", "))
	}
}
