package lab

import (
	"context"
	"errors"
	"os"
	"regexp"
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
			res.Evidence = []string{"crash: " + be.Crash.Title, "guilty frame: " + GuiltyFrame(be.Crash.Report)}
		}
	default:
		// The lab's failure (QEMU killed, a port clash) or a cancellation:
		// the run stops, nothing is counted against the kernel.
		return res, err
	}
	return res, nil
}

var frameLine = regexp.MustCompile(`^\s*(?:\[\s*[\d.]+\]\s*)?(?:RIP: \d+:)?\s*([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+`)

// kcovFrames are KCOV's own functions: the crash happens inside them, the
// guilty frame is the instrumented caller.
var kcovFrames = regexp.MustCompile(`^(__sanitizer_cov_|kcov_|check_kcov_mode|write_comp_data|__kcov)`)

// GuiltyFrame returns the first reliable frame of a crash report (RIP line
// first; "?" frames skipped)
// that is not KCOV itself: the instrumented code that called into KCOV.
func GuiltyFrame(report string) string {
	for _, line := range strings.Split(report, "\n") {
		m := frameLine.FindStringSubmatch(line)
		if m == nil || kcovFrames.MatchString(m[1]) {
			continue
		}
		return m[1]
	}
	return "unknown"
}
