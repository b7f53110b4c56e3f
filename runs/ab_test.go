package runs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

func TestSideOptions(t *testing.T) {
	mbox := filepath.Join(t.TempDir(), "fix.mbox")
	os.WriteFile(mbox, nil, 0o644)
	tests := []struct {
		kernel, wantKernel, wantSeries string
		ok                             bool
	}{
		{"v2-no01", "v2-no01", "", true},
		{mbox, "", mbox, true},
		{"/src/linux:v6.12..fix", "", "/src/linux:v6.12..fix", true},
		{"v9", "", "", false},
	}
	base := lab.Options{Kernel: "v4", Series: "x", Exclude: []int{1}, Out: os.Stdout}
	for _, tt := range tests {
		o, err := sideOptions(base, tt.kernel)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.kernel, err)
			continue
		}
		if tt.ok && (o.Kernel != tt.wantKernel || o.Series != tt.wantSeries || o.Exclude != nil || o.Out != io.Discard) {
			t.Errorf("%s: kernel %q series %q exclude %v", tt.kernel, o.Kernel, o.Series, o.Exclude)
		}
	}
}

func TestStopsCompare(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{lab.ErrScenarioFailed, false},
		{&lab.BootError{Reason: "timeout"}, false},
		{&lab.InfraError{Stage: "vm", Err: errors.New("qemu exited")}, false},
		{&lab.InfraError{Stage: "image", Err: errors.New("mkuimage")}, true},
		{&lab.InfraError{Stage: "toolchain", Err: errors.New("no clang")}, true},
		{&kbuild.BuildError{Stage: "make", Err: errors.New("exit 2")}, true},
		{&lab.UsageError{Msg: "bad"}, true},
		{context.Canceled, true},
	}
	for _, tt := range tests {
		if got := stopsCompare(tt.err); got != tt.want {
			t.Errorf("stopsCompare(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestCompareArgv(t *testing.T) {
	base := ABOptions{KernelA: "vanilla", KernelB: "v4", Runs: 5,
		Options: lab.Options{Scenarios: []string{"smoke", "irqnoise"}, Accel: "auto", CPUs: 2, MemoryMB: 1024,
			Tarball: kbuild.DefaultTarball, QEMU: "qemu-system-x86_64", ScenarioTimeout: 5 * time.Minute}}
	tests := []struct {
		name string
		mod  func(*ABOptions)
		want string
	}{
		{"defaults", func(*ABOptions) {}, "kcovlab compare --kernel vanilla,v4 --scenario smoke,irqnoise --runs 5"},
		{"measurement flags", func(co *ABOptions) {
			co.Accel, co.CPUs, co.MemoryMB, co.BootTimeout = "tcg", 1, 2048, 90*time.Second
		}, "kcovlab compare --kernel vanilla,v4 --scenario smoke,irqnoise --runs 5 --accel tcg --cpus 1 --memory 2048 --boot-timeout 1m30s"},
		{"local tree", func(co *ABOptions) { co.KernelSrc, co.Runs = "/src/linux", 10 },
			"kcovlab compare --kernel vanilla,v4 --scenario smoke,irqnoise --runs 10 --kernel-src /src/linux"},
		{"other tarball", func(co *ABOptions) { co.Tarball = "/tmp/l.tar.xz" },
			"kcovlab compare --kernel vanilla,v4 --scenario smoke,irqnoise --runs 5 --tarball /tmp/l.tar.xz"},
	}
	for _, tt := range tests {
		co := base
		tt.mod(&co)
		if got := strings.Join(compareArgv(co), " "); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// identify lists every machine setup a kernel's runs booted, so that the
// comparison can warn when they differ.
func TestIdentifySetups(t *testing.T) {
	var k report.ABKernel
	q35 := &results.MachineSetup{Name: "q35", Machine: "q35"}
	micro := &results.MachineSetup{Name: "microvm", Machine: "microvm"}
	for _, s := range []*results.MachineSetup{q35, q35, micro, nil} {
		identify(&k, &results.Result{Accel: "tcg", Setup: s})
	}
	want := []string{q35.String(), micro.String(), report.Unrecorded}
	if strings.Join(k.Setups, "|") != strings.Join(want, "|") {
		t.Errorf("setups = %q, want %q", k.Setups, want)
	}
	b := report.ABKernel{Setups: []string{q35.String()}}
	c := &report.ABComparison{A: k, B: b}
	if c.SetupWarning() == "" {
		t.Error("a side with three setups against one: no warning")
	}
}
