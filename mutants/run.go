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
	"sync"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
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
	// Parallel is how many runs boot at once (--jobs) [1].
	Parallel int
	// Run makes one run [lab.Run]; tests pass a fake.
	Run runs.RunFunc
	// built stands in for lab.Built in tests.
	built func(context.Context, lab.Options) (bool, error)
	Log   *slog.Logger
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
		opts.Run = lab.Run
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

	opts.Log.Info("mutants: clean kernel first", "kernel", opts.Series, "mutants", len(list))
	if err := runAll(ctx, opts, rep, list); err != nil {
		return rep, err
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

// runAll runs the clean kernel and then each mutant through one batch
// (Parallel runs at once, one kernel build at a time) and fills in rep's
// rows in list order. Only a cancelled context or a usage error stops the
// suite; a mutant that does not build or a lab fault is recorded on its
// row.
func runAll(ctx context.Context, opts Options, rep *Report, list []Mutant) error {
	all := append([]Mutant{{Name: "(none: " + opts.Series + ")"}}, list...)
	reqs := make([]runs.Request, len(all))
	for i, m := range all {
		lo := opts.Lab
		lo.Kernel, lo.Series, lo.Mutant = opts.Series, "", m.Path
		lo.Scenarios = opts.Scenarios
		if opts.JudgesOnly && m.Path != "" {
			lo.Scenarios = m.judges()
		}
		reqs[i] = runs.Request{Label: m.Name, Options: lo}
	}
	var mu sync.Mutex
	took := map[string]time.Duration{} // by mutant path ("" the clean kernel)
	run := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		t := time.Now()
		res, err := opts.Run(ctx, o)
		mu.Lock()
		took[o.Mutant] = time.Since(t)
		mu.Unlock()
		return res, err
	}
	b := runs.Batch{Run: run, Parallel: opts.Parallel, Built: opts.built,
		Start: func(i int, req runs.Request) {
			if i > 0 {
				opts.Log.Info("mutants: running", "mutant", req.Label, "n", fmt.Sprintf("%d/%d", i, len(list)))
			}
		},
		Done: func(o runs.Outcome) error {
			row := Row{Mutant: all[o.Index]}
			mu.Lock()
			row.Seconds = took[row.Path].Seconds()
			mu.Unlock()
			out, err := outcomeOf(o.Options, o.Result, o.Err)
			if out != nil {
				row.RunDir, row.Cached, row.BuildSec = out.RunDir, out.Cached, out.BuildSecs
			}
			var ue *lab.UsageError
			if errors.As(err, &ue) {
				return err
			}
			if ctx.Err() != nil {
				return nil // cancelled: the suite stops unjudged
			}
			Judge(&row, out, err)
			if o.Index == 0 {
				rep.Baseline = row
				rep.BaselineOK = err == nil && len(row.Red) == 0 && row.Error == ""
				return nil
			}
			rep.Rows = append(rep.Rows, row)
			if row.Verdict == Killed {
				rep.Killed++
			}
			opts.Log.Info("mutants: done", "mutant", row.Name, "verdict", row.Verdict, "red", strings.Join(row.Red, ","))
			return nil
		},
	}
	_, err := b.Do(ctx, reqs)
	return err
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
