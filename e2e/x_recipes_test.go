// This file's name sorts after series_test.go on purpose: go test runs a
// package's tests in file order, so on an empty cache the kernels the
// recipes fall back to (vanilla, v2) are built by TestSeriesKernels first.
package e2e

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/ask"
	"github.com/kcovlab/kcovlab/internal/callsites"
)

// askCase is one recipe run end to end. kernels replace the recipe's when
// set; fallback replaces them when the recipe's own are not built (on a
// new machine CI builds vanilla and v2 only).
type askCase struct {
	recipe   string
	runs     int
	fallback []string
	check    func(t *testing.T, ans *ask.Answer)
}

var askCases = []askCase{
	{recipe: "guard-size", fallback: []string{"vanilla", "v2"}, check: checkGuardScan},
	{recipe: "edges-vs-nodes", fallback: []string{"vanilla", "v2"}, check: checkGuardScan},
	{recipe: "overflow", runs: 1, check: func(t *testing.T, ans *ask.Answer) {
		d := ans.Data.(map[string][]float64)
		if len(d["trace_overflows"]) != 1 || d["trace_overflows"][0] <= d["unique_overflows"][0] {
			t.Errorf("trace overflows %v, unique %v: unique mode must overflow less", d["trace_overflows"], d["unique_overflows"])
		}
	}},
	{recipe: "tsc-noise", check: func(t *testing.T, ans *ask.Answer) {
		all := strings.Join(ans.Findings, "\n")
		if !strings.HasPrefix(all, "without patch 01: ") || strings.HasPrefix(all, "without patch 01: 0 of") {
			t.Errorf("the answer does not lead with a reproduced crash:\n%s", all)
		}
		for _, w := range []string{"two-sided Fisher's exact test, 14 vs 14 boots", "two-sided Mann-Whitney U, 5 vs 5 runs", "v2-lockdep-selftest: ", "passed kernel/kcov.c:"} {
			if !strings.Contains(all, w) {
				t.Errorf("findings lack %q", w)
			}
		}
	}},
	{recipe: "v2-vs-v4", runs: 1, check: func(t *testing.T, ans *ask.Answer) {
		all := strings.Join(ans.Findings, "\n")
		for _, sc := range []string{"unique", "ioctl", "reset", "overflow", "kselftest"} {
			if !strings.Contains(all, sc) {
				t.Errorf("findings do not mention %s", sc)
			}
		}
	}},
}

// checkGuardScan checks the scan's invariants on the real vmlinux: the
// guard kernel has one 4-byte guard per guard call site, each site loads
// its own, and the trace-pc kernel calls the other hook only.
func checkGuardScan(t *testing.T, ans *ask.Answer) {
	d := ans.Data.(map[string]*callsites.Report)
	with, without := d["with"], d["without"]
	if with.Guards == nil || !with.Guards.Match || !with.Guards.OneToOne || with.Guards.Count == 0 {
		t.Errorf("guards %+v: want one per call site", with.Guards)
	}
	if without.Hook(callsites.TracePC).Sites == 0 || without.Hook(callsites.TracePCGuard).Sites != 0 || with.Hook(callsites.TracePC).Sites != 0 {
		t.Errorf("hooks: %s pc %d guard %d; %s pc %d", without.Name, without.Hook(callsites.TracePC).Sites,
			without.Hook(callsites.TracePCGuard).Sites, with.Name, with.Hook(callsites.TracePC).Sites)
	}
}

// TestAskRecipes answers every recipe on real kernels. A recipe whose
// kernels are not built (from today's inputs) uses its fallback or is
// skipped unless KCOVLAB_E2E_FULL=1 (make e2e-full), which builds them.
func TestAskRecipes(t *testing.T) {
	needLab(t)
	for _, tc := range askCases {
		t.Run(tc.recipe, func(t *testing.T) {
			rec, err := ask.LookupRecipe(tc.recipe)
			if err != nil {
				t.Fatal(err)
			}
			ao := ask.Options{Options: labOptions(t), Recipe: tc.recipe, Runs: tc.runs}
			if missing := unbuilt(t, rec.Kernels); len(missing) > 0 && os.Getenv("KCOVLAB_E2E_FULL") != "1" {
				if tc.fallback == nil || len(unbuilt(t, tc.fallback)) > 0 {
					t.Skipf("%v not built yet; KCOVLAB_E2E_FULL=1 (make e2e-full) builds them", missing)
				}
				ao.Kernels = tc.fallback
			}
			var out bytes.Buffer
			ao.Out = &out
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
			defer cancel()
			ans, err := ask.Ask(ctx, ao)
			t.Logf("MEASURED ask %s:\n%s", tc.recipe, out.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(ans.Findings) == 0 || len(ans.Kernels) == 0 || !strings.HasPrefix(ans.Commands[0], "kcovlab ask "+tc.recipe) {
				t.Errorf("answer: %d findings, %d kernels, commands %q", len(ans.Findings), len(ans.Kernels), ans.Commands)
			}
			tc.check(t, ans)
		})
	}
}

func unbuilt(t *testing.T, kernels []string) []string {
	var out []string
	for _, k := range kernels {
		if !built(t, k) {
			out = append(out, k)
		}
	}
	return out
}
