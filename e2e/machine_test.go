package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// TestMachineQ35 boots the other machine family: q35 with SeaBIOS needs the
// kernel's pc.config (ACPI for its vCPUs, PCI for virtio-net), so the run
// builds v2's "+pc" flavour (its own build tree: a cold build on a new
// machine) and the guard race must still see two vCPUs. Red: the lean
// microvm kernel handed to q35 as --kernel-image with its .config beside it
// is refused before any boot, as the user's fault.
func TestMachineQ35(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	opts := labOptions(t)
	var out bytes.Buffer
	opts.Out = &out
	opts.Kernel, opts.Machine = "v2", "q35"
	opts.Scenarios = []string{"smoke", "unique", "guardrace"}
	r, err := lab.Run(ctx, opts)
	t.Logf("summary:\n%s", out.String())
	if err != nil {
		t.Fatalf("run on q35: %v", err)
	}
	if r.Kernel.Name != "v2+pc" || !strings.Contains(strings.Join(r.Kernel.Fragments, " "), lab.PCFragment) {
		t.Errorf("kernel %s fragments %v: want v2+pc with %s", r.Kernel.Name, r.Kernel.Fragments, lab.PCFragment)
	}
	if r.Setup == nil || r.Setup.Name != "q35" || r.Setup.Firmware != "seabios" {
		t.Errorf("machine setup %+v, want q35 with SeaBIOS", r.Setup)
	}
	for _, s := range r.Scenarios {
		if s.Verdict != results.Pass {
			t.Errorf("%s on q35: %s %s", s.Name, s.Verdict, s.Error)
		}
	}
	if argv := strings.Join(r.QEMUArgv, " "); !strings.Contains(argv, "-machine q35") || !strings.Contains(argv, "virtio-net-pci") {
		t.Errorf("qemu argv: %s", argv)
	}

	// The microvm kernel (no ACPI, no PCI) on q35: refused, no QEMU started.
	lean := cachedKernel(t, "v2")
	dir := t.TempDir()
	for _, f := range []string{lean.BzImage, filepath.Join(lean.Dir, "config")} {
		if err := os.Symlink(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	bad := labOptions(t)
	bad.KernelImage, bad.Machine, bad.Scenarios = filepath.Join(dir, "bzImage"), "q35", []string{"smoke"}
	start := time.Now()
	_, err = lab.Run(ctx, bad)
	var ue *lab.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "CONFIG_VIRTIO_PCI") || !strings.Contains(err.Error(), "--machine microvm") {
		t.Fatalf("lean kernel on q35: err = %v, want a usage error naming CONFIG_VIRTIO_PCI and --machine microvm", err)
	}
	t.Logf("MEASURED q35_suite_s=%.1f refused_in_s=%.2f", stageOf(r, "total"), time.Since(start).Seconds())
}

func stageOf(r *results.Result, name string) float64 {
	s, _ := r.Stage(name)
	return s
}
