package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

const runUsage = `usage: kcovlab run [flags]

Builds the kernel and the guest image (both cached), boots the kernel in
QEMU and runs the scenarios over SSH. The summary goes to stdout, progress
to stderr, and the run directory (result.json, junit.xml, report.html,
console.log) to RESULTS/RUN_ID.

examples:
  kcovlab run                                  # v2 (CONFIG_KCOV_UNIQUE) and the core suite
  kcovlab run --kernel vanilla --scenario smoke
  kcovlab run --kernel v2 --scenario unique,overflow
  kcovlab run --kernel v4 --scenario all
  kcovlab run --series my.mbox --exclude 1     # a series of your own, less patch 1

exit codes: 0 all scenarios passed, 1 a scenario failed, 2 usage error,
3 the lab could not finish

flags:
`

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runUsage, stderr)
	var o lab.Options
	scen := scenarioFlag(fs, "scenarios to run: `NAMES`, comma-separated or repeated, or all (see kcovlab scenarios; default the core suite: "+strings.Join(lab.CoreSuite, ",")+")", lab.CoreSuite...)
	kernel := kernelFlag(fs, "the kernel to build and boot: one `NAME` (see kcovlab kernels; default "+lab.DefaultKernel+"; vanilla is the kernel without the series)")
	fs.StringVar(&o.Series, "series", "", "series to apply: v2, v4 (shipped in patches/), an mbox, a dir of .patch files or REPO:RANGE")
	fs.StringVar(&o.Mutant, "mutant", "", "a known-bad patch applied after the series (patches/mutants/SERIES/NN-NAME.patch; see kcovlab mutants)")
	exclude := fs.String("exclude", "", "comma-separated patch numbers to leave out of the series, e.g. 1")
	fragments := fs.String("fragments", "", "comma-separated config fragments in kernel-configs/, replacing the kernel's")
	fs.BoolVar(&o.DebugInfo, "debug-info", false, "build the kernel with DWARF (kernel-configs/debug-info.config): evidence and crash reports read file:line")
	job, plan := fs.String("job", "", "run one job of --plan (a run job, or a build job: build-KERNEL)"), fs.String("plan", "", "plan.json from kcovlab plan")
	allowBuild := fs.Bool("build", false, "with --job: build a kernel the cache lacks instead of refusing")
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
	if *job != "" {
		if !checkCommon("run", &o, stderr) {
			return exitUsage
		}
		o.Log, o.Out, o.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
		return runJob(*job, *plan, *allowBuild, o, stdout, stderr)
	}
	var err error
	if o.Scenarios, err = scenariosOf(scen); err == nil {
		var ks []string
		if ks, err = kernelsOf(kernel, false); err == nil {
			o.Kernel, err = one("kernel", ks, "run boots one kernel; for several use kcovlab nightly --kernel or kcovlab compare")
		}
	}
	if err == nil {
		o.Exclude, err = parseExclude(*exclude)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab run: %v\n", err)
		return exitUsage
	}
	if *fragments != "" {
		o.Fragments = strings.Split(*fragments, ",")
	}
	if err := checkInputs(&o); err != nil {
		fmt.Fprintf(stderr, "kcovlab run: %v\n", err)
		return exitUsage
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
