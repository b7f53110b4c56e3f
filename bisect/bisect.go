// Package bisect is the bisect verb: which commit of a local git tree
// changed a scenario's verdict (or a check on one of its metrics). Bisect
// drives git bisect with one judged step per commit; StepAt is one step,
// for `git bisect run` (kcovlab bisect-step); Kernels lists the commits
// git may ask about with their cache state; MakeTree turns a series into
// commits to bisect (kcovlab bisect-tree); the report is bisect.json and
// bisect.txt.
//
// It owns git bisect's driving, the judging of a step (runs, retries,
// policies) and the report. Each step's runs go through package runs: it
// must not import another verb, nor reach QEMU, SSH or the guest image.
//
// Host needs: git, and what lab.Run needs. Tests (go test -short
// ./bisect/) run over throwaway git trees with a fake run; the real
// bisect is the e2e suite (make e2e).
package bisect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Options configure a bisect: which commit between Good and Bad
// changed a scenario's verdict (or a check on one of its metrics). Each
// step builds the checked-out commit (incrementally, in the tree's one
// build directory; a commit built before comes from the cache), boots it
// and runs the scenario Runs times.
type Options struct {
	// Options of every run. KernelSrc is the git tree to bisect; it is
	// built as it is (no Kernel, Series or Exclude), with Fragments.
	lab.Options
	// Good and Bad are revisions where the scenario passes (the check
	// holds) and where it does not. Either may be the newer one: with Good
	// newer, the bisect finds the first commit where it starts to hold.
	Good, Bad string
	// Scenario is the one scenario that judges a step.
	Scenario string
	// Check, when set, judges on a metric of the scenario instead of its
	// verdict: "errno==0" (==, !=, <, <=, >, >=; numbers).
	Check string
	// Runs per step [1]; a step takes its runs' majority, a tie is a skip.
	Runs int
	// Retries is how often a run the lab itself broke (a *lab.InfraError, a
	// lost SSH session) is run again before the bisect stops [2; -1: never].
	Retries int
	// OnBuildError is the verdict on a commit that does not build [skip].
	OnBuildError Verdict
	// OnBootError is the verdict on a kernel that does not come up to SSH,
	// crashed during boot or not [skip].
	OnBootError Verdict
	// OnCrash is the verdict on a kernel that crashed while the scenario
	// ran [bad: the scenario did not pass].
	OnCrash Verdict
	// Runner does one run [lab.Run]; tests pass a fake.
	Runner func(ctx context.Context, o lab.Options) (*results.Result, error)
	// Parallel is how many of a step's Runs boot at once (--jobs) [1].
	Parallel int

	// built stands in for lab.Built in tests.
	built func(context.Context, lab.Options) (bool, error)

	check *Check
}

// ErrUndecided is returned when git is left with only skipped
// commits: the report lists the candidates the first commit is among.
var ErrUndecided = errors.New("bisect undecided: the change is among commits that could not be judged")

func (bo *Options) defaults() error {
	if err := bo.Options.Defaults(); err != nil {
		return &lab.UsageError{Msg: err.Error()}
	}
	if bo.KernelSrc == "" {
		return &lab.UsageError{Msg: "bisect needs --kernel-src: the git tree to bisect"}
	}
	if bo.Kernel != "" || bo.Series != "" || len(bo.Exclude) > 0 {
		return &lab.UsageError{Msg: "bisect builds --kernel-src as it is: drop --kernel, --series and --exclude (use --fragments for the config; `kcovlab bisect-tree` turns a series into commits)"}
	}
	if bo.Scenario == "" {
		return &lab.UsageError{Msg: "bisect needs --scenario: the scenario that judges each commit"}
	}
	if sc, err := scenarios.Select(bo.Scenario); err != nil {
		return err
	} else if len(sc) != 1 {
		return &lab.UsageError{Msg: fmt.Sprintf("--scenario %s: want exactly one scenario", bo.Scenario)}
	}
	if bo.Check != "" {
		c, err := ParseCheck(bo.Check)
		if err != nil {
			return err
		}
		bo.check = &c
	}
	if bo.Runs == 0 {
		bo.Runs = 1
	}
	switch bo.Retries {
	case 0:
		bo.Retries = 2
	case -1:
		bo.Retries = 0
	}
	if bo.Runs < 0 || bo.Retries < 0 {
		return &lab.UsageError{Msg: fmt.Sprintf("--runs %d, --retries %d: want positive numbers", bo.Runs, bo.Retries)}
	}
	for _, p := range []*Verdict{&bo.OnBuildError, &bo.OnBootError, &bo.OnCrash} {
		if *p == "" {
			*p = Skip
			if p == &bo.OnCrash {
				*p = Bad
			}
		}
	}
	if bo.Runner == nil {
		bo.Runner = lab.Run
	}
	abs, err := filepath.Abs(bo.KernelSrc)
	if err != nil {
		return err
	}
	bo.KernelSrc = abs
	return nil
}

// Bisect finds the first commit between Good and Bad where the scenario's
// verdict (or check) changes. It drives `git bisect` in KernelSrc, which it
// refuses when the tree is dirty or already mid-bisect, and always resets
// the tree at the end (on error and on cancel too). The report is written
// to RESULTS/bisect-ID/bisect.json and bisect.txt and printed to Out. The
// error is ErrUndecided when only skipped commits are left, or says
// why the bisect stopped.
func Bisect(ctx context.Context, bo Options) (*Report, error) {
	start := time.Now()
	repo, err := bo.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := kbuild.CheckTree(repo.Dir); err != nil {
		return nil, err
	}
	if err := repo.Ready(ctx); err != nil {
		return nil, err
	}
	rep, err := bo.newReport(ctx, repo, start)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(rep.Dir, 0o755); err != nil {
		return nil, &lab.InfraError{Stage: "results", Err: err}
	}
	bo.Log.Info("bisect: started", "tree", repo.Dir, "good", short(rep.Good.Commit), "bad", short(rep.Bad.Commit),
		"inverted", rep.Inverted, "commits", rep.InRange, "dir", rep.Dir)
	if ks, err := bo.kernelsOf(ctx, repo, rep.between()); err == nil {
		cached := 0
		for _, k := range ks {
			if k.Cached {
				cached++
			}
		}
		bo.Log.Info("bisect: kernels in the cache", "cached", cached, "of", len(ks))
	}
	err = bo.drive(ctx, repo, rep)
	rep.finish(start, err)
	if werr := rep.write(); werr != nil && err == nil {
		err = &lab.InfraError{Stage: "results", Err: werr}
	}
	rep.Text(bo.Out)
	return rep, err
}

// drive runs git bisect to its end, one step per commit git checks out,
// and resets the tree however it ends.
func (bo *Options) drive(ctx context.Context, repo *gitbisect.Repo, rep *Report) (err error) {
	terms := rep.terms()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if repo.Bisecting(rctx) {
			if rerr := repo.Reset(rctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("git bisect reset (run it by hand in %s): %w", repo.Dir, rerr))
			}
		}
	}()
	newRev, oldRev := rep.Bad.Commit, rep.Good.Commit
	if rep.Inverted {
		newRev, oldRev = oldRev, newRev
	}
	p, err := repo.Start(ctx, terms, newRev, oldRev)
	if err != nil {
		return fmt.Errorf("start bisect: %w", err)
	}
	for n := 1; !p.Done; n++ {
		if n > rep.InRange+2 {
			return &lab.InfraError{Stage: "bisect", Err: fmt.Errorf("git bisect still asks after %d steps over %d commits", n-1, rep.InRange)}
		}
		commit, err := repo.Head(ctx)
		if err != nil {
			return err
		}
		subject, _ := repo.Subject(ctx, commit)
		bo.Log.Info("bisect: step", "n", n, "commit", short(commit), "subject", subject)
		dir := filepath.Join(rep.Dir, fmt.Sprintf("step-%02d-%s", n, short(commit)))
		st, err := bo.step(ctx, repo.Dir, commit, subject, dir)
		if st != nil && (err == nil || len(st.Runs) > 0) {
			rep.Steps = append(rep.Steps, *st)
			rep.write() // a bisect that dies later still leaves its steps
		}
		if err != nil {
			return err
		}
		bo.Log.Info("bisect: judged", "commit", short(commit), "verdict", st.Verdict, "split", st.Split, "why", st.Why)
		if p, err = repo.Mark(ctx, terms, rep.mark(st.Verdict), commit); err != nil {
			return err
		}
	}
	return rep.answer(ctx, repo, p)
}
