package results

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *Result {
	r := &Result{
		Schema: SchemaVersion, RunID: "20261126-000000-abcdef", LabVersion: "dev",
		Started: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		Kernel:  Kernel{Name: "vanilla", Key: "k1", Source: "/usr/src/linux.tar.xz", SourceID: "tarball:1234", ConfigHash: "c0ffee", Fragments: []string{"guest.config", "kcov.config"}, Compiler: "clang version 22.1.8"},
		Accel:   "tcg", AccelReason: "/dev/kvm: no such file",
		QEMUArgv: []string{"qemu-system-x86_64", "-nodefaults"},
	}
	r.AddStage("kernel", 3*time.Second)
	r.AddStage("boot", 1500*time.Millisecond)
	r.Scenarios = []Scenario{{Name: "smoke", Verdict: Pass, Metrics: map[string]float64{"pcs": 42, "unique_pcs": 40}, Evidence: []string{"pc 0xffffffff81000000"}}}
	return r
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", got, r)
	}
}

func TestReadRejectsOtherSchema(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	r.Schema = "3.0"
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("got %v, want a schema error", err)
	}
}

func TestPassed(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Result)
		want bool
	}{
		{"all pass", func(*Result) {}, true},
		{"one fails", func(r *Result) { r.Scenarios = append(r.Scenarios, Scenario{Name: "x", Verdict: Fail}) }, false},
		{"error verdict", func(r *Result) { r.Scenarios[0].Verdict = Error }, false},
		{"run error", func(r *Result) { r.Error = "boot failed" }, false},
		{"no scenarios", func(r *Result) { r.Scenarios = nil }, false},
	}
	for _, tt := range tests {
		r := sample()
		tt.mod(r)
		if got := r.Passed(); got != tt.want {
			t.Errorf("%s: Passed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHeader(t *testing.T) {
	var b bytes.Buffer
	r := sample()
	r.Header(&b)
	for _, want := range []string{"accel tcg", "kernel 3.0s", "boot 1.5s", "tarball:1234"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, b.String())
		}
	}
	if r.Verdict() != "PASSED" {
		t.Errorf("verdict %s", r.Verdict())
	}
	r.Scenarios[0].Verdict = Fail
	if r.Verdict() != "FAILED" {
		t.Errorf("verdict %s", r.Verdict())
	}
}

// A run whose every scenario was skipped checked nothing: not PASSED.
func TestAllSkippedIsNotPassed(t *testing.T) {
	skipped := &Result{Scenarios: []Scenario{{Name: "kselftest", Verdict: Skip}, {Name: "guardrace", Verdict: Skip}}}
	if skipped.Passed() || !skipped.NothingChecked() || !strings.HasPrefix(skipped.Verdict(), "NOTHING CHECKED") {
		t.Errorf("all skipped: passed %v, nothing checked %v, verdict %q", skipped.Passed(), skipped.NothingChecked(), skipped.Verdict())
	}
	one := &Result{Scenarios: []Scenario{{Name: "smoke", Verdict: Pass}, {Name: "kselftest", Verdict: Skip}}}
	if !one.Passed() || one.NothingChecked() || one.Verdict() != "PASSED" {
		t.Errorf("one pass, one skip: passed %v, verdict %q", one.Passed(), one.Verdict())
	}
}

// A run that stopped before its kernel was built (a series that does not
// apply) names the kernel and says it was not built, instead of printing
// empty fields ("kernel   (, ), accel").
func TestHeaderNotBuilt(t *testing.T) {
	r := &Result{RunID: "20261126-000000-abcdef", Kernel: Kernel{Name: "series:broken", Series: "testdata/broken"},
		Error: "apply [PATCH 2/2] kcov: x: kernel/kcov.c: hunk 2 does not apply", ErrorKind: "series"}
	r.AddStage("kernel", 0)
	var b bytes.Buffer
	r.Header(&b)
	got := strings.SplitN(b.String(), "\n", 2)[0]
	if want := "run 20261126-000000-abcdef: kernel series:broken (not built), not booted"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
}
