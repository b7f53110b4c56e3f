// This file's name sorts after series_test.go: vanilla and v2 are built
// first.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/bisect"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

// TestBisectRetriesKilledQEMU bisects a small tree whose commits stand for
// vanilla (bad: KCOV_UNIQUE_ENABLE answers ENOTTY) and v2 (good), each run
// a real boot of the cached kernel. The test kills the QEMU of the first
// step's run with SIGKILL, as the OOM killer would: the bisect must retry
// that run as a lab failure, never count it against the commit, and still
// find the first good commit.
func TestBisectRetriesKilledQEMU(t *testing.T) {
	needLab(t)
	if !built(t, "vanilla") || !built(t, "v2") {
		t.Skip("vanilla and v2 are not both built")
	}
	tree, commits := testutil.StateRepo(t, "vanilla", "vanilla", "vanilla", "v2", "v2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var once sync.Once
	var killed atomic.Int64
	runner := func(ctx context.Context, o lab.Options) (*results.Result, error) {
		state, err := os.ReadFile(filepath.Join(o.KernelSrc, "state"))
		if err != nil {
			return nil, err
		}
		commit := testutil.Git(t, o.KernelSrc, "rev-parse", "HEAD")
		o.KernelSrc, o.Fragments, o.Kernel = "", nil, strings.TrimSpace(string(state))
		once.Do(func() {
			go func() { killed.Store(int64(killFirstQEMU(ctx, o.ResultsDir))) }()
		})
		res, err := lab.Run(ctx, o)
		if res != nil {
			// The commit stands for the named kernel: say it was built from it,
			// as a kernel built from the tree would be.
			res.Kernel.SourceID = "git:" + commit
		}
		return res, err
	}
	bo := bisect.Options{Options: labOptions(t), Good: commits[len(commits)-1], Bad: commits[0], Scenario: "unique", Check: "errno==0", Runner: runner}
	bo.KernelSrc = tree
	rep, err := bisect.Bisect(ctx, bo)
	if err != nil {
		t.Fatalf("bisect: %v", err)
	}
	if killed.Load() == 0 {
		t.Fatal("no QEMU was killed: the fault was not injected")
	}
	attempts := 0
	for i, st := range rep.Steps {
		for _, r := range st.Runs {
			t.Logf("MEASURED bisect-fault step=%d commit=%s verdict=%s attempts=%d why=%q", i+1, st.Commit[:12], r.Verdict, r.Attempts, r.Why)
			attempts = max(attempts, r.Attempts)
		}
	}
	if attempts < 2 {
		t.Errorf("no run was retried after its QEMU was killed (pid %d)", killed.Load())
	}
	if rep.First == nil || rep.First.Commit != commits[3] {
		t.Errorf("first good commit %+v, want %s (the first v2 commit)", rep.First, commits[3])
	}
}

// killFirstQEMU waits for the first qemu.pid under resultsDir, kills that
// QEMU once it has run for 2 s, and returns its pid (0 if none appeared).
func killFirstQEMU(ctx context.Context, resultsDir string) int {
	for ctx.Err() == nil {
		files, _ := filepath.Glob(filepath.Join(resultsDir, "*", "qemu.pid"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			if fs := strings.Fields(string(raw)); len(fs) > 0 {
				if pid, err := strconv.Atoi(fs[0]); err == nil {
					time.Sleep(2 * time.Second)
					syscall.Kill(pid, syscall.SIGKILL)
					return pid
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0
}
