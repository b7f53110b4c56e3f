package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// splitFresh separates scenarios that run in the shared guest from those
// that need a fresh boot per trial.
func splitFresh(list []scenarios.Scenario) (plain, fresh []scenarios.Scenario) {
	for _, s := range list {
		if s.FreshBoots > 0 {
			fresh = append(fresh, s)
		} else {
			plain = append(plain, s)
		}
	}
	return plain, fresh
}

// runTrials boots a fresh guest for each trial of s (its state, e.g. KCOV
// guard indices, is assigned once per boot) and folds the trials into one
// result: metrics summed, per-trial evidence, pass only if every trial passed.
func (r *run) runTrials(ctx context.Context, s scenarios.Scenario) error {
	t := time.Now()
	env := r.scenarioEnv(ctx)
	var trials []results.Scenario
	n := s.FreshBoots
	if s.Format == scenarios.FormatBoot && r.opts.BootRuns > 0 {
		n = r.opts.BootRuns
	}
	for k := 1; k <= n; k++ {
		console := trialConsole(s.Name, k)
		if s.Format == scenarios.FormatBoot {
			res, err := r.bootTrial(ctx, s, console)
			if err != nil {
				return err
			}
			trials = append(trials, res)
			if res.Verdict == results.Skip {
				break
			}
			continue
		}
		g, ahead, err := r.pre.take(s.Name, k)
		if !ahead {
			g, err = r.startGuest(ctx, console)
		}
		if err != nil {
			return err
		}
		env.extraArgs = fmt.Sprintf(" -trial=%d", k)
		mark := markConsole(g.console)
		res := runScenario(ctx, g.client, s, env)
		judgeConsole(&res, mark.since(), env)
		if crash := g.crashedAfter(ctx, res); crash != nil {
			res.Verdict, res.ErrorKind, res.Error = results.Error, results.ErrorCrash, "kernel crashed: "+crash.Title
		}
		if g.lost != nil {
			r.stopGuest(ctx, g, false)
			return &InfraError{Stage: "vm", Err: g.lost}
		}
		r.stopGuest(ctx, g, true)
		r.log.Info("scenario: trial done", "name", s.Name, "trial", k, "verdict", res.Verdict)
		trials = append(trials, res)
	}
	r.res.Scenarios = append(r.res.Scenarios, foldTrials(s.Name, trials))
	r.res.AddStage("trials:"+s.Name, time.Since(t))
	return nil
}

func foldTrials(name string, trials []results.Scenario) results.Scenario {
	out := results.Scenario{Name: name, Verdict: results.Pass, Metrics: map[string]float64{"trials": float64(len(trials))}}
	var errs []string
	for i, tr := range trials {
		for k, v := range tr.Metrics {
			out.Metrics[k] += v
		}
		out.Seconds += tr.Seconds
		if tr.Verdict != results.Pass && tr.Verdict != results.Skip {
			out.Metrics["trials_failed"]++
			errs = append(errs, fmt.Sprintf("trial %d: %s %s", i+1, tr.Verdict, tr.Error))
		}
		if out.ErrorKind == "" || tr.ErrorKind == results.ErrorCrash {
			out.ErrorKind = tr.ErrorKind // a crash in any trial is the fold's kind
		}
		for _, e := range tr.Evidence {
			out.Evidence = append(out.Evidence, fmt.Sprintf("trial %d: %s", i+1, e))
		}
		out.Verdict = worse(out.Verdict, tr.Verdict)
	}
	out.Error = strings.Join(errs, "\n")
	if len(trials) > 0 && allSkipped(trials) {
		out.Verdict, out.Error = results.Skip, trials[0].Error
	}
	return out
}

// worse orders verdicts: error beats fail beats pass; skip counts as pass.
func worse(a, b string) string {
	rank := map[string]int{results.Pass: 0, results.Skip: 0, results.Fail: 1, results.Error: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func allSkipped(trials []results.Scenario) bool {
	for _, t := range trials {
		if t.Verdict != results.Skip {
			return false
		}
	}
	return true
}
