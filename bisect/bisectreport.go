package bisect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// Report is bisect.json: what was asked, every step, the answer and
// how to reproduce it.
type Report struct {
	ID   string `json:"id"`
	Dir  string `json:"-"`
	Tree string `json:"tree"`
	// Predicate is what good means: "scenario unique passes" or
	// "errno==0 in scenario unique".
	Predicate string     `json:"predicate"`
	Scenario  string     `json:"scenario"`
	Check     string     `json:"check,omitempty"`
	Runs      int        `json:"runs_per_step"`
	Good      CommitInfo `json:"good"`
	Bad       CommitInfo `json:"bad"`
	// Inverted: the good revision is the newer one, so the bisect looks
	// for the first commit where the predicate holds (git terms
	// broken/fixed) instead of the first where it stops holding.
	Inverted bool `json:"inverted"`
	// InRange counts the commits git may test.
	InRange int    `json:"commits_in_range"`
	Steps   []Step `json:"steps"`
	// First is the answer: the first bad commit (or, inverted, the first
	// good one); FirstIs names it so and FirstMeans says it in words.
	// Candidates replace it when git was left with skipped commits only.
	First      *CommitInfo  `json:"first,omitempty"`
	FirstIs    string       `json:"first_is"`
	FirstMeans string       `json:"first_means"`
	Candidates []CommitInfo `json:"candidates,omitempty"`
	// Confidence is the product, over the steps that were judged, of the
	// share of their runs that agreed with the step's verdict: 1 when every
	// run agreed, lower with each flaky step.
	Confidence float64   `json:"confidence"`
	Reproduce  []string  `json:"reproduce"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	Error      string    `json:"error,omitempty"`

	commits []string // the range, newest first
}

// CommitInfo is a commit and its subject (Rev: the revision as given).
type CommitInfo struct {
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
	Rev     string `json:"rev,omitempty"`
}

func (c CommitInfo) String() string { return short(c.Commit) + " " + c.Subject }

func (bo *Options) newReport(ctx context.Context, repo *gitbisect.Repo, start time.Time) (*Report, error) {
	rep := &Report{
		ID: results.NewRunID(start), Tree: repo.Dir, Scenario: bo.Scenario, Check: bo.Check,
		Runs: bo.Runs, Started: start.UTC(), Predicate: "scenario " + bo.Scenario + " passes",
	}
	holds, stops := "passes", "stops passing"
	what := "scenario " + bo.Scenario
	if bo.check != nil {
		rep.Predicate = bo.check.String() + " in scenario " + bo.Scenario
		holds, stops, what = "holds", "stops holding", bo.check.String()+" (scenario "+bo.Scenario+")"
	}
	rep.Dir = filepath.Join(bo.ResultsDir, "bisect-"+rep.ID)
	for _, c := range []struct {
		flag, rev string
		to        *CommitInfo
	}{{"--good", bo.Good, &rep.Good}, {"--bad", bo.Bad, &rep.Bad}} {
		if c.rev == "" {
			return nil, &lab.UsageError{Msg: "bisect needs " + c.flag + " REV"}
		}
		h, err := repo.Resolve(ctx, c.rev)
		if err != nil {
			return nil, &lab.UsageError{Msg: c.flag + ": " + err.Error()}
		}
		subject, _ := repo.Subject(ctx, h)
		*c.to = CommitInfo{Commit: h, Subject: subject, Rev: c.rev}
	}
	if rep.Good.Commit == rep.Bad.Commit {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("--good %s and --bad %s are the same commit", bo.Good, bo.Bad)}
	}
	goodFirst, err := repo.IsAncestor(ctx, rep.Good.Commit, rep.Bad.Commit)
	if err != nil {
		return nil, err
	}
	badFirst, err := repo.IsAncestor(ctx, rep.Bad.Commit, rep.Good.Commit)
	if err != nil {
		return nil, err
	}
	rep.Inverted = badFirst && !goodFirst
	rep.FirstIs, rep.FirstMeans = "first bad commit", "the first commit where "+what+" "+stops
	newRev, oldRev := rep.Bad.Commit, rep.Good.Commit
	if rep.Inverted {
		rep.FirstIs, rep.FirstMeans = "first good commit", "the first commit where "+what+" "+holds
		newRev, oldRev = oldRev, newRev
	}
	commits, err := repo.Commits(ctx, newRev, oldRev)
	if err != nil {
		return nil, err
	}
	rep.InRange, rep.commits = len(commits), commits
	rep.Reproduce = bo.reproduce(rep)
	return rep, nil
}

// between are the commits git may ask about: the range without its new end.
func (rep *Report) between() []string {
	if len(rep.commits) < 2 {
		return nil
	}
	return rep.commits[1:]
}

// terms are git's words for this bisect.
func (rep *Report) terms() gitbisect.Terms {
	if rep.Inverted {
		return gitbisect.FixTerms
	}
	return gitbisect.DefaultTerms
}

// mark is git's word for a step's verdict.
func (rep *Report) mark(v Verdict) string {
	t := rep.terms()
	switch {
	case v == Skip:
		return gitbisect.Skip
	case (v == Good) != rep.Inverted:
		return t.Old
	}
	return t.New
}

// answer records what git concluded.
func (rep *Report) answer(ctx context.Context, repo *gitbisect.Repo, p gitbisect.Progress) error {
	subject := func(c string) CommitInfo {
		s, _ := repo.Subject(ctx, c)
		return CommitInfo{Commit: c, Subject: s}
	}
	if p.First != "" {
		c := subject(p.First)
		rep.First = &c
		return nil
	}
	for _, c := range p.Candidates {
		rep.Candidates = append(rep.Candidates, subject(c))
	}
	return ErrUndecided
}

func (rep *Report) finish(start time.Time, err error) {
	rep.Seconds = time.Since(start).Seconds()
	if err != nil && !errors.Is(err, ErrUndecided) {
		rep.Error = err.Error()
	}
	rep.Confidence = 1
	for _, st := range rep.Steps {
		if st.Verdict != Skip {
			rep.Confidence *= st.Confidence
		}
	}
}

// write saves bisect.json and bisect.txt.
func (rep *Report) write() error {
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rep.Dir, "bisect.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(rep.Dir, "bisect.txt"))
	if err != nil {
		return err
	}
	rep.Text(f)
	return f.Close()
}

// Text writes the report for people: the question, one line per step, the
// answer and the commands that reproduce it.
func (rep *Report) Text(w io.Writer) {
	fmt.Fprintf(w, "bisect %s: %s, %d run(s) per step\n", rep.ID, rep.Predicate, rep.Runs)
	fmt.Fprintf(w, "tree %s\n  good %s\n  bad  %s\n", rep.Tree, rep.Good, rep.Bad)
	if rep.Inverted {
		fmt.Fprintf(w, "  the good revision is the newer one: looking for %s\n", rep.FirstMeans)
	}
	fmt.Fprintf(w, "  %d commits in range, %d steps\n\n", rep.InRange, len(rep.Steps))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tcommit\tverdict\truns\tbuild\tboot\tscenario\tkernel\tsubject")
	for i, st := range rep.Steps {
		runs := st.Split
		if runs == "" {
			runs = strconv.Itoa(len(st.Runs)) + " " + string(st.Verdict)
		}
		kernel := "built"
		switch {
		case st.KernelFailed:
			kernel = "failed"
		case st.KernelCached:
			kernel = "cached"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0fs\t%.1fs\t%.1fs\t%s\t%s\n", i+1, short(st.Commit), st.Verdict, runs,
			st.BuildSeconds, st.BootSeconds, st.ScenarioSeconds, kernel, st.Subject)
	}
	tw.Flush()
	for i, st := range rep.Steps {
		if st.Why != "" {
			fmt.Fprintf(w, "  step %d %s: %s\n", i+1, st.Verdict, st.Why)
		}
	}
	fmt.Fprintln(w)
	rep.answerText(w)
	fmt.Fprintln(w, "\nreproduce:")
	for _, c := range rep.Reproduce {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

func (rep *Report) answerText(w io.Writer) {
	switch {
	case rep.First != nil:
		fmt.Fprintf(w, "%s: %s %s\n  (%s)\n", rep.FirstIs, rep.First.Commit, rep.First.Subject, rep.FirstMeans)
		fmt.Fprintf(w, "confidence: %.2f (product over the judged steps of the share of runs that agreed)\n", rep.Confidence)
	case len(rep.Candidates) > 0:
		fmt.Fprintf(w, "undecided: the %s (%s) is one of these, which could not all be judged:\n", rep.FirstIs, rep.FirstMeans)
		for _, c := range rep.Candidates {
			fmt.Fprintf(w, "  %s %s\n", c.Commit, c.Subject)
		}
	default:
		fmt.Fprintf(w, "no answer: %s\n", rep.Error)
	}
}

// reproduce is the kcovlab command of this bisect and the plain git
// commands that do the same with `git bisect run`.
func (bo *Options) reproduce(rep *Report) []string {
	step := bo.stepArgs()
	kcov := append([]string{"kcovlab", "bisect", "--kernel-src", rep.Tree, "--good", rep.Good.Commit, "--bad", rep.Bad.Commit}, step...)
	newRev, oldRev := rep.Bad.Commit, rep.Good.Commit
	run := append([]string{"kcovlab", "bisect-step", "--kernel-src", rep.Tree}, step...)
	if rep.Inverted {
		newRev, oldRev = oldRev, newRev
		run = append(run, "--invert")
	}
	return []string{
		proc.Quote(kcov),
		proc.Quote(gitbisect.StartArgv(rep.Tree, rep.terms(), newRev, oldRev)),
		proc.Quote(gitbisect.RunArgv(rep.Tree, run)),
		proc.Quote(gitbisect.ResetArgv(rep.Tree)),
	}
}

// stepArgs are the flags that make `kcovlab bisect-step` judge a commit
// the way this bisect does (defaults left out).
func (bo *Options) stepArgs() []string {
	args := []string{"--src", bo.ModuleDir, "--scenario", bo.Scenario}
	add := func(flag, v, def string) {
		if v != def {
			args = append(args, flag, v)
		}
	}
	add("--check", bo.Check, "")
	add("--runs", strconv.Itoa(bo.Runs), "1")
	add("--retries", strconv.Itoa(bo.Retries), "2")
	add("--fragments", strings.Join(bo.Fragments, ","), "")
	add("--on-build-error", string(bo.OnBuildError), string(Skip))
	add("--on-boot-error", string(bo.OnBootError), string(Skip))
	add("--on-crash", string(bo.OnCrash), string(Bad))
	add("--cache", bo.CacheDir, lab.DefaultCacheDir())
	add("--accel", bo.Accel, "auto")
	return args
}
