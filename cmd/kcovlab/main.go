// Command kcovlab tests Linux kernel coverage (KCOV) end to end: it builds a
// clang KCOV kernel, boots it in QEMU with a u-root initramfs and runs
// scenarios in the guest over SSH. Run `kcovlab help` for the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

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
  kcovlab kernels         list the named kernels (and which are built) and every
                          kernel in the cache
  kcovlab nightly [flags] every kernel x every scenario into RESULTS/nightly-DATE,
                          compared with the previous nightly there
  kcovlab report RUN_DIR  rewrite junit.xml, results.ktap, report.html from result.json
                          (-compare PREV_DIR: new failures, fixes, metrics that moved)
  kcovlab compare --kernel KERNEL_A,KERNEL_B [flags]
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
  kcovlab shell [run flags] | --attach RUN_DIR
                          boot (or attach to a kept guest) and open u-root's shell in it
  kcovlab stop RUN_DIR    stop the guest run --keep left up
  kcovlab plan nightly|compare ... [--format json|github|gitlab]
                          the verb's runs as build and run jobs for a CI matrix
  kcovlab cache export KEY FILE | cache import FILE
                          move a built kernel and its image between machines
  kcovlab run --job ID --plan plan.json
                          run one job of a plan
  kcovlab merge DIR...    the planned verb's output from its run jobs' directories
  kcovlab export lava --kernel NAME --scenario ...
                          a LAVA job definition and a device file for lava-run
  kcovlab completion bash|zsh
                          shell completion: subcommands, flags, kernel and scenario names
  kcovlab bench pool [--kernel K,..] [--jobs N]
                          measure the pool: the same nightly on cached kernels with
                          --jobs 1 and with the default, wall times and their ratio
  kcovlab bench boot [--boots N] [--setups a,b] [--json FILE]
                          boot a cached kernel under each machine setup and break
                          the boot down (exec, kernel, init, sshd, SSH); build numbers
  kcovlab bench suite [--kernel K] [--runs N] [--json FILE]
                          the whole suite on a cached kernel, trials booted ahead
                          and one after another: boot, scenarios, trials, total
  kcovlab version         the version (module, VCS revision, -dirty), as result.json records it
  kcovlab help [CMD]      this text, or CMD's usage (as CMD --help)

kernels and scenarios are named the same way everywhere: --kernel NAME[,NAME...]
and --scenario NAME[,NAME...], repeatable, "all" for every one (kcovlab kernels
and kcovlab scenarios list them). Every flag is checked before anything is built.

nightly, compare, ask, bisect (--runs N) and mutants boot --jobs N VMs at once
(default: from the host's cores and --cpus; 1 while a kernel build runs);
--make-jobs is make's -j

exit codes: 0 all scenarios passed, 1 a scenario failed, 2 usage error,
            3 the lab could not finish (kernel build, boot, missing host tool);
            130 stopped by SIGINT, 143 by SIGTERM (a second one exits at once);
            bisect: 0 found, 1 undecided (only skipped commits left), 2, 3 as above
            compare: 1 when a scenario failed or errored in any run, 3 when a
            run did not finish (it is left out of the statistics, which are
            printed anyway) or a kernel did not build (the comparison stops)
`

func main() {
	lab.Version = version()
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "help" && !strings.HasPrefix(args[1], "-") {
			return subcommandHelp(args[1], stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	if wantsHelp(args[1:]) && args[0] != "bench" { // bench NAME -h is the sub-benchmark's
		return subcommandHelp(args[0], stdout, stderr)
	}
	return dispatch(args, stdout, stderr)
}

// subcommandHelp prints a subcommand's usage and flags on stdout and exits
// 0, as -h does for Go and kernel tools.
func subcommandHelp(cmd string, stdout, stderr io.Writer) int {
	if !slices.Contains(commands, cmd) {
		fmt.Fprintf(stderr, "kcovlab: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	dispatch([]string{cmd, "-h"}, stdout, stdout)
	return exitPass
}

// commands are the subcommands dispatch knows.
var commands = []string{"run", "shell", "stop", "scenarios", "nightly", "report", "kernels", "compare", "ask", "bisect", "bisect-step", "bisect-tree", "mutants", "plan", "cache", "merge", "export", "bench", "completion", "version", "help"}

// wantsHelp is true when -h, -help or --help comes before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "scenarios":
		return cmdScenarios(args[1:], stdout)
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
	case "completion":
		return cmdCompletion(args[1:], stdout, stderr)
	case "version":
		return cmdVersion(args[1:], stdout)
	case "bench":
		return cmdBench(args[1:], stdout, stderr)
	case "shell":
		return cmdShell(args[1:], stdout, stderr)
	case "stop":
		return cmdStop(args[1:], stdout, stderr)
	case "plan":
		return cmdPlan(args[1:], stdout, stderr)
	case "cache":
		return cmdCache(args[1:], stdout, stderr)
	case "merge":
		return cmdMerge(args[1:], stdout, stderr)
	case "export":
		return cmdExport(args[1:], stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	fmt.Fprintf(stderr, "kcovlab: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
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
