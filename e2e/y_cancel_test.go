// This file's name sorts after series_test.go and x_mutants_test.go on
// purpose: go test runs a package's tests in file order, so on an empty
// cache the kernels these tests need (vanilla, else v2; the boot-panic
// mutant) are built first.
package e2e

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// cancelOn is a slog handler that cancels a context when a message is
// logged, so a test can interrupt a run at a precise stage.
type cancelOn struct {
	slog.Handler
	msg    string
	cancel func()
}

func (c cancelOn) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == c.msg {
		c.cancel()
	}
	return c.Handler.Handle(ctx, r)
}

// TestCancelLeavesNoQEMU interrupts a run once QEMU really runs (the guest
// answered SSH: "vm: ready"), as Ctrl-C would, and checks that the QEMU
// pid the run recorded is gone, and that the run directory is kept with
// error_kind cancelled.
func TestCancelLeavesNoQEMU(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	opts := labOptions(t)
	opts.Kernel, opts.Accel = faultKernel(t), "tcg"
	res, pidsAtCancel := cancelAtReady(t, ctx, opts)
	if len(pidsAtCancel) == 0 {
		t.Fatal("no QEMU was running when the run was cancelled: the test cannot tell")
	}
	runDir := filepath.Join(opts.ResultsDir, res.RunID)
	if _, err := os.Stat(filepath.Join(runDir, "result.json")); err != nil {
		t.Errorf("the interrupted run's directory was not kept: %v", err)
	}
	checkGone(t, pidsAtCancel)
	if pids := qemuFor(t, runDir); len(pids) > 0 {
		t.Fatalf("QEMU survived the cancelled run: pids %v", pids)
	}
}

// TestCancelDuringTrialBootsLeavesNoQEMU cancels a run whose guard race
// boots its trial guests beside the shared guest (lab's preboot) as soon as
// the first guest answers SSH, when the others are still booting or
// waiting: every QEMU the run recorded must be gone. Red: a run that does
// not reap the trial guests it booted ahead leaves them running.
func TestCancelDuringTrialBootsLeavesNoQEMU(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	opts := labOptions(t)
	opts.Kernel, opts.Accel = faultKernel(t), "tcg"
	opts.Scenarios = []string{"smoke", "guardrace"}
	res, pidsAtCancel := cancelAtReady(t, ctx, opts)
	if len(pidsAtCancel) < 2 {
		t.Fatalf("%d QEMU running when the run was cancelled: the trial guests were not booting ahead, the test cannot tell", len(pidsAtCancel))
	}
	checkGone(t, pidsAtCancel)
	if pids := qemuFor(t, filepath.Join(opts.ResultsDir, res.RunID)); len(pids) > 0 {
		t.Fatalf("QEMU survived the cancelled run: pids %v", pids)
	}
	t.Logf("MEASURED qemu_at_cancel=%d", len(pidsAtCancel))

	// The shared guest's QEMU killed from outside while the trial guests
	// wait: the run ends as the lab's fault, its context still live, and
	// must stop the trial guests it booted ahead itself. Red: without the
	// run's reaping they outlive it.
	opts = labOptions(t)
	opts.Kernel, opts.Accel = faultKernel(t), "tcg"
	opts.Scenarios = []string{"smoke", "guardrace"}
	killed := 0
	opts.Log = slog.New(cancelOn{Handler: opts.Log.Handler(), msg: "scenario: running", cancel: func() {
		for _, pid := range runningQEMU(t, opts.ResultsDir) {
			cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if strings.Contains(string(cmd), "/console.log") && killed == 0 {
				syscall.Kill(pid, syscall.SIGKILL)
				killed = pid
			}
		}
	}})
	res, err := lab.Run(ctx, opts)
	if killed == 0 || err == nil {
		t.Fatalf("killed %d, err %v: want the shared guest's QEMU killed and the run failed", killed, err)
	}
	if pids := qemuFor(t, filepath.Join(opts.ResultsDir, res.RunID)); len(pids) > 0 {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("trial guests' QEMU outlived the failed run: pids %v", pids)
	}
}

// runningQEMU returns the live QEMU pids recorded in the qemu.pid files of
// the run dirs under results.
func runningQEMU(t *testing.T, results string) []int {
	t.Helper()
	return recordedQEMU(filepath.Join(results, "*", "qemu.pid"))
}

// recordedQEMU returns the live pids in the qemu.pid files (one pid a line)
// the glob pattern matches.
func recordedQEMU(pattern string) []int {
	files, _ := filepath.Glob(pattern)
	var pids []int
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(raw)) {
			if pid, err := strconv.Atoi(field); err == nil && alive(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// cancelAtReady runs opts' kernel and scenarios and cancels the run as
// soon as a guest answers SSH ("vm: ready"), as Ctrl-C would; it returns
// the run and the QEMU pids that were alive at that moment. It fails the
// test unless the run ended cancelled.
func cancelAtReady(t *testing.T, ctx context.Context, opts lab.Options) (*results.Result, []int) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var pidsAtCancel []int
	opts.Log = slog.New(cancelOn{Handler: opts.Log.Handler(), msg: "vm: ready", cancel: func() {
		pidsAtCancel = runningQEMU(t, opts.ResultsDir)
		stop()
	}})
	res, err := lab.Run(runCtx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancelled run", err)
	}
	if res == nil || res.ErrorKind != "cancelled" {
		t.Fatalf("result %+v", res)
	}
	return res, pidsAtCancel
}

// checkGone fails the test for every pid still alive (and kills it).
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("QEMU pid %d survived the cancelled run", pid)
		}
	}
}

// qemuFor lists QEMU processes whose command line mentions dir.
func qemuFor(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmd), "qemu-system") && strings.Contains(string(cmd), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}
