package report

import (
	"bytes"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
)

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, name, got)
}

// hostile is evidence a guest might print; every writer must escape it.
const hostile = `guest said: <b>"dup" & 'PC'</b>`

// fixture is two runs: kernel v2 (smoke passes, unique fails with evidence,
// the kselftest has a pass, an expected failure and a failure, noise is
// skipped) and kernel v4 (everything passes, one expected failure).
func fixture() []*results.Result {
	return []*results.Result{fixtureV2(), fixtureV4()}
}

func fixtureV2() *results.Result {
	return &results.Result{
		Schema: results.SchemaVersion, RunID: "20261126-010000-aaaaaa", LabVersion: "test",
		Started: time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC),
		Kernel: results.Kernel{Name: "v2", Series: "v2", Key: "k-v2-1a2b3c", Source: "tarball",
			SourceID: "6.12.8", ConfigHash: "cfg-v2-9f8e", Compiler: "clang 19.1.7", BuildSeconds: 120.5},
		Image:  results.Image{Key: "img-1"},
		Accel:  "kvm",
		Stages: stages(120.5, 4, 3.25, 6.5, 0.5, 134.75),
		Scenarios: []results.Scenario{
			{Name: "smoke", Verdict: results.Pass, Seconds: 0.8, Metrics: map[string]float64{
				"pcs": 1234, "trace_words/read": 310, "trace_words/write": 280,
				"unique_words/read": 120, "unique_words/write": 101}},
			{Name: "unique", Verdict: results.Fail, Seconds: 0.4,
				Metrics: map[string]float64{"errno": 0, "pcs": 57, "duplicates": 3},
				Evidence: []string{"KCOV_UNIQUE_ENABLE(4096) on a unique kernel: success, want success",
					"3 PCs recorded more than once in unique mode", hostile}},
			{Name: "kselftest", Verdict: results.Fail, Error: "1 case(s) failed", Seconds: 2.1,
				Metrics: map[string]float64{"pass": 1, "xfail": 1, "fail": 1},
				Cases: []results.Case{
					{Name: "kcov.basic", Status: "pass"},
					{Name: "kcov.unique", Status: "xfail", Known: "reads a bitmap word in unique mode",
						Diag: []string{"Expected mapping[0] (7) == 0"}},
					{Name: "kcov.remote", Status: "fail", Diag: []string{"remote coverage: got 0 PCs", "want > 0"}},
				}},
			{Name: "noise", Verdict: results.Skip, Error: "needs 2 vCPUs"},
		},
	}
}

func fixtureV4() *results.Result {
	return &results.Result{
		Schema: results.SchemaVersion, RunID: "20261126-011500-bbbbbb", LabVersion: "test",
		Started: time.Date(2026, 11, 26, 1, 15, 0, 0, time.UTC),
		Kernel: results.Kernel{Name: "v4", Series: "v4", Key: "k-v4-4d5e6f", Source: "tarball",
			SourceID: "6.12.8", ConfigHash: "cfg-v4-7a6b", Compiler: "clang 19.1.7", Cached: true},
		Image: results.Image{Key: "img-1", Cached: true},
		Accel: "tcg", AccelReason: "no /dev/kvm",
		Stages: stages(98, 0.2, 11.5, 9, 0.75, 119.45),
		Scenarios: []results.Scenario{
			{Name: "smoke", Verdict: results.Pass, Seconds: 1.5, Metrics: map[string]float64{
				"pcs": 1180, "trace_words/read": 305, "trace_words/write": 290,
				"unique_words/read": 118, "unique_words/write": 99}},
			{Name: "unique", Verdict: results.Pass, Seconds: 0.7,
				Metrics:  map[string]float64{"errno": 0, "pcs": 61, "duplicates": 0, "bitmap_bits": 61},
				Evidence: []string{"KCOV_UNIQUE_ENABLE(4096) on a unique kernel: success, want success"}},
			{Name: "kselftest", Verdict: results.Pass, Seconds: 3.25,
				Metrics: map[string]float64{"pass": 2, "xfail": 1},
				Cases: []results.Case{
					{Name: "kcov.basic", Status: "pass"},
					{Name: "kcov.unique", Status: "xfail", Known: "reads a bitmap word in unique mode"},
					{Name: "kcov.remote", Status: "pass"},
				}},
			{Name: "noise", Verdict: results.Pass, Seconds: 2,
				Metrics: map[string]float64{"runs/sys_read": 3, "runs/sys_getpid": 0}},
		},
	}
}

func stages(kernel, image, boot, scen, shutdown, total float64) []results.Stage {
	return []results.Stage{{Name: "kernel", Seconds: kernel}, {Name: "image", Seconds: image},
		{Name: "boot", Seconds: boot}, {Name: "scenarios", Seconds: scen},
		{Name: "shutdown", Seconds: shutdown}, {Name: "total", Seconds: total}}
}

// bootFailure is a run that never reached its scenarios.
func bootFailure() *results.Result {
	return &results.Result{
		Schema: results.SchemaVersion, RunID: "20261126-013000-cccccc",
		Kernel: results.Kernel{Name: "v5", Key: "k-v5-000111", Compiler: "clang 19.1.7"},
		Accel:  "kvm", Stages: []results.Stage{{Name: "kernel", Seconds: 80}, {Name: "total", Seconds: 95}},
		Error:     "boot: no login prompt after 60s\n[    1.234] Kernel panic - not syncing: VFS",
		ErrorKind: "boot",
	}
}

func render(t *testing.T, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
