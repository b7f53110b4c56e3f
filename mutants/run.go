package mutants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// Options configure a mutation run.
type Options struct {
	// Lab is the template of every run (cache, results, accel, timeouts).
	Lab lab.Options
	// Series is the series the mutants sit on [v2]; the clean kernel is the
	// named kernel of that name.
	Series string
	// Only names the mutants to run [all of the series'].
	Only []string
	// Scenarios run on each kernel [DefaultScenarios].
	Scenarios []string
	// JudgesOnly runs on each mutant only the scenarios that judge it (and
	// smoke for a boot mutant); the clean kernel runs all of them. Faster,
	// but the table then shows no red outside the judges.
	JudgesOnly bool
	// Run makes one run [LabRunner].
	Run Runner
	Log *slog.Logger
	// Out receives the table [discarded].
	Out io.Writer
}

// Verdicts of a mutant.
const (
	Killed   = "killed"
	Survived = "survived"
	// NotJudged: the mutant could not be judged (it did not build, or the
	// lab failed); it counts against the score.
	NotJudged = "not judged"
)

// Row is one mutant's result.
type Row struct {
	Mutant
	Verdict string `json:"verdict"`
	// Red are the scenarios that failed or errored on it ("boot" when the
	// kernel did not come up).
	Red []string `json:"red"`
	// KilledByJudge is the judging scenario that went red, with its evidence.
	Evidence string  `json:"evidence"`
	RunDir   string  `json:"run_dir,omitempty"`
	Cached   bool    `json:"cached"`
	BuildSec float64 `json:"build_seconds"`
	Seconds  float64 `json:"seconds"`
	Error    string  `json:"error,omitempty"`
}

// Report is the whole suite's result.
type Report struct {
	Series    string   `json:"series"`
	Scenarios []string `json:"scenarios"`
	// Baseline is the clean series' kernel on the same scenarios: it must
	// be green for the score to mean anything.
	Baseline     Row    `json:"baseline"`
	BaselineOK   bool   `json:"baseline_green"`
	Rows         []Row  `json:"mutants"`
	Killed       int    `json:"killed"`
	Total        int    `json:"total"`
	Dir          string `json:"dir"`
	StartedAtUTC string `json:"started"`
}

// ErrSurvived is returned when a mutant survived or the baseline was not
// green: the verdicts cannot be trusted as they stand.
var ErrSurvived = errors.New("a mutant survived (or the clean kernel was not green)")

// Run builds and runs the clean kernel, then each mutant, and writes
// mutants.txt and mutants.json into RESULTS/mutants-ID. The error is nil
// only when the baseline is green and every mutant was killed.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Series == "" {
		opts.Series = "v2"
	}
	if len(opts.Scenarios) == 0 {
		opts.Scenarios = DefaultScenarios
	}
	if opts.Run == nil {
		opts.Run = LabRunner
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Lab.Log == nil {
		opts.Lab.Log = opts.Log
	}
	if opts.Lab.ModuleDir == "" {
		dir, err := lab.FindModuleDir()
		if err != nil {
			return nil, &lab.UsageError{Msg: err.Error()}
		}
		opts.Lab.ModuleDir = dir
	}
	if opts.Lab.ResultsDir == "" {
		opts.Lab.ResultsDir = filepath.Join(opts.Lab.ModuleDir, "results")
	}
	if _, err := lab.LookupKernel(opts.Series); err != nil {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("--series %s: %v", opts.Series, err)}
	}
	all, err := List(ctx, opts.Lab.ModuleDir, opts.Series)
	if err != nil {
		return nil, err
	}
	list, err := Select(all, opts.Only)
	if err != nil {
		return nil, err
	}
	if opts.JudgesOnly {
		opts.Scenarios = nil
		for _, m := range list {
			for _, j := range m.judges() {
				if !slices.Contains(opts.Scenarios, j) {
					opts.Scenarios = append(opts.Scenarios, j)
				}
			}
		}
	}
	start := time.Now()
	rep := &Report{Series: opts.Series, Scenarios: opts.Scenarios, Total: len(list), StartedAtUTC: start.UTC().Format(time.RFC3339)}
	rep.Dir = filepath.Join(opts.Lab.ResultsDir, "mutants-"+results.NewRunID(start))
	if err := os.MkdirAll(rep.Dir, 0o755); err != nil {
		return nil, &lab.InfraError{Stage: "results", Err: err}
	}
	opts.Lab.ResultsDir = filepath.Join(rep.Dir, "runs")

	opts.Log.Info("mutants: clean kernel first", "kernel", opts.Series)
	base, err := runOne(ctx, opts, Mutant{Name: "(none: " + opts.Series + ")"})
	rep.Baseline = base
	rep.BaselineOK = err == nil && len(base.Red) == 0 && base.Error == ""
	if err != nil {
		return rep, err
	}
	for i, m := range list {
		opts.Log.Info("mutants: running", "mutant", m.Name, "n", fmt.Sprintf("%d/%d", i+1, len(list)))
		row, err := runOne(ctx, opts, m)
		if err != nil {
			return rep, err
		}
		rep.Rows = append(rep.Rows, row)
		if row.Verdict == Killed {
			rep.Killed++
		}
		opts.Log.Info("mutants: done", "mutant", m.Name, "verdict", row.Verdict, "red", strings.Join(row.Red, ","))
	}
	if err := rep.write(); err != nil {
		return rep, &lab.InfraError{Stage: "results", Err: err}
	}
	rep.Text(opts.Out)
	if !rep.BaselineOK || rep.Killed < rep.Total {
		return rep, ErrSurvived
	}
	return rep, nil
}

// runOne runs one kernel (the clean one when m.Path is empty). Only a
// cancelled context or a usage error stops the suite; a mutant that does
// not build or a lab fault is recorded on its row.
func runOne(ctx context.Context, opts Options, m Mutant) (Row, error) {
	lo := opts.Lab
	lo.Kernel, lo.Series, lo.Mutant = opts.Series, "", m.Path
	lo.Scenarios = opts.Scenarios
	if opts.JudgesOnly && m.Path != "" {
		lo.Scenarios = m.judges()
	}
	row := Row{Mutant: m}
	t := time.Now()
	out, err := opts.Run(ctx, lo)
	row.Seconds = time.Since(t).Seconds()
	if out != nil {
		row.RunDir, row.Cached, row.BuildSec = out.RunDir, out.Cached, out.BuildSecs
	}
	var ue *lab.UsageError
	switch {
	case ctx.Err() != nil:
		return row, ctx.Err()
	case errors.As(err, &ue):
		return row, err
	}
	Judge(&row, out, err)
	return row, nil
}

// Judge sets a row's verdict from its run: killed when a scenario in
// KilledBy failed on the mutant's own invariant (verdict fail; an error
// only when it is not a crash, a lost channel or a timeout), or, for a boot
// mutant, when the kernel did not boot and its console shows a crash.
func Judge(row *Row, out *Outcome, runErr error) {
	var be *lab.BootError
	switch {
	case errors.As(runErr, &be):
		row.Red = []string{BootJudge}
		row.Evidence = "boot: " + be.Reason
		if be.Crash != nil {
			row.Evidence = "boot: " + be.Crash.Title
		}
		if slices.Contains(row.KilledBy, BootJudge) && be.Crash != nil {
			row.Verdict = Killed
		} else {
			row.Verdict = Survived
		}
		return
	case runErr != nil:
		row.Verdict, row.Error = NotJudged, firstLine(runErr.Error())
		return
	}
	row.Verdict = Survived
	var judged []string
	for _, s := range out.Scenarios {
		if s.Verdict != results.Fail && s.Verdict != results.Error {
			continue
		}
		row.Red = append(row.Red, s.Name)
		if !slices.Contains(row.KilledBy, s.Name) || !judging(s) {
			continue
		}
		judged = append(judged, s.Name+": "+s.Evidence)
	}
	if len(judged) > 0 {
		row.Verdict, row.Evidence = Killed, judged[0]
		return
	}
	if len(row.Red) > 0 {
		row.Evidence = "red only outside its judges (" + strings.Join(row.Red, ", ") + ")"
	}
}

// judging is a red verdict that came from a scenario's own check, not from
// the kernel or the lab stopping it.
func judging(s ScenarioVerdict) bool {
	if s.Verdict == results.Fail {
		return true
	}
	switch s.ErrorKind {
	case results.ErrorCrash, results.ErrorChannel, results.ErrorTimeout:
		return false
	}
	return true
}

func (r *Report) write() error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "mutants.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(r.Dir, "mutants.txt"))
	if err != nil {
		return err
	}
	r.Text(f)
	return f.Close()
}
