package bisect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/series"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Verdict is what a bisect step says of a commit, in the user's
// words: good means the scenario passes (or the check holds) there. As a
// policy (Options.OnBuildError, ...) it may also be Abort.
type Verdict string

const (
	Good  Verdict = "good"
	Bad   Verdict = "bad"
	Skip  Verdict = "skip"  // the commit cannot be judged
	Abort Verdict = "abort" // stop the bisect
)

// ParsePolicy reads the value of an --on-... flag.
func ParsePolicy(flag, v string) (Verdict, error) {
	switch p := Verdict(v); p {
	case Good, Bad, Skip, Abort:
		return p, nil
	}
	return "", &lab.UsageError{Msg: fmt.Sprintf("%s %q: want skip, bad, good or abort", flag, v)}
}

// Step is one commit judged: its runs and what they add up to.
type Step struct {
	Commit  string  `json:"commit"`
	Subject string  `json:"subject"`
	Verdict Verdict `json:"verdict"`
	// Why explains a skip or a verdict a policy gave (build, boot, crash).
	Why string `json:"why,omitempty"`
	// Good, Bad and Skipped count the runs; Split is set when they differ.
	Good    int    `json:"good"`
	Bad     int    `json:"bad"`
	Skipped int    `json:"skipped"`
	Split   string `json:"split,omitempty"`
	// Confidence is the share of judged runs that agree with Verdict (0
	// for a skipped step).
	Confidence float64 `json:"confidence"`
	// KernelCached: the step's kernel came from the cache; KernelFailed:
	// it did not build.
	KernelCached    bool      `json:"kernel_cached"`
	KernelFailed    bool      `json:"kernel_failed,omitempty"`
	BuildSeconds    float64   `json:"build_seconds"`
	BootSeconds     float64   `json:"boot_seconds"`
	ScenarioSeconds float64   `json:"scenario_seconds"`
	Seconds         float64   `json:"seconds"`
	Runs            []StepRun `json:"runs"`
}

// StepRun is one run of the scenario on a step's kernel.
type StepRun struct {
	Verdict Verdict `json:"verdict"`
	Why     string  `json:"why,omitempty"`
	// Scenario is the scenario's own verdict; Value the checked metric.
	Scenario string   `json:"scenario_verdict,omitempty"`
	Value    *float64 `json:"value,omitempty"`
	// Attempts is 1 plus the retries the lab's own failures took.
	Attempts int    `json:"attempts"`
	RunDir   string `json:"run_dir,omitempty"`
}

// StepAt judges the commit checked out in opts.KernelSrc: the body of
// `kcovlab bisect-step`, which `git bisect run` calls. The error is set
// when the bisect must stop (the lab broke, a policy said abort, ctx ended).
func StepAt(ctx context.Context, opts Options) (*Step, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	repo, err := gitbisect.Open(ctx, opts.KernelSrc)
	if err != nil {
		return nil, err
	}
	commit, err := repo.Head(ctx)
	if err != nil {
		return nil, err
	}
	subject, _ := repo.Subject(ctx, commit)
	return opts.step(ctx, repo.Dir, commit, subject, opts.ResultsDir)
}

// ExitCode is the exit code `git bisect run` wants for a step:
// 0 good, 1 bad (swapped when invert: a bisect whose good revision is the
// newer one runs with --term-old broken --term-new fixed), 125 skip, 128
// abort.
func ExitCode(step *Step, err error, invert bool) int {
	if err != nil || step == nil {
		return gitbisect.ExitAbort
	}
	good, bad := gitbisect.ExitOld, gitbisect.ExitNew
	if invert {
		good, bad = bad, good
	}
	switch step.Verdict {
	case Good:
		return good
	case Bad:
		return bad
	case Skip:
		return gitbisect.ExitSkip
	}
	return gitbisect.ExitAbort
}

// step runs the scenario Runs times on the tree as checked out and folds
// the runs into a verdict. A kernel that did not build is not rebuilt for
// the remaining runs. With Parallel above 1 the runs go through the pool
// at once (the first one builds the kernel while the others wait for it);
// a run the lab broke is then retried on its own.
func (bo *Options) step(ctx context.Context, tree, commit, subject, dir string) (*Step, error) {
	start := time.Now()
	st := &Step{Commit: commit, Subject: subject}
	defer func() { st.Seconds = time.Since(start).Seconds() }()
	var first []runs.Outcome // the pool's first attempt of every run
	if bo.Parallel > 1 && bo.Runs > 1 {
		reqs := make([]runs.Request, bo.Runs)
		for i := range reqs {
			reqs[i] = runs.Request{Label: short(commit), Options: bo.runOptions(tree, dir)}
		}
		outs, err := runs.Batch{Run: bo.Runner, Parallel: bo.Parallel, Built: bo.built}.Do(ctx, reqs)
		if err != nil {
			return st, fmt.Errorf("commit %s: %w", short(commit), err)
		}
		first = outs
	}
	for i := 1; i <= bo.Runs; i++ {
		var out runOutcome
		var res *results.Result
		var err error
		if first != nil {
			out, res, err = bo.attempts(ctx, tree, commit, dir, &first[i-1])
		} else {
			out, res, err = bo.attempts(ctx, tree, commit, dir, nil)
		}
		if err != nil {
			return st, err
		}
		bo.Log.Info("bisect: run", "commit", short(commit), "run", fmt.Sprintf("%d/%d", i, bo.Runs), "verdict", out.Verdict, "why", out.Why)
		st.add(out.StepRun, res)
		if out.noRerun {
			st.KernelFailed = true
			break
		}
	}
	st.decide()
	return st, nil
}

// runOutcome is one run classified.
type runOutcome struct {
	StepRun
	retry   bool  // the lab failed: run again
	err     error // stop the bisect
	noRerun bool  // the kernel did not build: running again cannot differ
}

// runOptions are the options of one run of the step's scenario on tree.
func (bo *Options) runOptions(tree, dir string) lab.Options {
	o := bo.Options
	o.KernelSrc, o.Scenarios, o.ResultsDir, o.Out = tree, []string{bo.Scenario}, dir, io.Discard
	return o
}

// attempts runs once, again after each failure of the lab itself (up to
// Retries more times), and returns the run's outcome. first, when set, is
// the first attempt, already made by the pool.
func (bo *Options) attempts(ctx context.Context, tree, commit, dir string, first *runs.Outcome) (runOutcome, *results.Result, error) {
	var last string
	for a := 1; a <= bo.Retries+1; a++ {
		var res *results.Result
		var err error
		if a == 1 && first != nil {
			res, err = first.Result, first.Err
		} else {
			outs, berr := runs.Batch{Run: bo.Runner}.Do(ctx, []runs.Request{{Label: short(commit), Options: bo.runOptions(tree, dir)}})
			err = berr
			if len(outs) == 1 {
				res, err = outs[0].Result, outs[0].Err
			}
		}
		c := bo.classify(ctx, commit, res, err)
		c.Attempts = a
		if res != nil && res.RunID != "" {
			c.RunDir = filepath.Join(dir, res.RunID)
		}
		if c.err != nil {
			return c, res, c.err
		}
		if !c.retry {
			return c, res, nil
		}
		last = c.Why
		bo.Log.Warn("bisect: the lab failed, running again", "commit", short(commit), "attempt", a, "why", c.Why)
	}
	return runOutcome{}, nil, &lab.InfraError{Stage: "bisect", Err: fmt.Errorf("commit %s: the lab failed %d times in a row (--retries %d), last: %s",
		short(commit), bo.Retries+1, bo.Retries, last)}
}

// classify turns one run into a verdict, a retry or a reason to stop. The
// run's typed error says whose fault a failure was: the kernel's build
// (OnBuildError) or boot (OnBootError), a crash while the scenario ran
// (OnCrash), or the lab (retried).
func (bo *Options) classify(ctx context.Context, commit string, res *results.Result, err error) runOutcome {
	var (
		be  *kbuild.BuildError
		ae  *series.ApplyError
		boe *lab.BootError
		ie  *lab.InfraError
		df  *kbuild.DiskFullError
	)
	switch {
	case ctx.Err() != nil:
		return runOutcome{err: fmt.Errorf("commit %s: %w", short(commit), ctx.Err())}
	case errors.As(err, &df):
		// A full disk fails the next attempt as well: stop, blaming the lab.
		return runOutcome{err: &lab.InfraError{Stage: "bisect", Err: err}}
	case errors.As(err, &ie):
		// The lab broke (QEMU killed, a port clash, a lost guest): retry,
		// even when a build or boot error is wrapped inside.
		return runOutcome{retry: true, StepRun: StepRun{Why: firstLine(err.Error())}}
	case errors.As(err, &be):
		return bo.policy("--on-build-error", bo.OnBuildError, "the kernel did not build ("+be.Stage+")", err, true)
	case errors.As(err, &ae):
		return bo.policy("--on-build-error", bo.OnBuildError, "the series did not apply", err, true)
	case errors.As(err, &boe):
		why := "the kernel did not boot: " + boe.Reason
		if boe.Crash != nil {
			why += " (" + boe.Crash.Title + ")"
		}
		return bo.policy("--on-boot-error", bo.OnBootError, why, err, false)
	case err != nil && !errors.Is(err, lab.ErrScenarioFailed):
		return runOutcome{err: fmt.Errorf("commit %s: %w", short(commit), err)}
	}
	if res == nil {
		return runOutcome{err: &lab.InfraError{Stage: "bisect", Err: fmt.Errorf("commit %s: the run returned no result", short(commit))}}
	}
	if want := "git:" + commit; res.Kernel.SourceID != want {
		return runOutcome{err: &lab.InfraError{Stage: "bisect", Err: fmt.Errorf("the kernel was built from %s, not %s: did the tree change during the step?", res.Kernel.SourceID, want)}}
	}
	s := scenarioResult(res, bo.Scenario)
	if s == nil {
		return runOutcome{err: &lab.InfraError{Stage: "bisect", Err: fmt.Errorf("commit %s: the run has no result for scenario %s", short(commit), bo.Scenario)}}
	}
	switch s.ErrorKind {
	case results.ErrorCrash:
		return bo.policy("--on-crash", bo.OnCrash, firstLine(s.Error), nil, false)
	case results.ErrorChannel, results.ErrorLab:
		return runOutcome{retry: true, StepRun: StepRun{Why: firstLine(s.Error)}}
	}
	return bo.judge(s)
}

// judge reads the verdict (or the checked metric) of a scenario that ran.
func (bo *Options) judge(s *results.Scenario) runOutcome {
	out := runOutcome{StepRun: StepRun{Scenario: s.Verdict}}
	if bo.check != nil {
		v, ok := s.Metrics[bo.check.Metric]
		if !ok {
			out.Verdict, out.Why = Skip, fmt.Sprintf("scenario %s reported no metric %s (%s %s)", s.Name, bo.check.Metric, s.Verdict, firstLine(s.Error))
			return out
		}
		out.Value, out.Verdict = &v, Bad
		if bo.check.Holds(v) {
			out.Verdict = Good
		}
		return out
	}
	switch s.Verdict {
	case results.Pass:
		out.Verdict = Good
	case results.Fail:
		out.Verdict = Bad
	default:
		out.Verdict, out.Why = Skip, fmt.Sprintf("scenario %s: %s %s", s.Name, s.Verdict, firstLine(s.Error))
	}
	return out
}

// policy applies an --on-... choice to a failure the kernel is blamed for.
func (bo *Options) policy(flag string, p Verdict, why string, err error, noRerun bool) runOutcome {
	if p == Abort {
		if err == nil {
			err = errors.New(why)
		}
		return runOutcome{err: fmt.Errorf("%s (%s abort): %w", why, flag, err)}
	}
	return runOutcome{StepRun: StepRun{Verdict: p, Why: why}, noRerun: noRerun}
}

// add counts one run and its stage timings.
func (st *Step) add(run StepRun, res *results.Result) {
	st.Runs = append(st.Runs, run)
	switch run.Verdict {
	case Good:
		st.Good++
	case Bad:
		st.Bad++
	default:
		st.Skipped++
	}
	if res == nil {
		return
	}
	if len(st.Runs) == 1 {
		st.KernelCached = res.Kernel.Cached
	}
	for _, s := range res.Stages {
		switch {
		case s.Name == "kernel":
			st.BuildSeconds += s.Seconds
		case s.Name == "boot":
			st.BootSeconds += s.Seconds
		case s.Name == "scenarios", strings.HasPrefix(s.Name, "trials:"):
			st.ScenarioSeconds += s.Seconds
		}
	}
}

// decide takes the majority of the judged runs; a tie, or no judged run,
// is a skip. Runs that disagree are reported as a split.
func (st *Step) decide() {
	judged := st.Good + st.Bad
	switch {
	case judged == 0:
		st.Verdict = Skip
		if len(st.Runs) > 0 {
			st.Why = st.Runs[0].Why
		}
	case st.Good > st.Bad:
		st.Verdict, st.Confidence = Good, float64(st.Good)/float64(judged)
	case st.Bad > st.Good:
		st.Verdict, st.Confidence = Bad, float64(st.Bad)/float64(judged)
	default:
		st.Verdict, st.Why = Skip, "the runs disagree evenly"
	}
	if st.Good+st.Bad+st.Skipped > max(st.Good, st.Bad, st.Skipped) {
		var parts []string
		for _, p := range []struct {
			n    int
			what string
		}{{st.Good, "good"}, {st.Bad, "bad"}, {st.Skipped, "skip"}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
			}
		}
		st.Split = strings.Join(parts, ", ")
	}
}

func scenarioResult(res *results.Result, name string) *results.Scenario {
	for i := range res.Scenarios {
		if res.Scenarios[i].Name == name {
			return &res.Scenarios[i]
		}
	}
	return nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}
