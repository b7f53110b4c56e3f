// Package e2e is kcovlab's end-to-end suite: real kernel builds, real QEMU
// guests, real KCOV. Run it with `make e2e` (KCOVLAB_E2E=1); under
// `go test -short` it skips. It uses the lab's normal cache
// ($KCOVLAB_CACHE or ~/.cache/kcovlab), so a warm machine reuses kernels.
package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

func needLab(t *testing.T) {
	t.Helper()
	testutil.NeedE2E(t)
	testutil.NeedQEMU(t)
	testutil.NeedCommands(t, "make", "go", "flex", "bison", "tar")
	testutil.NeedFile(t, kbuild.DefaultTarball)
}

func labOptions(t *testing.T) lab.Options {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "results")
	testutil.CheckResultsUnder(t, dir)
	return lab.Options{ResultsDir: dir, Log: testLogger(t)}
}

// TestSmokeRun is the walking skeleton end to end: build (or find) the KCOV
// kernel, build the image, boot, run smoke, and check what it measured; then
// run again and check that nothing was rebuilt.
func TestSmokeRun(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Minute)
	defer cancel()

	opts := labOptions(t)
	var out bytes.Buffer
	opts.Out = &out
	first, err := lab.Run(ctx, opts)
	t.Logf("summary:\n%s", out.String())
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	checkSmoke(t, first)
	runDir := filepath.Join(opts.ResultsDir, first.RunID)
	for _, f := range []string{"result.json", "console.log", "qemu.argv", "scenarios/smoke.stdout"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run dir lacks %s: %v", f, err)
		}
	}
	back, err := results.Read(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if back.RunID != first.RunID || len(back.Scenarios) != 1 {
		t.Errorf("result.json does not hold the run: %+v", back)
	}
	boot, _ := first.Stage("boot")
	t.Logf("MEASURED kernel_build_s=%.1f kernel_cached=%v image_cached=%v boot_to_ssh_s=%.1f accel=%s pcs=%v",
		first.Kernel.BuildSeconds, first.Kernel.Cached, first.Image.Cached, boot, first.Accel, first.Scenarios[0].Metrics["pcs"])

	second, err := lab.Run(ctx, opts)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !second.Kernel.Cached || !second.Image.Cached {
		t.Errorf("second run rebuilt: kernel cached %v, image cached %v", second.Kernel.Cached, second.Image.Cached)
	}
	if second.Kernel.Key != first.Kernel.Key {
		t.Errorf("kernel key changed between identical runs: %s -> %s", first.Kernel.Key, second.Kernel.Key)
	}
	kernelSecs, _ := second.Stage("kernel")
	total, _ := second.Stage("total")
	t.Logf("MEASURED cached_kernel_stage_s=%.2f cached_run_total_s=%.1f", kernelSecs, total)
	checkSmoke(t, second)
}

func checkSmoke(t *testing.T, r *results.Result) {
	t.Helper()
	if len(r.Scenarios) != 1 || r.Scenarios[0].Name != "smoke" {
		t.Fatalf("scenarios = %+v, want smoke", r.Scenarios)
	}
	s := r.Scenarios[0]
	if s.Verdict != results.Pass {
		t.Fatalf("smoke verdict %s: %s", s.Verdict, s.Error)
	}
	if s.Metrics["pcs"] <= 0 || s.Metrics["unique_pcs"] <= 0 {
		t.Errorf("smoke saw no coverage: %v", s.Metrics)
	}
	if r.Accel != "tcg" && r.Accel != "kvm" {
		t.Errorf("accel = %q", r.Accel)
	}
	if r.AccelReason == "" {
		t.Error("the run does not say why it chose its accelerator")
	}
}
