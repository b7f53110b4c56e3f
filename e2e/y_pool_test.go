package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
)

// TestPoolCancelLeavesNoQEMU runs a nightly of two cached kernels on a pool
// of two, interrupts it once both QEMUs run at once, as Ctrl-C would, and
// checks that nightly returns the cancellation only after both are gone.
func TestPoolCancelLeavesNoQEMU(t *testing.T) {
	needLab(t)
	for _, k := range []string{"vanilla", "v2"} {
		if ok, err := lab.Built(context.Background(), lab.Options{Kernel: k}); err != nil || !ok {
			t.Skipf("kernel %s is not built: the pool test boots cached kernels only", k)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	opts := labOptions(t)
	opts.Accel = "tcg"
	opts.Scenarios = []string{"smoke", "unique", "ioctl", "reset", "overflow", "irqnoise"}
	// Cancel as soon as both kernels' QEMUs run at once; there is no event
	// to wait on across the two runs but their pid files, so poll them.
	var pidsAtCancel []int
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			if pids := poolQEMU(t, opts.ResultsDir); len(pids) == 2 {
				pidsAtCancel = pids
				stop()
				return
			}
		}
	}()
	_, err := nightly.Nightly(runCtx, nightly.Options{Options: opts, Kernels: []string{"vanilla", "v2"}, Parallel: 2})
	<-watched
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancelled nightly", err)
	}
	if len(pidsAtCancel) != 2 {
		t.Fatalf("QEMUs running at the cancellation: %v, want two (the pool did not run both at once)", pidsAtCancel)
	}
	for _, pid := range pidsAtCancel {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("QEMU pid %d survived the cancelled nightly", pid)
		}
	}
	if pids := qemuFor(t, opts.ResultsDir); len(pids) > 0 {
		t.Fatalf("QEMU survived the cancelled nightly: pids %v", pids)
	}
}

// poolQEMU returns the live QEMU pids recorded in the run dirs of the
// nightlies under results.
func poolQEMU(t *testing.T, results string) []int {
	t.Helper()
	return recordedQEMU(filepath.Join(results, "nightly-*", "*", "qemu.pid"))
}
