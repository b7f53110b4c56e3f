package lab

import (
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// A kernel whose .config lacks the machine's transport is refused before a
// boot that would only time out waiting for SSH.
func TestKernelFitsMachine(t *testing.T) {
	lean := "CONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_NET=y\n# CONFIG_ACPI is not set\n"
	pc := "CONFIG_ACPI=y\nCONFIG_PCI=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_NET=y\n"
	tests := []struct {
		name, config, setup string
		errHas              string // "" fits
	}{
		{"lean kernel on microvm", lean, "microvm", ""},
		{"lean kernel on q35", lean, "q35", "CONFIG_ACPI=y, CONFIG_PCI=y, CONFIG_VIRTIO_PCI=y"},
		{"pc kernel on q35", pc, "q35", ""},
		{"pc kernel on microvm", pc, "microvm", "lacks CONFIG_VIRTIO_MMIO=y"},
		{"both transports", lean + pc, "pc-qboot", ""},
		{"no virtio-net at all", "CONFIG_VIRTIO_MMIO=y\n", "microvm", "CONFIG_VIRTIO_NET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := kconfig.ParseConfig(strings.NewReader(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			setup, err := vm.LookupSetup(tt.setup)
			if err != nil {
				t.Fatal(err)
			}
			err = kernelFitsMachine(cfg, setup)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want %q", err, tt.errHas)
			}
			if _, ok := err.(*UsageError); !ok {
				t.Errorf("%T, want *UsageError (the user's kernel)", err)
			}
		})
	}
	if err := kernelFitsMachine(nil, vm.Setups[0]); err != nil {
		t.Errorf("no config: %v", err)
	}
}
