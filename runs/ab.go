package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// ABOptions configure AB: two kernels run the same scenarios Runs times
// each, interleaved A, B, A, B, ... on this machine, every run a fresh
// boot so that the samples are independent.
type ABOptions struct {
	// Options are what every run gets; Kernel, Series and Exclude are
	// replaced by KernelA and KernelB, and Out gets nothing.
	lab.Options
	// KernelA and KernelB are named kernels (see lab.Kernels) or series: an
	// mbox, a directory of .patch files or REPO:RANGE.
	KernelA, KernelB string
	// Runs per kernel [5]. Below 4 no p-value can fall under 0.05.
	Runs int
	// Parallel is how many runs boot at once (Batch.Parallel) [1].
	Parallel int
	// Run does one run [lab.Run]; tests replace it.
	Run RunFunc
}

// ABResult is what AB leaves in RESULTS/compare-ID.
type ABResult struct {
	Dir string
	// Comparison is compare.json.
	Comparison *report.ABComparison
	// A and B are each kernel's runs whose metrics count, in order.
	A, B []*results.Result
}

// AB runs both kernels o.Runs times, interleaved, and compares every
// metric the scenarios report. It writes RESULTS/compare-ID/compare.json
// and compare.html (each run keeps its own RESULTS/RUN-ID directory). The
// error is nil when every run passed, lab.ErrScenarioFailed when a run's
// scenario failed or errored, a *lab.InfraError when a run did not finish
// (its sample is left out of the statistics); a kernel that does not build
// stops the comparison with that error. Bad options are an error before
// anything runs, with a nil result.
func AB(ctx context.Context, o ABOptions) (*ABResult, error) {
	sides, err := o.prepare()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cr := newAB(o, "compare-"+results.NewRunID(start), start)
	o.Log.Info("compare: started", "a", o.KernelA, "b", o.KernelB, "runs", o.Runs, "dir", cr.Dir)
	return cr.finish(cr.sample(ctx, o, sides))
}

// newAB is an empty comparison with id, in RESULTS/id.
func newAB(o ABOptions, id string, start time.Time) *ABResult {
	return &ABResult{Dir: filepath.Join(o.ResultsDir, id), Comparison: &report.ABComparison{
		Schema: report.ABSchemaVersion, ID: id, LabVersion: lab.Version, Started: start.UTC(),
		Scenarios: o.Scenarios, Runs: o.Runs, Order: report.OrderAB, Alpha: report.SignificanceLevel,
		Spread: report.SpreadMinMax, Test: report.TestName, Command: compareArgv(o),
		A: report.ABKernel{Name: o.KernelA, Accel: []string{}},
		B: report.ABKernel{Name: o.KernelB, Accel: []string{}},
	}}
}

// finish computes the statistics and writes compare.json and
// compare.html; stop is the error that ended the runs early.
func (cr *ABResult) finish(stop error) (*ABResult, error) {
	cr.Comparison.Metrics = report.CompareSamples(cr.A, cr.B)
	if err := report.WriteABDir(cr.Dir, cr.Comparison); err != nil && stop == nil {
		stop = &lab.InfraError{Stage: "compare", Err: err}
	}
	if stop != nil {
		return cr, stop
	}
	return cr, cr.verdict()
}

// prepare fills in defaults and checks every option before anything runs:
// the options of kernel A's and kernel B's runs.
func (co *ABOptions) prepare() ([2]lab.Options, error) {
	var sides [2]lab.Options
	if err := co.Options.Defaults(); err != nil {
		return sides, &lab.UsageError{Msg: err.Error()}
	}
	if co.Runs == 0 {
		co.Runs = 5
	}
	if co.Runs < 0 {
		return sides, &lab.UsageError{Msg: fmt.Sprintf("--runs %d: want 1 or more runs per kernel (4 or more for a p-value below 0.05)", co.Runs)}
	}
	if co.KernelA == "" || co.KernelB == "" {
		return sides, &lab.UsageError{Msg: "compare needs two kernels, A and B (see `kcovlab kernels`)"}
	}
	if _, err := lab.SelectScenarios(co.Scenarios); err != nil {
		return sides, err
	}
	if co.Run == nil {
		co.Run = lab.Run
	}
	for i, k := range []string{co.KernelA, co.KernelB} {
		o, err := sideOptions(co.Options, k)
		if err != nil {
			return sides, err
		}
		sides[i] = o
	}
	return sides, nil
}

// sideOptions are the options of one kernel's runs. A kernel is a named
// kernel, else a series when it looks like a path or a git range.
func sideOptions(base lab.Options, kernel string) (lab.Options, error) {
	o := base
	o.Kernel, o.Series, o.Exclude, o.Out = "", "", nil, io.Discard
	if _, err := lab.LookupKernel(kernel); err == nil {
		o.Kernel = kernel
	} else if _, serr := os.Stat(kernel); serr == nil || strings.ContainsAny(kernel, "/:") {
		o.Series = kernel
	} else {
		return o, err
	}
	if _, err := o.KernelDef(); err != nil {
		return o, err
	}
	return o, nil
}

// sample runs the rounds: A, then B, Runs times. It returns the error that
// stopped it early: cancellation, or one every later run would meet again.
func (cr *ABResult) sample(ctx context.Context, co ABOptions, sides [2]lab.Options) error {
	b := Batch{Run: co.Run, Parallel: co.Parallel,
		Start: func(n int, req Request) {
			round, i := n/2+1, n%2
			co.Log.Info("compare: run", "kernel", req.Label, "side", "AB"[i:i+1], "round", fmt.Sprintf("%d/%d", round, co.Runs))
		},
		Done: func(out Outcome) error { return cr.fold(co, out) },
	}
	_, err := b.Do(ctx, abRequests(co, sides))
	return err
}

// abRequests are the interleaved runs: A, then B, Runs times. AB runs
// them here, ABPlan cuts them into jobs.
func abRequests(co ABOptions, sides [2]lab.Options) []Request {
	names := [2]string{co.KernelA, co.KernelB}
	var reqs []Request
	for range co.Runs {
		for i, o := range sides {
			reqs = append(reqs, Request{Label: names[i], Options: o})
		}
	}
	return reqs
}

// fold adds one run's outcome to its kernel's samples; the error is one
// that stops the comparison.
func (cr *ABResult) fold(co ABOptions, out Outcome) error {
	kernels := [2]*report.ABKernel{&cr.Comparison.A, &cr.Comparison.B}
	data := [2]*[]*results.Result{&cr.A, &cr.B}
	round, i := out.Index/2+1, out.Index%2
	k, res, err := kernels[i], out.Result, out.Err
	s := sampleOf(res, err, out.Index+1, round)
	if res != nil && res.RunID != "" {
		s.Dir = relDir(cr.Dir, filepath.Join(out.Options.ResultsDir, res.RunID))
	}
	k.Samples = append(k.Samples, s)
	k.Verdicts.Add(s.Verdict)
	identify(k, res)
	if s.Data {
		*data[i] = append(*data[i], res)
	}
	co.Log.Info("compare: run done", "kernel", k.Name, "run", s.RunID, "verdict", s.Verdict)
	if stopsCompare(err) {
		return fmt.Errorf("compare: kernel %s, round %d of %d: %w", k.Name, round, co.Runs, err)
	}
	return nil
}

// sampleOf records one run: its verdict, why it did not finish or which
// scenario did not pass, and whether its metrics count. A run that did not finish never counts, even
// when some scenarios reported numbers.
func sampleOf(res *results.Result, err error, seq, round int) report.ABSample {
	s := report.ABSample{Seq: seq, Round: round}
	if res != nil {
		s.RunID = res.RunID
	}
	if err != nil && !errors.Is(err, lab.ErrScenarioFailed) {
		s.Verdict, s.ErrorKind, s.Error = report.Unfinished, lab.ErrorKind(err), err.Error()
		if res != nil && res.ErrorKind != "" {
			s.ErrorKind = res.ErrorKind
		}
		return s
	}
	s.Verdict = report.RunVerdict(res)
	if s.Verdict == report.Unfinished {
		if res != nil {
			s.ErrorKind, s.Error = res.ErrorKind, res.Error
		}
		return s
	}
	for _, sc := range res.Scenarios {
		why := ""
		switch sc.Verdict {
		case results.Pass:
			s.Data = true
		case results.Fail:
			s.Data = true
			why = firstOf(firstLine(sc.Error), firstOf(sc.Evidence...), "invariant broken")
		case results.Error:
			why = firstOf(firstLine(sc.Error), "could not measure")
		}
		if why != "" && s.Error == "" {
			s.Error = sc.Name + ": " + why
		}
	}
	return s
}

// identify takes a kernel's identity from its first run that built or
// found it, and notes every accelerator its runs used.
func identify(k *report.ABKernel, res *results.Result) {
	if res == nil {
		return
	}
	if k.Kernel.Key == "" && res.Kernel.Key != "" {
		k.Kernel = res.Kernel
	}
	if res.Accel != "" && !slices.Contains(k.Accel, res.Accel) {
		k.Accel = append(k.Accel, res.Accel)
	}
	if setup := report.SetupName(res.Setup); !slices.Contains(k.Setups, setup) {
		k.Setups = append(k.Setups, setup)
	}
}

// stopsCompare is true for an error that every later run of the kernel
// would meet again: it did not build, its series did not apply, the image
// or the toolchain failed, the options are wrong, or the user cancelled.
// A boot failure or a QEMU crash may be one-off: the next round runs.
func stopsCompare(err error) bool {
	if err == nil || errors.Is(err, lab.ErrScenarioFailed) {
		return false
	}
	var ie *lab.InfraError
	var ue *lab.UsageError
	if errors.As(err, &ue) {
		return true
	}
	if errors.As(err, &ie) && slices.Contains([]string{"toolchain", "image", "results"}, ie.Stage) {
		return true
	}
	return slices.Contains([]string{"build", "series", "cancelled"}, lab.ErrorKind(err))
}

// verdict is AB's error once every run was done.
func (cr *ABResult) verdict() error {
	a, b := cr.Comparison.A.Verdicts, cr.Comparison.B.Verdicts
	switch {
	case a.Unfinished+b.Unfinished > 0:
		return &lab.InfraError{Stage: "compare", Err: fmt.Errorf("%d of %d runs did not finish and are left out (see %s)",
			a.Unfinished+b.Unfinished, 2*cr.Comparison.Runs, filepath.Join(cr.Dir, report.ABJSONFile))}
	case a.Fail+a.Error+b.Fail+b.Error > 0:
		return lab.ErrScenarioFailed
	}
	return nil
}

// compareArgv is the command line that reruns a comparison: the kernels,
// the scenarios, the number of runs and every flag that changes what is
// measured and differs from its default.
func compareArgv(co ABOptions) []string {
	argv := []string{"kcovlab", "compare", "--kernel", co.KernelA + "," + co.KernelB,
		"--scenario", strings.Join(co.Scenarios, ","), "--runs", strconv.Itoa(co.Runs)}
	add := func(on bool, flag, value string) {
		if on {
			argv = append(argv, flag, value)
		}
	}
	add(co.KernelSrc != "", "--kernel-src", co.KernelSrc)
	add(co.KernelSrc == "" && co.Tarball != "" && co.Tarball != kbuild.DefaultTarball, "--tarball", co.Tarball)
	add(co.Accel != "" && co.Accel != "auto", "--accel", co.Accel)
	add(co.QEMU != "" && co.QEMU != "qemu-system-x86_64", "--qemu", co.QEMU)
	add(co.CPUs != 0 && co.CPUs != 2, "--cpus", strconv.Itoa(co.CPUs))
	add(co.MemoryMB != 0 && co.MemoryMB != 1024, "--memory", strconv.Itoa(co.MemoryMB))
	add(co.BootTimeout != 0, "--boot-timeout", co.BootTimeout.String())
	add(co.ScenarioTimeout != 0 && co.ScenarioTimeout != 5*time.Minute, "--scenario-timeout", co.ScenarioTimeout.String())
	return argv
}

// relDir is target relative to base, or target itself when it has none.
func relDir(base, target string) string {
	if r, err := filepath.Rel(base, target); err == nil {
		return r
	}
	return target
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
