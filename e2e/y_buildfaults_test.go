// This file's name sorts after series_test.go: v2 is built first, and the
// faults here interrupt an incremental variant of it.
package e2e

import (
	"encoding/json"
	"fmt"
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

// descendants lists the live processes below pid (make, clang, ld), read
// from /proc: the processes a build fault must not leave behind.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// variantCache is a cache that shares the real one's sources, worktree,
// build tree and build lock but has no built kernels, so a run builds its
// kernel: incrementally, a mutant of v2 costs kcov.c and the link.
func variantCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	real := lab.DefaultCacheDir()
	for _, sub := range []string{"src", "trees", "build", "build.lock", "images"} {
		if err := os.Symlink(filepath.Join(real, sub), filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBuildFaults interrupts kernel builds: SIGINT while make runs names
// the run cancelled (exit 130) and leaves no make or compiler behind;
// SIGKILL of kcovlab itself leaves none either (they die with it), and the
// next run builds the same kernel from where the tree was and passes, while
// four runs of a cached kernel on the same cache go through beside it.
func TestBuildFaults(t *testing.T) {
	needLab(t)
	if !built(t, "v2") {
		t.Skip("v2 is not built: these faults interrupt an incremental variant of it")
	}
	src := snapshotSources(t)
	bin := kcovlabBinary(t, src)
	fixedSrc = src
	mutant := filepath.Join(src, "patches", "mutants", "v2", "05-reset-keeps-count.patch")
	args := func(cache string) []string {
		return []string{"run", "--kernel", "v2", "--mutant", mutant, "--accel", "tcg", "--scenario", "smoke", "--cache", cache}
	}
	const building = `msg="kernel: building"`
	midBuild := func(t *testing.T, r *kcovRun) []int {
		if !r.waitLine(building, 5*time.Minute) {
			t.Fatal("the run never started building")
		}
		time.Sleep(5 * time.Second)
		kids := descendants(r.cmd.Process.Pid)
		if len(kids) == 0 {
			t.Fatal("no build processes under kcovlab")
		}
		return kids
	}
	gone := func(t *testing.T, pids []int) {
		deadline := time.Now().Add(15 * time.Second)
		for _, p := range pids {
			for alive(p) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if alive(p) {
				t.Errorf("build process %d outlived kcovlab", p)
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	}

	t.Run("SIGINT during kernel build", func(t *testing.T) {
		r := startKcov(t, bin, nil, args(variantCache(t))...)
		kids := midBuild(t, r)
		at := time.Now()
		r.cmd.Process.Signal(syscall.SIGINT)
		code, ended := r.wait(2 * time.Minute)
		t.Logf("MEASURED fault=build_sigint detect_s=%.1f build_processes=%d", ended.Sub(at).Seconds(), len(kids))
		if code != 130 {
			t.Errorf("exit %d, want 130", code)
		}
		gone(t, kids)
		raw, err := os.ReadFile(filepath.Join(r.runDir(), "result.json"))
		if err != nil {
			t.Fatalf("run dir not kept: %v", err)
		}
		var res results.Result
		json.Unmarshal(raw, &res)
		if res.ErrorKind != "cancelled" {
			t.Errorf("error_kind %q, want cancelled (%s)", res.ErrorKind, res.Error)
		}
	})

	t.Run("SIGKILL of kcovlab mid-build, then a normal run", func(t *testing.T) {
		cache := variantCache(t)
		r := startKcov(t, bin, nil, args(cache)...)
		kids := midBuild(t, r)
		r.cmd.Process.Kill()
		r.wait(time.Minute)
		gone(t, kids)
		next := startKcov(t, bin, nil, args(cache)...)
		// While it builds under the shared build lock, four runs of the
		// cached v2 on the real cache must go through and pass.
		if next.waitLine(building, 5*time.Minute) {
			var four []*kcovRun
			for range 4 {
				four = append(four, startKcov(t, bin, nil, "run", "--kernel", "v2", "--accel", "tcg", "--scenario", "smoke"))
			}
			for i, r := range four {
				if code, _ := r.wait(10 * time.Minute); code != 0 {
					t.Errorf("run %d of four beside a build exited %d: %s", i+1, code, r.message())
				}
			}
			t.Logf("MEASURED fault=four_runs_beside_a_build passed=%v", !t.Failed())
		} else {
			t.Error("the run after the killed build never started building")
		}
		code, _ := next.wait(20 * time.Minute)
		if code != 0 {
			t.Fatalf("the run after a killed build exited %d: %s", code, next.message())
		}
		raw, _ := os.ReadFile(filepath.Join(next.runDir(), "result.json"))
		var res results.Result
		json.Unmarshal(raw, &res)
		t.Logf("MEASURED fault=build_sigkill_then_run build_s=%.0f", res.Kernel.BuildSeconds)
		if res.Kernel.Cached || res.Kernel.Mutant == "" {
			t.Errorf("kernel cached %v mutant %q: want the mutant built by the second run", res.Kernel.Cached, res.Kernel.Mutant)
		}
	})
}
