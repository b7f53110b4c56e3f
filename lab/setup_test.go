package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/vm"
)

func TestKernelCompression(t *testing.T) {
	tests := []struct{ config, want string }{
		{"CONFIG_KERNEL_XZ=y\n# CONFIG_KERNEL_GZIP is not set\n", "xz"},
		{"# CONFIG_KERNEL_XZ is not set\nCONFIG_KERNEL_LZ4=y\n", "lz4"},
		{"CONFIG_KCOV=y\n", "unknown"},
	}
	for _, tt := range tests {
		cfg, err := kconfig.ParseConfig(strings.NewReader(tt.config))
		if err != nil {
			t.Fatal(err)
		}
		if got := kernelCompression(cfg); got != tt.want {
			t.Errorf("kernelCompression(%q) = %s, want %s", tt.config, got, tt.want)
		}
	}
}

func TestInitramfsCompression(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		head []byte
		want string
	}{
		{[]byte("07070100000001"), "none"},
		{[]byte{0x1f, 0x8b, 8, 0}, "gzip"},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd, 0}, "zstd"},
		{[]byte{0x02, 0x21, 0x4c, 0x18}, "lz4"},
		{[]byte("hello"), "unknown"},
	}
	for i, tt := range tests {
		p := filepath.Join(dir, string(rune('a'+i)))
		os.WriteFile(p, tt.head, 0o644)
		if got := initramfsCompression(p); got != tt.want {
			t.Errorf("initramfsCompression(% x) = %s, want %s", tt.head, got, tt.want)
		}
	}
	if got := initramfsCompression(filepath.Join(dir, "missing")); got != "unknown" {
		t.Errorf("missing file: %s", got)
	}
}

func TestMachineSetupRecord(t *testing.T) {
	dir := t.TempDir()
	cfg, initrd := filepath.Join(dir, "config"), filepath.Join(dir, "initramfs.cpio")
	os.WriteFile(cfg, []byte("CONFIG_KERNEL_XZ=y\n"), 0o644)
	os.WriteFile(initrd, []byte("070701"), 0o644)
	s, _ := vm.LookupSetup("microvm")
	got := machineSetup(s, cfg, initrd)
	if got.Name != "microvm" || got.Machine != "microvm" || got.Firmware != "qboot" || got.KernelFormat != "bzImage" ||
		got.KernelCompression != "xz" || got.InitramfsCompression != "none" {
		t.Errorf("machineSetup = %+v", got)
	}
}

func TestOptionsRejectUnknownMachine(t *testing.T) {
	o := Options{ModuleDir: t.TempDir(), CacheDir: t.TempDir(), Machine: "virt"}
	err := o.Defaults()
	if err == nil || !strings.Contains(err.Error(), "microvm") {
		t.Fatalf("Defaults with --machine virt: %v, want an error listing the setups", err)
	}
	o = Options{ModuleDir: t.TempDir(), CacheDir: t.TempDir()}
	if err := o.Defaults(); err != nil || o.Machine != DefaultMachine {
		t.Fatalf("Defaults: %v, machine %q", err, o.Machine)
	}
}
