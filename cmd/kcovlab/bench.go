package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// benchmarks are the sub-benchmarks of `kcovlab bench`, by name: each
// measures something on this host and prints its numbers (they are
// numbers to read, not pass/fail tests). Add one beside pool with its
// own file.
var benchmarks = map[string]struct {
	about string
	run   func(args []string, stdout, stderr io.Writer) int
}{
	"boot":  {benchBootAbout, cmdBenchBoot},
	"suite": {benchSuiteAbout, cmdBenchSuite},
	"pool":  {"a nightly on cached kernels with --jobs 1 and with the pool's default: wall times and their ratio", cmdBenchPool},
}

func benchUsage(w io.Writer) {
	fmt.Fprint(w, "usage: kcovlab bench NAME [flags]\n\nbenchmarks:\n")
	var names []string
	for n := range benchmarks {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, benchmarks[n].about)
	}
}

func cmdBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && wantsHelp(args[:1]) {
		benchUsage(stdout)
		return exitPass
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		benchUsage(stderr)
		return exitUsage
	}
	b, ok := benchmarks[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "kcovlab bench: unknown benchmark %q\n", args[0])
		benchUsage(stderr)
		return exitUsage
	}
	if wantsHelp(args[1:]) { // its usage on stdout, as every -h
		b.run([]string{"-h"}, stdout, stdout)
		return exitPass
	}
	return b.run(args[1:], stdout, stderr)
}
