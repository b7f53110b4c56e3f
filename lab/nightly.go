package lab

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
	"github.com/kcovlab/kcovlab/scenarios"
)

// NightlyOptions configure a nightly: every kernel x every scenario.
type NightlyOptions struct {
	Options
	// Kernels to run [every named kernel].
	Kernels []string
	// Tolerance is the relative change of a metric that counts as moved [0.10].
	Tolerance float64
}

// NightlyResult is what a nightly leaves in its dated directory.
type NightlyResult struct {
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
// earlier nightly in the same results root. The error is ErrScenarioFailed
// when a scenario failed or a new failure appeared, an *InfraError when a
// kernel's run could not finish, nil when everything passed.
func Nightly(ctx context.Context, no NightlyOptions) (*NightlyResult, error) {
	if len(no.Scenarios) == 0 {
		no.Scenarios = scenarios.Names()
	}
	if err := no.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	if len(no.Kernels) == 0 {
		no.Kernels = KernelNames()
	}
	if no.Tolerance == 0 {
		no.Tolerance = 0.10
	}
	root := no.ResultsDir
	nr := &NightlyResult{Dir: filepath.Join(root, nightlyPrefix+time.Now().UTC().Format("20060102-150405"))}
	nr.Prev = previousNightly(root, nr.Dir)
	for _, k := range no.Kernels {
		o := no.Options
		o.Kernel, o.ResultsDir = k, nr.Dir
		no.Log.Info("nightly: kernel", "name", k)
		res, err := Run(ctx, o)
		if res != nil {
			nr.Runs = append(nr.Runs, res)
		}
		if err != nil && !errors.Is(err, ErrScenarioFailed) {
			nr.Infra = append(nr.Infra, k)
			no.Log.Error("nightly: kernel did not finish", "name", k, "err", err)
		}
		if ctx.Err() != nil {
			return nr, ctx.Err()
		}
	}
	return nr, nr.finish(no)
}

func (nr *NightlyResult) finish(no NightlyOptions) error {
	if len(nr.Runs) == 0 {
		return &InfraError{Stage: "nightly", Err: errors.New("no kernel run started")}
	}
	if err := report.WriteRunDir(nr.Dir, nr.Runs); err != nil {
		return &InfraError{Stage: "nightly", Err: err}
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
		return &InfraError{Stage: "nightly", Err: fmt.Errorf("kernels that did not finish: %s", strings.Join(nr.Infra, ", "))}
	case nr.Diff != nil && nr.Diff.Regressed():
		return ErrScenarioFailed
	}
	for _, r := range nr.Runs {
		if !r.Passed() {
			return ErrScenarioFailed
		}
	}
	return nil
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
