package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o lab.Options
	scen := fs.String("scenario", "smoke", "comma-separated scenarios to run (see `kcovlab scenarios`)")
	fs.StringVar(&o.Kernel, "kernel", "", "named kernel to build and boot (see `kcovlab kernels`; default vanilla)")
	fs.StringVar(&o.Series, "series", "", "series to apply: v2, v4 (shipped in patches/), an mbox, a dir of .patch files or REPO:RANGE")
	fs.StringVar(&o.Mutant, "mutant", "", "a known-bad patch applied after the series (patches/mutants/SERIES/NN-NAME.patch; see kcovlab mutants)")
	exclude := fs.String("exclude", "", "comma-separated patch numbers to leave out of the series, e.g. 1")
	fragments := fs.String("fragments", "", "comma-separated config fragments in kernel-configs/, replacing the kernel's")
	verbose := commonFlags(fs, &o, stderr)
	applyLoop := loopFlags(fs, &o)
	fs.BoolVar(&o.Keep, "keep", false, "leave the guest up after the scenarios and print how to connect and stop it")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	applyLoop()
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	o.Scenarios = strings.Split(*scen, ",")
	var err error
	if o.Exclude, err = parseExclude(*exclude); err != nil {
		fmt.Fprintf(stderr, "kcovlab run: %v\n", err)
		return exitUsage
	}
	if *fragments != "" {
		o.Fragments = strings.Split(*fragments, ",")
	}
	if !checkCommon("run", &o, stderr) {
		return exitUsage
	}
	o.Log, o.Out, o.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	_, err = lab.Run(ctx, o)
	return in.code(exitCode(err, stderr))
}

// parseExclude reads --exclude's patch numbers.
func parseExclude(v string) ([]int, error) {
	if v == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--exclude %q: want patch numbers like 1,3", v)
		}
		out = append(out, n)
	}
	return out, nil
}
