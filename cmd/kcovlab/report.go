package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kcovlab/kcovlab/internal/report"
)

const reportUsage = `usage: kcovlab report [-o DIR] [-compare PREV] RUN_DIR...

Rewrites junit.xml, results.ktap and report.html from the runs' result.json
(any 2.x schema), prints their summary and, with -compare, the new
failures, fixes and metrics that moved beyond -tolerance.

examples:
  kcovlab report results/20261126-014850-655921
  kcovlab report -o /tmp/all results/RUN1 results/RUN2
  kcovlab report -compare results/nightly-20261125 results/nightly-20261126

flags:
`

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", reportUsage, stderr)
	out := fs.String("o", "", "write junit.xml, results.ktap, report.html here (default: RUN_DIR itself)")
	prev := fs.String("compare", "", "previous run dir(s) or results tree to compare with")
	rel := fs.Float64("tolerance", 0.10, "relative change of a metric that counts as moved")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *rel < 0 {
		fmt.Fprintf(stderr, "kcovlab report: --tolerance %g: want 0 or more (0.10 is 10%%)\n", *rel)
		return exitUsage
	}
	if fs.NArg() == 0 || (fs.NArg() > 1 && *out == "") {
		fmt.Fprintln(stderr, "kcovlab report: give one RUN_DIR, or several with -o DIR")
		return exitUsage
	}
	runs, err := report.Load(fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab report: %v\n", err)
		return exitUsage
	}
	dir := *out
	if dir == "" {
		dir = fs.Arg(0)
	}
	if err := report.WriteRunDir(dir, runs); err != nil {
		fmt.Fprintf(stderr, "kcovlab report: %v\n", err)
		return exitInfra
	}
	report.Summary(stdout, runs, report.IsTerminal(os.Stdout))
	code := exitPass
	for _, r := range runs {
		if !r.Passed() {
			code = exitFail
		}
	}
	if *prev != "" {
		old, err := report.Load(*prev)
		if err != nil {
			fmt.Fprintf(stderr, "kcovlab report: %v\n", err)
			return exitUsage
		}
		d := report.Compare(old, runs, report.Tolerance{Relative: *rel})
		d.Write(stdout)
		if d.Regressed() {
			code = exitFail
		}
	}
	return code
}
