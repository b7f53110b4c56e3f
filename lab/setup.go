package lab

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// MachineSetups lists the machine setups --machine takes, the default first.
func MachineSetups() []string { return vm.SetupNames() }

// DefaultMachine is the machine setup a run boots when none is named.
const DefaultMachine = vm.DefaultSetup

// PCFragment is what a kernel needs beyond guest.config's microvm guest to
// boot on q35 or pc: ACPI (their vCPUs are listed there) and PCI (their
// virtio devices). KernelDef adds it, and "+pc" to the kernel's name, when
// the machine setup needs it; the kernel is then a config variant of the
// microvm one.
const PCFragment = "pc.config"

// machineNeedsPC reports whether the setup called name ("" the default)
// boots only kernels built with PCFragment. An unknown name is left to the
// option checks.
func machineNeedsPC(name string) bool {
	s, err := vm.LookupSetup(name)
	return err == nil && s.NeedsPCI()
}

// kernelCompressions are the CONFIG_KERNEL_* choices, as result.json names them.
var kernelCompressions = []string{"GZIP", "BZIP2", "LZMA", "XZ", "LZO", "LZ4", "ZSTD"}

// kernelCompression reads the bzImage payload's compression from a
// kernel's .config ("unknown" when the config says none).
func kernelCompression(cfg *kconfig.Config) string {
	if cfg == nil {
		return "unknown"
	}
	for _, c := range kernelCompressions {
		if v, _ := cfg.Value("CONFIG_KERNEL_" + c); v == "y" {
			return strings.ToLower(c)
		}
	}
	return "unknown"
}

// initramfsMagic maps the first bytes of an initramfs to its compression.
var initramfsMagic = []struct {
	magic []byte
	name  string
}{
	{[]byte("070701"), "none"},
	{[]byte("070702"), "none"},
	{[]byte{0x1f, 0x8b}, "gzip"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd"},
	{[]byte{0x02, 0x21, 0x4c, 0x18}, "lz4"},
	{[]byte{0x04, 0x22, 0x4d, 0x18}, "lz4"},
	{[]byte("BZh"), "bzip2"},
	{[]byte{0x89, 'L', 'Z', 'O'}, "lzo"},
	{[]byte{0x5d, 0, 0}, "lzma"},
}

// initramfsCompression names the compression of the initramfs at path from
// its magic bytes ("unknown" when it cannot tell).
func initramfsCompression(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	for _, m := range initramfsMagic {
		if bytes.HasPrefix(head[:n], m.magic) {
			return m.name
		}
	}
	return "unknown"
}

// machineSetup is what result.json records about how setup booted the
// kernel whose .config is at configPath with the initramfs at initrd.
func machineSetup(setup vm.Setup, configPath, initrd string) *results.MachineSetup {
	cfg, _ := kconfig.ReadConfig(configPath)
	return &results.MachineSetup{
		Name: setup.Name, Machine: string(setup.Machine), Firmware: setup.FirmwareName(),
		KernelFormat: "bzImage", KernelCompression: kernelCompression(cfg),
		InitramfsCompression: initramfsCompression(initrd),
	}
}

// kernelFitsMachine checks that a kernel's .config has what the machine
// setup boots it with: virtio-mmio on microvm; virtio-pci and ACPI (the
// vCPUs' table) on q35 and pc. A nil config (none found beside a
// --kernel-image) is not checked: the boot will tell.
func kernelFitsMachine(cfg *kconfig.Config, setup vm.Setup) error {
	if cfg == nil {
		return nil
	}
	need := []string{"CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_NET"}
	other := "q35"
	if setup.NeedsPCI() {
		need, other = []string{"CONFIG_ACPI", "CONFIG_PCI", "CONFIG_VIRTIO_PCI", "CONFIG_VIRTIO_NET"}, "microvm"
	}
	var missing []string
	for _, sym := range need {
		if v, _ := cfg.Value(sym); v != "y" {
			missing = append(missing, sym)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &UsageError{fmt.Sprintf("the kernel's .config lacks %s=y, which machine %s needs for its network card (the guest's SSH) or its CPUs: build it with them or boot it with --machine %s",
		strings.Join(missing, "=y, "), setup.Name, other)}
}
