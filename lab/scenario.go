package lab

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/sshlink"
	"github.com/kcovlab/kcovlab/scenarios"
)

// guestRunner is the part of the SSH client the scenarios need.
type guestRunner interface {
	Output(ctx context.Context, command string) (stdout, stderr []byte, code int, err error)
}

var _ guestRunner = (*sshlink.Client)(nil)

func (r *run) runScenarios(ctx context.Context, g guestRunner) {
	t := time.Now()
	out := filepath.Join(r.dir, "scenarios")
	os.MkdirAll(out, 0o755)
	for _, s := range r.scenarios {
		r.log.Info("scenario: running", "name", s.Name)
		res := runScenario(ctx, g, s, r.opts.ScenarioTimeout, out)
		r.log.Info("scenario: done", "name", s.Name, "verdict", res.Verdict, "seconds", int(res.Seconds))
		r.res.Scenarios = append(r.res.Scenarios, res)
	}
	r.res.AddStage("scenarios", time.Since(t))
}

// runScenario runs one scenario program in the guest and turns what it
// printed into a verdict. Its stdout and stderr are kept in outDir.
func runScenario(ctx context.Context, g guestRunner, s scenarios.Scenario, timeout time.Duration, outDir string) results.Scenario {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stdout, stderr, code, err := g.Output(ctx, s.Command())
	res := results.Scenario{Name: s.Name, ExitCode: code, Seconds: time.Since(start).Seconds()}
	os.WriteFile(filepath.Join(outDir, s.Name+".stdout"), stdout, 0o644)
	os.WriteFile(filepath.Join(outDir, s.Name+".stderr"), stderr, 0o644)
	if err != nil {
		res.Verdict, res.Error = results.Error, (&ScenarioError{Scenario: s.Name, Err: err}).Error()
		return res
	}
	o, perr := scenarios.ParseOutcome(s.Name, stdout)
	switch {
	case perr != nil:
		res.Verdict, res.Error = results.Error, perr.Error()
		if len(stderr) > 0 {
			res.Error += "\nstderr: " + tail(string(stderr), 10)
		}
	case o.Error != "":
		res.Verdict, res.Error = results.Error, o.Error
	case code != 0:
		res.Verdict, res.Error = results.Error, "scenario program exited "+strconv.Itoa(code)
	case o.Pass:
		res.Verdict = results.Pass
	default:
		res.Verdict = results.Fail
	}
	res.Metrics, res.Evidence = o.Metrics, o.Evidence
	return res
}
