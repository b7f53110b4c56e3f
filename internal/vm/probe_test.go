package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// loopCode is a reset vector that spins forever: jmp $.
var loopCode = []byte{0xEB, 0xFE}

// needQEMU skips the test under -short or when QEMU is not installed.
func needQEMU(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts QEMU; skipped with -short")
	}
	path, err := exec.LookPath(DefaultQEMU)
	if err != nil {
		t.Skipf("%s not installed", DefaultQEMU)
	}
	return path
}

func TestProbeArgv(t *testing.T) {
	tests := []struct {
		qemu  string
		accel Accel
		bios  string
		want  []string
	}{
		{"qemu-system-x86_64", AccelKVM, "/tmp/b.bin", []string{
			"qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none", "-no-reboot",
			"-machine", "pc", "-bios", "/tmp/b.bin", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		}},
		{"/usr/bin/qemu-system-x86_64", AccelTCG, "/w/probe.bin", []string{
			"/usr/bin/qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-nodefaults", "-display", "none", "-no-reboot",
			"-machine", "pc", "-bios", "/w/probe.bin", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		}},
	}
	for _, tt := range tests {
		if got := probeArgv(tt.qemu, tt.accel, tt.bios); !slices.Equal(got, tt.want) {
			t.Errorf("probeArgv(%q, %q, %q)\n got: %q\nwant: %q", tt.qemu, tt.accel, tt.bios, got, tt.want)
		}
	}
}

// The probe must run the vCPU model a real boot runs: on a nested KVM
// host a plain vCPU works while -cpu host aborts QEMU on its MSRs, and a
// probe without -cpu host chose KVM for boots that then died.
func TestProbeRunsTheBootCPUModel(t *testing.T) {
	for _, a := range []Accel{AccelKVM, AccelTCG} {
		probe := strings.Join(probeArgv("q", a, "b"), " ")
		if boot := strings.Join(accelArgs(a), " "); !strings.Contains(probe, boot) {
			t.Errorf("%s: probe %q does not run the boot's %q", a, probe, boot)
		}
	}
}

func TestBIOSImage(t *testing.T) {
	tests := []struct {
		name string
		code []byte
		ok   bool
	}{
		{"probe", probeCode, true},
		{"loop", loopCode, true},
		{"fills the last 16 bytes", bytes.Repeat([]byte{0x90}, 16), true},
		{"too long", bytes.Repeat([]byte{0x90}, 17), false},
	}
	for _, tt := range tests {
		img, err := biosImage(tt.code)
		if (err == nil) != tt.ok {
			t.Fatalf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if !tt.ok {
			continue
		}
		if len(img) != 64<<10 {
			t.Errorf("%s: image is %d bytes, want 65536", tt.name, len(img))
		}
		if got := img[0xFFF0 : 0xFFF0+len(tt.code)]; !bytes.Equal(got, tt.code) {
			t.Errorf("%s: reset vector holds % x, want % x", tt.name, got, tt.code)
		}
		if img[0] != 0xF4 || img[0xFFEF] != 0xF4 {
			t.Errorf("%s: filler is not hlt", tt.name)
		}
	}
	want := []byte{0xB0, 0x01, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE} // mov al,1; out 0xf4,al; hlt; jmp $
	if !bytes.Equal(probeCode, want) {
		t.Errorf("probeCode = % x, want % x", probeCode, want)
	}
}

func TestProbeAccelWithoutKVM(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		t.Skip("/dev/kvm opens read-write on this host")
	}
	dir := t.TempDir()
	res := ProbeAccel(context.Background(), "", dir)
	if res.Accel != AccelTCG {
		t.Fatalf("Accel = %q, want tcg (%s)", res.Accel, res.Reason)
	}
	if !strings.Contains(res.Reason, "/dev/kvm") {
		t.Errorf("reason %q does not name /dev/kvm", res.Reason)
	}
	if !errors.Is(res.Err, ErrNoKVM) {
		t.Errorf("Err = %v, want it to wrap ErrNoKVM", res.Err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("probe left files behind: %v", left)
	}
}

// TestProbeMechanismTCG runs the KVM probe's BIOS under TCG, which executes
// it just the same: exit status 3 proves the probe detects a running vCPU,
// and a BIOS that never writes the port proves it detects one that does not.
func TestProbeMechanismTCG(t *testing.T) {
	qemu := needQEMU(t)
	tests := []struct {
		name    string
		code    []byte
		timeout time.Duration
		ok      bool
	}{
		{"probe code exits with status 3", probeCode, ProbeTimeout, true},
		{"spinning code times out", loopCode, 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bios, cleanup, err := writeBIOS(t.TempDir(), tt.code)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			err = runProbe(ctx, qemu, AccelTCG, bios)
			t.Logf("probe took %v: %v", time.Since(start), err)
			if (err == nil) != tt.ok {
				t.Fatalf("runProbe = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("runProbe = %v, want a deadline error", err)
			}
		})
	}
}

func TestProbeQEMUFailure(t *testing.T) {
	needQEMU(t)
	// An unknown accelerator makes QEMU exit at once with status 1; the
	// reason must carry QEMU's complaint.
	bios, cleanup, err := writeBIOS(t.TempDir(), probeCode)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	err = runProbe(context.Background(), DefaultQEMU, "nosuchaccel", bios)
	if err == nil || !strings.Contains(err.Error(), "status 1") || !strings.Contains(err.Error(), "nosuchaccel") {
		t.Fatalf("runProbe = %v, want status 1 with QEMU's stderr", err)
	}
}
