package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/crash"
	"github.com/kcovlab/kcovlab/internal/ktap"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/sshlink"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

// guestRunner is the part of the SSH client the scenarios need.
type guestRunner interface {
	Output(ctx context.Context, command string) (stdout, stderr []byte, code int, err error)
}

var _ guestRunner = (*sshlink.Client)(nil)

// scenarioEnv is what a scenario run needs to know about the lab.
type scenarioEnv struct {
	timeout time.Duration
	outDir  string
	// kernelFiles are the files the kernel build provided (by name).
	kernelFiles map[string]bool
	// selftest identifies the kernel's selftest source, for its known
	// upstream defects (SelftestID).
	selftest string
	// class is what the kernel's config says of KCOV_UNIQUE_ENABLE.
	class string
	// syms turns kernel addresses in evidence into function names.
	syms *symbolize.Table
	// classUnknown: a --kernel-image whose class neither a .config nor
	// the guest told; scenarios that need the class skip.
	classUnknown bool
	// extraArgs are appended to the scenario's command (e.g. -trial=3).
	extraArgs string
}

// Kernel classes, as scenario programs take them.
const (
	classUnique    = "unique"    // CONFIG_KCOV_UNIQUE=y
	classNoUnique  = "nounique"  // the series is in, CONFIG_KCOV_UNIQUE is not set
	classUnpatched = "unpatched" // Kconfig has no KCOV_UNIQUE at all
)

// kernelClass reads a kernel's .config: the series adds the KCOV_UNIQUE
// symbol, so its mere presence tells a patched kernel from an unpatched one.
func kernelClass(dotconfig []byte) string {
	switch {
	case bytes.Contains(dotconfig, []byte("\nCONFIG_KCOV_UNIQUE=y\n")):
		return classUnique
	case bytes.Contains(dotconfig, []byte("CONFIG_KCOV_UNIQUE")):
		return classNoUnique
	}
	return classUnpatched
}

func (r *run) scenarioEnv(ctx context.Context) scenarioEnv {
	env := scenarioEnv{
		timeout: r.opts.ScenarioTimeout, outDir: filepath.Join(r.dir, "scenarios"),
		kernelFiles: map[string]bool{}, selftest: r.selftestID(ctx),
	}
	if r.kernel.Selftest != "" {
		env.kernelFiles[filepath.Base(r.kernel.Selftest)] = true
	}
	if cfg, err := os.ReadFile(r.kernel.Config); err == nil {
		env.class = kernelClass(cfg)
	} else if r.probedClass != "" {
		env.class = r.probedClass
	}
	env.classUnknown = env.class == "" && r.opts.KernelImage != ""
	os.MkdirAll(env.outDir, 0o755)
	r.loadSyms()
	env.syms = r.syms
	return env
}

// loadSyms reads the kernel's symbols (and its function index) once per
// run; without them evidence and crash reports keep raw addresses.
func (r *run) loadSyms() {
	if r.syms != nil || r.symsErr != nil {
		return
	}
	syms, err := symbolize.Open(r.kernel.Vmlinux)
	if err != nil {
		r.symsErr = err
		r.log.Warn("scenario: evidence stays unsymbolized", "err", err)
		return
	}
	if r.kernel.FuncFiles != "" {
		if f, err := os.Open(r.kernel.FuncFiles); err == nil {
			if err := syms.AddFuncFiles(f); err != nil {
				r.log.Warn("scenario: PCs name no source file", "err", err)
			}
			f.Close()
		}
	}
	r.syms = syms
}

// crashSymbols is what crash reports are symbolized with: the kernel's
// symbols, loaded on first use, or nil.
func (r *run) crashSymbols() crash.Symbols {
	r.loadSyms()
	if r.syms == nil {
		return nil
	}
	return r.syms
}

// runScenarios runs list in one guest. If the guest dies (a kernel crash
// ends QEMU: panic=-1, oops=panic), the scenario that was running carries
// the crash and the rest are reported as not run.
func (r *run) runScenarios(ctx context.Context, g *guest, list []scenarios.Scenario) {
	t := time.Now()
	env := r.scenarioEnv(ctx)
	for i, s := range list {
		r.log.Info("scenario: running", "name", s.Name)
		mark := markConsole(g.console)
		res := runScenario(ctx, g.client, s, env)
		judgeConsole(&res, mark.since(), env)
		if crash := g.crashedAfter(ctx, res); crash != nil {
			res.Verdict, res.ErrorKind, res.Error = results.Error, results.ErrorCrash, "kernel crashed: "+crash.Title+"\n"+crash.Report
			r.log.Error("scenario: the kernel crashed", "name", s.Name, "crash", crash.Title)
			r.res.Scenarios = append(r.res.Scenarios, res)
			for _, rest := range list[i+1:] {
				r.res.Scenarios = append(r.res.Scenarios, results.Scenario{Name: rest.Name, Verdict: results.Error,
					ErrorKind: results.ErrorCrash, Error: "not run: the kernel crashed during " + s.Name})
			}
			break
		}
		if g.lost != nil {
			// The lab lost the guest (QEMU killed from outside, or hung and
			// killed by us): the rest cannot run; afterGuest names them.
			r.res.Scenarios = append(r.res.Scenarios, res)
			r.log.Error("scenario: the lab lost the guest", "name", s.Name, "err", g.lost)
			for _, rest := range list[i+1:] {
				r.res.Scenarios = append(r.res.Scenarios, results.Scenario{Name: rest.Name, Verdict: results.Error, ErrorKind: results.ErrorLab})
			}
			break
		}
		r.log.Info("scenario: done", "name", s.Name, "verdict", res.Verdict, "seconds", int(res.Seconds))
		r.res.Scenarios = append(r.res.Scenarios, res)
	}
	r.res.AddStage("scenarios", time.Since(t))
}

// runScenario runs one scenario program in the guest and turns what it
// printed into a verdict. Its stdout and stderr are kept in env.outDir.
func runScenario(ctx context.Context, g guestRunner, s scenarios.Scenario, env scenarioEnv) results.Scenario {
	res := results.Scenario{Name: s.Name}
	if s.KernelFile != "" && !env.kernelFiles[s.KernelFile] {
		res.Verdict, res.Error = results.Skip, "this kernel's source has no "+s.KernelFile
		return res
	}
	if s.NeedsKernelClass && env.classUnknown {
		res.Verdict, res.Error = results.Skip, "the kernel's class is unknown (no .config beside --kernel-image/--vmlinux, and the guest's KCOV_UNIQUE_ENABLE probe failed): cannot tell what this scenario should expect"
		return res
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, env.timeout)
	defer cancel()
	command := s.Command()
	if s.NeedsKernelClass {
		command += " -kernel=" + env.class
	}
	command += env.extraArgs
	stdout, stderr, code, err := g.Output(ctx, command)
	res.ExitCode, res.Seconds = code, time.Since(start).Seconds()
	os.WriteFile(filepath.Join(env.outDir, s.Name+".stdout"), stdout, 0o644)
	os.WriteFile(filepath.Join(env.outDir, s.Name+".stderr"), stderr, 0o644)
	if err != nil {
		res.Verdict, res.Error = results.Error, (&ScenarioError{Scenario: s.Name, Err: err}).Error()
		res.ErrorKind = results.ErrorChannel
		if errors.Is(err, context.DeadlineExceeded) {
			res.ErrorKind = results.ErrorTimeout
		}
		return res
	}
	var o scenarios.Outcome
	if s.Format == scenarios.FormatKTAP {
		judgeKTAP(&res, stdout, env.selftest)
	} else {
		o = judgeJSON(&res, s.Name, stdout, stderr, code)
	}
	if env.syms != nil {
		for i, e := range res.Evidence {
			res.Evidence[i] = env.syms.Text(e)
		}
	}
	if judge := hostJudges[s.Name]; judge != nil && res.Verdict != results.Error {
		judge(&res, o, env.syms)
	}
	return res
}

// judgeConsole turns a scenario red when the kernel reported a problem on
// the console while it ran (a WARN, a BUG, UBSAN, a stall): the kernel
// misbehaved under the scenario's load, whatever the scenario measured.
func judgeConsole(res *results.Scenario, console string, env scenarioEnv) {
	var syms crash.Symbols
	if env.syms != nil {
		syms = env.syms
	}
	reps := crash.Parse(console, syms)
	if len(reps) == 0 {
		return
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	res.Metrics["console_reports"] += float64(len(reps))
	first := kernelCrash(reps[0])
	msg := "the kernel reported on the console during the scenario: " + first.Title
	// One evidence line per distinct report, in order, with its count.
	var lines []string
	count := map[string]int{}
	for _, r := range reps {
		line := "console: " + r.Title + " (guilty frame: " + guiltyName(r.Guilty) + ")"
		if count[line]++; count[line] == 1 {
			lines = append(lines, line)
		}
	}
	for _, line := range lines {
		if n := count[line]; n > 1 {
			line += fmt.Sprintf(" x%d", n)
		}
		res.Evidence = append(res.Evidence, line)
	}
	if len(reps) > 1 {
		msg += fmt.Sprintf(" (and %d more reports)", len(reps)-1)
	}
	switch res.Verdict {
	case results.Pass, results.Skip, "":
		res.Verdict, res.Error = results.Fail, msg+"\n"+first.Report
	default:
		res.Error = strings.TrimSpace(res.Error + "\n" + msg + "\n" + first.Report)
	}
}

func judgeJSON(res *results.Scenario, name string, stdout, stderr []byte, code int) scenarios.Outcome {
	o, perr := scenarios.ParseOutcome(name, stdout)
	switch {
	case perr != nil:
		res.Verdict, res.Error = results.Error, perr.Error()
		if len(stderr) > 0 {
			res.Error += "\nstderr: " + tail(string(stderr), 10)
		}
	case o.Error != "":
		res.Verdict, res.Error = results.Error, o.Error
	case o.Skip != "" && code == 0:
		res.Verdict, res.Error = results.Skip, o.Skip
	case code != 0:
		res.Verdict, res.Error = results.Error, "scenario program exited "+strconv.Itoa(code)
	case o.Pass:
		res.Verdict = results.Pass
	default:
		res.Verdict = results.Fail
	}
	res.Metrics, res.Evidence = o.Metrics, o.Evidence
	return o
}

// judgeKTAP keeps one case per KTAP result. A failing case that is a known
// upstream defect of this selftest (same source, same case, same failure)
// is recorded as xfail, with the reason; such a case that passes is
// recorded as xpass, so a fix (or a defect that did not show this time) is
// seen. The verdict fails on any other failing case and errors on an
// incomplete run (no plan, fewer cases than planned, a bail-out).
func judgeKTAP(res *results.Scenario, stdout []byte, selftest string) {
	rep, err := ktap.Parse(bytes.NewReader(stdout))
	if err != nil {
		res.Verdict, res.Error = results.Error, err.Error()
		return
	}
	res.Metrics = map[string]float64{}
	unexpected := 0
	for _, c := range rep.Cases {
		rc := results.Case{Name: c.Name, Status: string(c.Status), Diag: c.Diag}
		d, known := lookupDefect(selftest, c.Name)
		switch {
		case c.Status == ktap.Fail && known && d.matches(c.Diag):
			rc.Status, rc.Known = string(ktap.XFail), d.Why
		case c.Status == ktap.Fail:
			unexpected++
			if known {
				rc.Known = "not the known defect (" + d.Why + "): this failure does not match " + d.Failure.String()
			}
		case c.Status == ktap.Pass && known:
			rc.Status, rc.Known = string(ktap.XPass), "expected to fail ("+d.Why+") but passed"
		}
		res.Metrics[rc.Status]++
		res.Cases = append(res.Cases, rc)
	}
	switch {
	case !rep.Complete():
		res.Verdict = results.Error
		if rep.HasPlan {
			res.Error = fmt.Sprintf("selftest stopped after %d of %d cases %s", len(rep.Cases), rep.Planned, rep.Bailout)
		} else {
			res.Error = fmt.Sprintf("selftest printed no plan (%d cases): it may have stopped anywhere", len(rep.Cases))
		}
	case unexpected > 0:
		res.Verdict = results.Fail
		res.Error = fmt.Sprintf("%d case(s) failed", unexpected)
	default:
		res.Verdict = results.Pass
	}
}
