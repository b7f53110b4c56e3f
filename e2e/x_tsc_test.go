package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/lab"
)

// tscBoots is the boots per kernel of TestTSCCrashContrast.
const tscBoots = 14

// TestTSCCrashContrast boots the kernels configured like patch 01's author's
// (CONFIG_PREEMPT, lockdep, CONFIG_KCOV_SELFTEST) with and without patch
// 01, tscBoots times each: without it some boots must crash in
// sched_clock under preempt_schedule_irq (patch 01's trace), with it none
// may crash, and the difference must be significant (Fisher p < 0.05).
// Each kernel is a full build on an empty cache, so it runs only with
// KCOVLAB_E2E_FULL=1 (make e2e-full) or when both are built.
func TestTSCCrashContrast(t *testing.T) {
	needLab(t)
	with, without := "v2-lockdep-selftest", "v2-no01-lockdep-selftest"
	if os.Getenv("KCOVLAB_E2E_FULL") != "1" && (!built(t, with) || !built(t, without)) {
		t.Skipf("%s and %s are not both built; KCOVLAB_E2E_FULL=1 (make e2e-full) builds them", with, without)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	gate := map[string]*results.Scenario{}
	for _, k := range []string{with, without} {
		o := labOptions(t)
		o.Kernel, o.Scenarios, o.BootRuns = k, []string{"bootgate"}, tscBoots
		res, err := lab.Run(ctx, o)
		if res == nil || err != nil && !errors.Is(err, lab.ErrScenarioFailed) {
			t.Fatalf("%s: %v", k, err)
		}
		gate[k] = &res.Scenarios[0]
		t.Logf("MEASURED %s: boots %g crashes %g on patch 01's path %g, hung %g\n%s", k, gate[k].Metrics["boots"],
			gate[k].Metrics["crashes"], gate[k].Metrics["crashes_patch01"], gate[k].Metrics["timeouts"], strings.Join(gate[k].Evidence, "\n"))
	}
	w, wo := gate[with].Metrics, gate[without].Metrics
	if w["crashes"] != 0 || w["timeouts"] != 0 {
		t.Errorf("%s (patch 01 applied) crashed %g and hung %g times of %d", with, w["crashes"], w["timeouts"], tscBoots)
	}
	if wo["crashes_patch01"] == 0 {
		t.Errorf("%s crashed on patch 01's path in none of %d boots", without, tscBoots)
	}
	ft, err := stats.Fisher(int(wo["crashes_patch01"]), tscBoots, int(w["crashes_patch01"]), tscBoots)
	if err != nil || ft.P >= 0.05 {
		t.Errorf("Fisher p = %g (%v): the contrast is not significant", ft.P, err)
	}
	for _, e := range gate[without].Evidence {
		if strings.Contains(e, "guilty frame: ") && !strings.Contains(e, "sched_clock+0x") {
			t.Errorf("a crash of %s has another guilty frame: %s", without, e)
		}
	}
}
