package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

// fakeRun reads the checked-out state: pass, fail, errno25 (passes with
// errno=25), build (does not build), infra (the lab fails).
func fakeRun(ctx context.Context, o lab.Options) (*results.Result, error) {
	head, err := exec.Command("git", "-C", o.KernelSrc, "rev-parse", "HEAD").Output()
	if err != nil {
		return nil, err
	}
	state, err := os.ReadFile(filepath.Join(o.KernelSrc, "state"))
	if err != nil {
		return nil, err
	}
	res := &results.Result{RunID: "run", Kernel: results.Kernel{SourceID: "git:" + strings.TrimSpace(string(head))}}
	s := results.Scenario{Name: o.Scenarios[0], Verdict: results.Pass, Metrics: map[string]float64{"errno": 0}}
	switch string(state) {
	case "fail":
		s.Verdict = results.Fail
	case "errno25":
		s.Metrics["errno"] = 25
	case "build":
		return res, &kbuild.BuildError{Stage: "config", Err: errors.New("syntax error")}
	case "infra":
		return res, &lab.InfraError{Stage: "vm", Err: errors.New("qemu died")}
	}
	res.Scenarios = []results.Scenario{s}
	if s.Verdict != results.Pass {
		return res, lab.ErrScenarioFailed
	}
	return res, nil
}

// TestBisectStepExitCodes: what `git bisect run kcovlab bisect-step`
// sees, through the command line.
func TestBisectStepExitCodes(t *testing.T) {
	tree, h := testutil.StateRepoTitled(t, "c%d %s", "pass", "fail", "build", "infra", "errno25")
	common := []string{"--kernel-src", tree, "--src", "../..", "--cache", t.TempDir(), "--results", t.TempDir(), "--scenario", "unique"}
	tests := []struct {
		commit int
		args   []string
		want   int
	}{
		{0, nil, 0},
		{0, []string{"--invert"}, 1},
		{1, nil, 1},
		{1, []string{"--invert"}, 0},
		{2, nil, 125},
		{2, []string{"--on-build-error", "bad"}, 1},
		{2, []string{"--on-build-error", "abort"}, 128},
		{3, []string{"--retries", "0"}, 128},
		{4, nil, 0},
		{4, []string{"--check", "errno==0"}, 1},
		{4, []string{"--check", "errno==0", "--invert"}, 0},
		{0, []string{"--check", "errno=0"}, 128},
		{0, []string{"--on-crash", "maybe"}, 128},
		{0, []string{"--no-such-flag"}, 128},
	}
	for _, tt := range tests {
		if out, err := exec.Command("git", "-C", tree, "checkout", "-q", h[tt.commit]).CombinedOutput(); err != nil {
			t.Fatalf("checkout: %v: %s", err, out)
		}
		var out, errb bytes.Buffer
		code := cmdBisectStep(append(append([]string(nil), common...), tt.args...), &out, &errb, fakeRun)
		if code != tt.want {
			t.Errorf("commit %d %v: exit %d, want %d\nstdout %s\nstderr %s", tt.commit, tt.args, code, tt.want, out.String(), errb.String())
		}
	}
}

func TestBisectCommand(t *testing.T) {
	tree, h := testutil.StateRepoTitled(t, "c%d %s", "pass", "pass", "build", "pass", "fail", "fail")
	common := []string{"--kernel-src", tree, "--src", "../..", "--cache", t.TempDir(), "--results", t.TempDir(), "--scenario", "unique"}
	var out, errb bytes.Buffer
	code := cmdBisect(append(common, "--good", h[0], "--bad", "main"), &out, &errb, fakeRun)
	if code != exitPass || !strings.Contains(out.String(), "first bad commit: "+h[4]+" c4 fail") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	if err := os.WriteFile(filepath.Join(tree, "state"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := cmdBisect(append(common, "--good", h[0], "--bad", "main"), &out, &errb, fakeRun); code != exitUsage || !strings.Contains(errb.String(), "uncommitted") {
		t.Errorf("dirty tree: exit %d, stderr %s", code, errb.String())
	}
	if out, err := exec.Command("git", "-C", tree, "checkout", "-q", "--", "state").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, args := range [][]string{
		{"--good", h[0]},
		{"--good", h[0], "--bad", "no-such-rev"},
		{"--good", h[0], "--bad", h[5], "--scenario", "nope"},
		{"--good", h[0], "--bad", h[5], "--on-boot-error", "maybe"},
		{"--good", h[0], "--bad", h[5], "extra"},
	} {
		errb.Reset()
		if code := cmdBisect(append(append([]string(nil), common...), args...), &out, &errb, fakeRun); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %s)", args, code, exitUsage, errb.String())
		}
	}
}
