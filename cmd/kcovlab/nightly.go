package main

import (
	"flag"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/nightly"
)

func cmdNightly(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	var no nightly.Options
	kernels := fs.String("kernels", "", "comma-separated kernels (default: every named kernel)")
	scen := fs.String("scenario", "", "comma-separated scenarios (default: all)")
	fs.Float64Var(&no.Tolerance, "tolerance", 0.10, "relative change of a metric that counts as moved")
	verbose := commonFlags(fs, &no.Options, stderr)
	jobs := poolFlag(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !checkPool("nightly", *jobs, stderr) {
		return exitUsage
	}
	if *kernels != "" {
		no.Kernels = strings.Split(*kernels, ",")
	}
	if *scen != "" {
		no.Scenarios = strings.Split(*scen, ",")
	}
	if !checkCommon("nightly", &no.Options, stderr) {
		return exitUsage
	}
	no.Log, no.Out, no.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	no.Parallel = poolSize(ctx, *jobs, no.Options, no.Log)
	_, err := nightly.Nightly(ctx, no)
	return in.code(exitCode(err, stderr))
}
