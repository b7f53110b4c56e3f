package e2e

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/lab"
)

// cancelOn is a slog handler that cancels a context when a message is
// logged, so a test can interrupt a run at a precise stage.
type cancelOn struct {
	slog.Handler
	msg    string
	cancel context.CancelFunc
}

func (c cancelOn) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == c.msg {
		c.cancel()
	}
	return c.Handler.Handle(ctx, r)
}

// TestCancelLeavesNoQEMU interrupts a run right after QEMU started (as
// Ctrl-C would) and checks that no QEMU process of that run survives and
// the run directory is kept.
func TestCancelLeavesNoQEMU(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	opts := labOptions(t)
	opts.Log = slog.New(cancelOn{Handler: opts.Log.Handler(), msg: "starting qemu", cancel: stop})
	res, err := lab.Run(runCtx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancelled run", err)
	}
	if res == nil || res.ErrorKind != "cancelled" {
		t.Fatalf("result %+v", res)
	}
	runDir := filepath.Join(opts.ResultsDir, res.RunID)
	if _, err := os.Stat(filepath.Join(runDir, "result.json")); err != nil {
		t.Errorf("the interrupted run's directory was not kept: %v", err)
	}
	if pids := qemuFor(t, runDir); len(pids) > 0 {
		t.Fatalf("QEMU survived the cancelled run: pids %v", pids)
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
