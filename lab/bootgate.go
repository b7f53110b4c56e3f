package lab

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// bootTrial is one boot of a boot-gate scenario: it passes when the guest
// comes up to SSH, fails with the crash and its guilty frame when the
// kernel dies on the way. Kernels without CONFIG_KCOV_SELFTEST skip it.
func (r *run) bootTrial(ctx context.Context, s scenarios.Scenario, console string) (results.Scenario, error) {
	res := results.Scenario{Name: s.Name, Metrics: map[string]float64{"boots": 1}}
	if cfg, _ := os.ReadFile(r.kernel.Config); !strings.Contains(string(cfg), "\nCONFIG_KCOV_SELFTEST=y\n") {
		res.Verdict, res.Error = results.Skip, "the kernel is not built with CONFIG_KCOV_SELFTEST"
		return res, nil
	}
	g, err := r.startGuest(ctx, console)
	var be *BootError
	switch {
	case err == nil:
		r.stopGuest(ctx, g, true)
		res.Verdict = results.Pass
	case errors.As(err, &be) && be.Timeout:
		// A kernel that hung with no crash on the console: not a crash.
		res.Verdict, res.Metrics["timeouts"] = results.Fail, 1
		res.Error = be.Reason
	case errors.As(err, &be):
		res.Verdict, res.Metrics["crashes"] = results.Fail, 1
		res.Error = be.Reason
		if be.Crash != nil {
			res.Error = be.Crash.Title
			res.Evidence = []string{"crash: " + be.Crash.Title, "guilty frame: " + be.Crash.Guilty}
		}
	default:
		// The lab's failure (QEMU killed, a port clash) or a cancellation:
		// the run stops, nothing is counted against the kernel.
		return res, err
	}
	return res, nil
}
