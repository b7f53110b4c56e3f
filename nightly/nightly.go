// Package nightly is the nightly verb: every kernel with every scenario
// into RESULTS/nightly-DATE, the combined JUnit/KTAP/HTML there, and the
// comparison with the previous nightly.
//
// It owns the choice of kernels, the dated directory and the verdict of a
// night. It asks for runs through package runs only: it must not import
// another verb, nor reach QEMU, SSH, the guest image or the kernel build.
//
// Host needs: those of lab.Run. The real nightly is the e2e suite (make
// e2e); go test -short ./nightly/ runs it on a fake lab (runs/runstest).
package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Options configure a nightly: every kernel x every scenario.
type Options struct {
	lab.Options
	// Kernels to run [every named kernel].
	Kernels []string
	// Tolerance is the relative change of a metric that counts as moved [0.10].
	Tolerance float64
	// Parallel is how many kernels' runs boot at once (--jobs) [1].
	Parallel int

	// run and built stand in for lab.Run and lab.Built in tests.
	run   runs.RunFunc
	built func(context.Context, lab.Options) (bool, error)
}

// Result is what a nightly leaves in its dated directory.
type Result struct {
	Dir  string
	Runs []*results.Result
	// Prev is the previous nightly compared with ("" for the first one).
	Prev string
	Diff *report.Diff
	// Infra lists kernels whose run the lab itself could not finish.
	Infra []string
}

const nightlyPrefix = "nightly-"

// Nightly runs every kernel with every scenario into RESULTS/nightly-DATE,
// writes the combined JUnit/KTAP/HTML there and compares with the newest
// earlier nightly in the same results root. The error is lab.ErrScenarioFailed
// when a scenario failed or a new failure appeared, an *lab.InfraError when a
// kernel's run could not finish, nil when everything passed.
func Nightly(ctx context.Context, no Options) (*Result, error) {
	reqs, err := no.requests()
	if err != nil {
		return nil, err
	}
	root := no.ResultsDir
	nr := &Result{Dir: filepath.Join(root, nightlyPrefix+time.Now().UTC().Format("20060102-150405"))}
	nr.Prev = previousNightly(root, nr.Dir)
	for i := range reqs {
		reqs[i].Options.ResultsDir = nr.Dir
	}
	b := runs.Batch{Parallel: no.Parallel, Run: no.run, Built: no.built,
		Start: func(_ int, req runs.Request) { no.Log.Info("nightly: kernel", "name", req.Label) },
		Done: func(out runs.Outcome) error {
			if out.Result != nil {
				nr.Runs = append(nr.Runs, out.Result)
			}
			if out.Err != nil && !errors.Is(out.Err, lab.ErrScenarioFailed) {
				nr.Infra = append(nr.Infra, out.Label)
				no.Log.Error("nightly: kernel did not finish", "name", out.Label, "err", out.Err)
			}
			return nil
		},
	}
	if _, err := b.Do(ctx, reqs); err != nil {
		return nr, err
	}
	return nr, nr.finish(no)
}

func (nr *Result) finish(no Options) error {
	if len(nr.Runs) == 0 {
		return &lab.InfraError{Stage: "nightly", Err: errors.New("no kernel run started")}
	}
	if err := report.WriteRunDir(nr.Dir, nr.Runs); err != nil {
		return &lab.InfraError{Stage: "nightly", Err: err}
	}
	report.Summary(no.Out, nr.Runs, no.Color)
	if nr.Prev != "" {
		prev, err := report.Load(nr.Prev)
		if err == nil {
			nr.Diff = report.Compare(prev, nr.Runs, report.Tolerance{Relative: no.Tolerance})
			fmt.Fprintf(no.Out, "compared with %s:\n", nr.Prev)
			nr.Diff.Write(no.Out)
			raw, _ := json.MarshalIndent(nr.Diff, "", "  ")
			os.WriteFile(filepath.Join(nr.Dir, "comparison.json"), raw, 0o644)
		}
	}
	fmt.Fprintf(no.Out, "nightly: %s\n", nr.Dir)
	switch {
	case len(nr.Infra) > 0:
		return &lab.InfraError{Stage: "nightly", Err: fmt.Errorf("kernels that did not finish: %s", strings.Join(nr.Infra, ", "))}
	case nr.Diff != nil && nr.Diff.Regressed():
		return lab.ErrScenarioFailed
	}
	for _, r := range nr.Runs {
		if !r.Passed() {
			return lab.ErrScenarioFailed
		}
	}
	return nil
}

// requests are the nightly's runs, one per kernel with every scenario: the
// list Nightly runs here and Plan cuts into jobs for other machines. They
// fill in no's defaults.
func (no *Options) requests() ([]runs.Request, error) {
	if len(no.Scenarios) == 0 {
		no.Scenarios = scenarios.Names()
	}
	if err := no.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if len(no.Kernels) == 0 {
		no.Kernels = lab.NightlyKernels()
	}
	if no.Tolerance == 0 {
		no.Tolerance = 0.10
	}
	var reqs []runs.Request
	for _, k := range no.Kernels {
		o := no.Options
		o.Kernel = k
		reqs = append(reqs, runs.Request{Label: k, Options: o})
	}
	return reqs, nil
}

// previousNightly is the newest nightly directory in root other than cur.
func previousNightly(root, cur string) string {
	dirs, _ := filepath.Glob(filepath.Join(root, nightlyPrefix+"*"))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if dirs[i] == cur {
			continue
		}
		if _, err := report.Load(dirs[i]); err == nil {
			return dirs[i]
		}
	}
	return ""
}
