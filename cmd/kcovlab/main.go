// Command kcovlab tests Linux kernel coverage (KCOV) end to end: it builds a
// clang KCOV kernel, boots it in QEMU with a u-root initramfs and runs
// scenarios in the guest over SSH. Run `kcovlab help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/kcovlab/kcovlab/compare"
	"github.com/kcovlab/kcovlab/nightly"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Exit codes, also in README.md.
const (
	exitPass  = 0 // every scenario passed
	exitFail  = 1 // a scenario failed
	exitUsage = 2 // bad command line
	exitInfra = 3 // the lab could not finish: build, boot or host failure
)

const usage = `kcovlab: KCOV end to end in QEMU

usage:
  kcovlab run [flags]     build the kernel and image (cached), boot, run scenarios
  kcovlab scenarios       list the scenarios
  kcovlab kernels         list the named kernels (and which are built)
  kcovlab nightly [flags] every kernel x every scenario into RESULTS/nightly-DATE,
                          compared with the previous nightly there
  kcovlab report RUN_DIR  rewrite junit.xml, results.ktap, report.html from result.json
                          (-compare PREV_DIR: new failures, fixes, metrics that moved)
  kcovlab compare KERNEL_A KERNEL_B [flags]
                          run both kernels --runs times (A,B,A,B,..., a fresh boot
                          each) and test every metric for a difference
  kcovlab ask [RECIPE]    answer a reviewer question with data (tsc-noise, guard-size,
                          edges-vs-nodes, v2-vs-v4, overflow); no RECIPE lists them
  kcovlab bisect --kernel-src TREE --good REV --bad REV --scenario NAME [--check 'errno==0'] [--runs N]
                          find the commit that changed the scenario's verdict (or check):
                          each step builds (incrementally), boots and runs it; the report
                          goes to RESULTS/bisect-ID (either revision may be the newer one)
  kcovlab bisect-step --kernel-src TREE --scenario NAME [...] [--invert]
                          judge the checked-out commit for git bisect run: exit 0 good,
                          1 bad, 125 skip (did not build or boot), 128 the lab broke
  kcovlab bisect-tree --series v2 [--fixture-after N] DIR
                          make DIR a git tree to bisect: the base source, then one commit
                          per patch (a non-building fixture and its revert after patch N)
  kcovlab mutants [--series v2] [--only NAME,...]
                          the mutation suite: the series plus one known-bad kcov.c edit
                          at a time; which scenarios go red, and the score (killed/total)
  kcovlab help            this text

exit codes: 0 all scenarios passed, 1 a scenario failed, 2 usage error,
            3 the lab could not finish (kernel build, boot, missing host tool);
            130 stopped by SIGINT, 143 by SIGTERM (a second one exits at once);
            bisect: 0 found, 1 undecided (only skipped commits left), 2, 3 as above
            compare: 1 when a scenario failed or errored in any run, 3 when a
            run did not finish (it is left out of the statistics, which are
            printed anyway) or a kernel did not build (the comparison stops)
`

const compareUsage = `usage: kcovlab compare KERNEL_A KERNEL_B [flags]

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

exit codes: 0 every run passed, 1 a scenario failed or errored in some run,
2 usage error, 3 a run did not finish (left out of the statistics) or a
kernel did not build (the comparison stops)

flags:
`

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "scenarios":
		for _, n := range scenarios.Names() {
			fmt.Fprintf(stdout, "%-12s %s\n", n, scenarios.All[n].Summary)
		}
		return exitPass
	case "nightly":
		return cmdNightly(args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "kernels":
		return cmdKernels(args[1:], stdout, stderr)
	case "compare":
		return cmdCompare(args[1:], stdout, stderr)
	case "ask":
		return cmdAsk(args[1:], stdout, stderr)
	case "bisect":
		return cmdBisect(args[1:], stdout, stderr, nil)
	case "bisect-step":
		return cmdBisectStep(args[1:], stdout, stderr, nil)
	case "bisect-tree":
		return cmdBisectTree(args[1:], stdout, stderr)
	case "mutants":
		return cmdMutants(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	fmt.Fprintf(stderr, "kcovlab: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

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
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
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

func cmdNightly(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	var no nightly.Options
	kernels := fs.String("kernels", "", "comma-separated kernels (default: every named kernel)")
	scen := fs.String("scenario", "", "comma-separated scenarios (default: all)")
	fs.Float64Var(&no.Tolerance, "tolerance", 0.10, "relative change of a metric that counts as moved")
	verbose := commonFlags(fs, &no.Options, stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
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
	_, err := nightly.Nightly(ctx, no)
	return in.code(exitCode(err, stderr))
}

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var co compare.Options
	scen := fs.String("scenario", "smoke", "comma-separated scenarios every run runs (see: kcovlab scenarios)")
	fs.IntVar(&co.Runs, "runs", 5, "runs per kernel, each a fresh boot (4 or more for a p-value below 0.05)")
	verbose := commonFlags(fs, &co.Options, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, compareUsage)
		fs.PrintDefaults()
	}
	kernels, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(kernels) != 2 {
		fmt.Fprintf(stderr, "kcovlab compare: want two kernels, KERNEL_A KERNEL_B, got %d %q (see `kcovlab kernels`)\n", len(kernels), kernels)
		return exitUsage
	}
	if co.Runs < 1 {
		fmt.Fprintf(stderr, "kcovlab compare: --runs %d: want 1 or more runs per kernel (4 or more for a p-value below 0.05)\n", co.Runs)
		return exitUsage
	}
	co.KernelA, co.KernelB = kernels[0], kernels[1]
	co.Scenarios = strings.Split(*scen, ",")
	if !checkCommon("compare", &co.Options, stderr) {
		return exitUsage
	}
	co.Log, co.Out, co.Color = newLogger(stderr, *verbose), stdout, isTerminal(stdout)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	_, err = compare.Compare(ctx, co)
	return in.code(exitCode(err, stderr))
}

// parseArgs parses flags before, between and after the positional
// arguments (compare A B --runs 5 as well as compare --runs 5 A B) and
// returns the positional ones; after "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// commonFlags registers the flags run, nightly and compare share.
func commonFlags(fs *flag.FlagSet, o *lab.Options, stderr io.Writer) *bool {
	fs.SetOutput(stderr)
	fs.StringVar(&o.Tarball, "tarball", kbuild.DefaultTarball, "kernel source tarball")
	fs.StringVar(&o.KernelSrc, "kernel-src", "", "local kernel source tree (default: unpack --tarball)")
	fs.StringVar(&o.ModuleDir, "src", "", "kcovlab source dir, for the guest image (default: found from the working dir)")
	fs.StringVar(&o.CacheDir, "cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	fs.StringVar(&o.ResultsDir, "results", "", "results root (default: <src>/results)")
	fs.StringVar(&o.Accel, "accel", "auto", "auto (probe KVM, fall back to TCG), kvm or tcg")
	fs.StringVar(&o.QEMU, "qemu", "qemu-system-x86_64", "QEMU binary")
	fs.IntVar(&o.CPUs, "cpus", 2, "guest vCPUs")
	fs.IntVar(&o.MemoryMB, "memory", 1024, "guest memory in MiB")
	fs.IntVar(&o.Jobs, "jobs", runtime.NumCPU(), "make -j")
	fs.DurationVar(&o.BootTimeout, "boot-timeout", 0, "boot-to-SSH limit (default 3m under TCG, 1m under KVM)")
	fs.DurationVar(&o.ScenarioTimeout, "scenario-timeout", 5*time.Minute, "limit per scenario")
	return fs.Bool("v", false, "log debug lines (commands run)")
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitPass
	}
	if errors.Is(err, lab.ErrScenarioFailed) {
		return exitFail
	}
	fmt.Fprintf(stderr, "kcovlab: %v\n", err)
	var unknown *scenarios.UnknownError
	var unknownKernel *lab.UnknownKernelError
	var usageErr *lab.UsageError
	if errors.As(err, &unknown) || errors.As(err, &unknownKernel) || errors.As(err, &usageErr) {
		return exitUsage
	}
	return exitInfra
}

func cmdKernels(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache := fs.String("cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	for _, name := range lab.KernelNames() {
		k := lab.Kernels[name]
		state := "not built"
		if ok, _ := lab.Built(context.Background(), lab.Options{Kernel: name, CacheDir: *cache}); ok {
			state = "built"
		}
		fmt.Fprintf(stdout, "%-16s %s [%s]\n", name, k.Description, state)
		fmt.Fprintf(stdout, "%-16s   %s\n", "", k)
	}
	fmt.Fprintf(stdout, "\n[built]: in the cache from today's inputs (source, series, fragments, compiler)\nevery kernel in %s:\n", *cache)
	built, err := lab.BuiltKernels(*cache)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab kernels: %v\n", err)
		return exitInfra
	}
	for _, b := range built {
		fmt.Fprintf(stdout, "  %s  %-20s %s  %s\n", b.Key, b.Name, b.Compiler, b.BuiltAt)
	}
	if len(built) == 0 {
		fmt.Fprintln(stdout, "  none yet")
	}
	return exitPass
}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write junit.xml, results.ktap, report.html here (default: RUN_DIR itself)")
	prev := fs.String("compare", "", "previous run dir(s) or results tree to compare with")
	rel := fs.Float64("tolerance", 0.10, "relative change of a metric that counts as moved")
	if err := fs.Parse(args); err != nil {
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

// isTerminal is true when w is a terminal (colours and live progress then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && report.IsTerminal(f)
}

// newLogger prints plain timestamped lines: "12:00:01 kernel: building steps=12".
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	if isTerminal(w) {
		return slog.New(newLiveHandler(w, level))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05"))
			}
			return a
		},
	}))
}
