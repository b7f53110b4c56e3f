package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/bench"
	"github.com/kcovlab/kcovlab/lab"
)

// benchSuiteAbout is `kcovlab bench`'s line for suite.
const benchSuiteAbout = "runs the whole suite on a cached kernel (--kernel, v2 by default) --runs times with the guard race's trial guests booted ahead and booted one after another, interleaved; each stage (boot, scenarios, trials, total) as median (min..max); --json FILE"

func cmdBenchSuite(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench suite", "usage: kcovlab bench suite [flags]\n\n"+benchSuiteAbout+"\n\nflags:\n", stderr)
	var o bench.SuiteOptions
	fs.IntVar(&o.Runs, "runs", 3, "runs per trial mode")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	kernel := kernelFlag(fs, "a cached named kernel (kcovlab kernels)", lab.DefaultKernel)
	scen := scenarioFlag(fs, "scenarios to time (default: "+strings.Join(bench.WholeSuite, ",")+")", bench.WholeSuite...)
	verbose := commonFlags(fs, &o.Options, stderr)
	if rest, err := parseArgs(fs, args); err != nil {
		return exitUsage
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "kcovlab bench suite: unexpected arguments %q\n", rest)
		return exitUsage
	}
	if o.Runs < 1 {
		fmt.Fprintf(stderr, "kcovlab bench suite: --runs %d: want 1 or more\n", o.Runs)
		return exitUsage
	}
	ks, err := kernelsOf(kernel, false)
	if err != nil || len(ks) != 1 {
		fmt.Fprintf(stderr, "kcovlab bench suite: --kernel: want one kernel (%v)\n", err)
		return exitUsage
	}
	o.Kernel = ks[0]
	if o.Scenarios, err = scenariosOf(scen); err != nil {
		fmt.Fprintf(stderr, "kcovlab bench suite: %v\n", err)
		return exitUsage
	}
	if !checkCommon("bench suite", &o.Options, stderr) {
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	rep, err := bench.Suite(ctx, o)
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	rep.WriteText(stdout)
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintf(stderr, "kcovlab bench suite: %v\n", err)
			return exitInfra
		}
	}
	return in.code(exitPass)
}
