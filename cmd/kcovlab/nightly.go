package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
)

const nightlyUsage = `usage: kcovlab nightly [--kernel a,b|all] [--scenario a,b|all] [flags]

Runs every kernel with every scenario (one boot per kernel) into
RESULTS/nightly-DATE, writes one junit.xml, results.ktap and report.html for
all of them, and compares with the previous nightly there: new failures,
fixes, and metrics that moved beyond --tolerance.

examples:
  kcovlab nightly                               # every named kernel, every scenario
  kcovlab nightly --kernel vanilla,v2 --scenario smoke,unique

exit codes: 0 all passed and nothing regressed, 1 a scenario failed or a
metric regressed, 2 usage error, 3 a kernel did not finish

flags:
`

func cmdNightly(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("nightly", nightlyUsage, stderr)
	var no nightly.Options
	kernels := kernelFlag(fs, "kernels: `NAMES`, comma-separated or repeated, or all (see kcovlab kernels; default every named kernel but the on-demand flavours: "+strings.Join(onDemand(), ", ")+")", lab.NightlyKernels()...)
	scen := scenarioFlag(fs, "scenarios: `NAMES`, comma-separated or repeated, or all (see kcovlab scenarios)", all)
	fs.Float64Var(&no.Tolerance, "tolerance", 0.10, "relative change of a metric that counts as moved")
	verbose := commonFlags(fs, &no.Options, stderr)
	jobs := poolFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab nightly: unexpected argument %q (kernels go in --kernel a,b)\n", fs.Arg(0))
		return exitUsage
	}
	var err error
	if no.Kernels, err = kernelsOf(kernels, false); err == nil {
		no.Scenarios, err = scenariosOf(scen)
	}
	if err == nil && no.Tolerance < 0 {
		err = fmt.Errorf("--tolerance %g: want 0 or more (0.10 is 10%%)", no.Tolerance)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab nightly: %v\n", err)
		return exitUsage
	}
	if !checkCommon("nightly", &no.Options, stderr) || !checkPool("nightly", *jobs, stderr) {
		return exitUsage
	}
	no.Log, no.Out, no.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	no.Parallel = poolSize(ctx, *jobs, no.Options, no.Log)
	_, err = nightly.Nightly(ctx, no)
	return in.code(exitCode(err, stderr))
}

// onDemand lists the named kernels a nightly leaves out unless named.
func onDemand() []string {
	var n []string
	for _, k := range lab.KernelNames() {
		if lab.Kernels[k].OnDemand {
			n = append(n, k)
		}
	}
	return n
}
