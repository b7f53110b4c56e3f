// This file's name sorts after series_test.go: on an empty cache v2 is
// built first, and each mutant is an incremental variant of it.
package e2e

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/mutants"
)

// ciMutants are built and run even on an empty cache: a few minutes each
// (kcov.c and the link). The other mutants run when already built, or all
// of them with KCOVLAB_E2E_FULL=1 (make e2e-full).
var ciMutants = []string{"unique-records-every-hit", "reset-keeps-bitmap", "warn-on-reset", "boot-panic"}

// TestMutants is the mutation suite on v2: the clean kernel must be green
// on every judging scenario and every mutant must be killed by a scenario
// that judges its invariant. A surviving mutant fails the test.
func TestMutants(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	opts := labOptions(t)
	moduleDir, err := lab.FindModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	all, err := mutants.List(ctx, moduleDir, "v2")
	if err != nil {
		t.Fatal(err)
	}
	full := os.Getenv("KCOVLAB_E2E_FULL") == "1"
	var only, skipped []string
	for _, m := range all {
		o := opts
		o.Kernel, o.Mutant = "v2", m.Path
		if ok, _ := lab.Built(ctx, o); ok || full || slices.Contains(ciMutants, m.Name) {
			only = append(only, m.Name)
		} else {
			skipped = append(skipped, m.Name)
		}
	}
	if len(skipped) > 0 {
		t.Logf("not built, run with make e2e-full: %v", skipped)
	}
	var out bytes.Buffer
	rep, err := mutants.Run(ctx, mutants.Options{Lab: opts, Series: "v2", Only: only, JudgesOnly: true, Out: &out, Log: testLogger(t)})
	t.Logf("MEASURED mutants:\n%s", out.String())
	if rep == nil {
		t.Fatal(err)
	}
	if !rep.BaselineOK {
		t.Errorf("clean v2 is not green on the judging scenarios: %v %s", rep.Baseline.Red, rep.Baseline.Error)
	}
	for _, row := range rep.Rows {
		t.Logf("MEASURED mutant=%s verdict=%s red=%v build_s=%.0f cached=%v run_s=%.0f evidence=%q",
			row.Name, row.Verdict, row.Red, row.BuildSec, row.Cached, row.Seconds, row.Evidence)
		if row.Verdict != mutants.Killed {
			t.Errorf("mutant %s (%s) %s: %s %s", row.Name, row.Description, row.Verdict, row.Evidence, row.Error)
		}
	}
	if len(rep.Rows) != len(only) {
		t.Errorf("%d mutants judged, %d asked for", len(rep.Rows), len(only))
	}
}
