package vm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestArgvSetups(t *testing.T) {
	tests := []struct {
		setup   string
		machine []string // the machine and firmware arguments, contiguous
		cmdline string   // a word the kernel command line must hold ("" none)
		notWord string   // a word it must not hold
		devices []string // the network card and entropy source
		pci     bool     // Setup.NeedsPCI
	}{
		{"q35", []string{"-machine", "q35", "-accel"}, "", "tsc_early_khz", pciDevices, true},
		{"pc", []string{"-machine", "pc", "-accel"}, "", "tsc_early_khz", pciDevices, true},
		{"q35-qboot", []string{"-machine", "q35", "-bios", QbootROM, "-accel"}, "", "tsc_early_khz", pciDevices, true},
		{"pc-qboot", []string{"-machine", "pc", "-bios", QbootROM, "-accel"}, "", "tsc_early_khz", pciDevices, true},
		{"microvm", []string{"-machine", "microvm,acpi=off,pcie=off,rtc=on", "-accel"}, "tsc_early_khz=2596150", "", mmioDevices, false},
	}
	for _, tt := range tests {
		t.Run(tt.setup, func(t *testing.T) {
			s, err := LookupSetup(tt.setup)
			if err != nil {
				t.Fatal(err)
			}
			o := baseOptions()
			o.Machine, o.Firmware, o.TSCKHz = s.Machine, s.Firmware, 2596150
			got, err := o.Argv()
			if err != nil {
				t.Fatal(err)
			}
			if !containsRun(got, tt.machine) {
				t.Errorf("argv lacks %q:\n%q", tt.machine, got)
			}
			words := strings.Fields(o.Cmdline())
			if tt.setup == "microvm" && (!slices.Contains(words, "tsc=reliable") || !slices.Contains(words, "reboot=t")) {
				t.Errorf("microvm cmdline %q lacks tsc=reliable or reboot=t (a panic would spin instead of ending QEMU)", o.Cmdline())
			}
			if tt.setup != "microvm" && slices.Contains(words, "reboot=t") {
				t.Errorf("%s cmdline %q: reboot=t is microvm's", tt.setup, o.Cmdline())
			}
			if tt.cmdline != "" && !slices.Contains(words, tt.cmdline) {
				t.Errorf("cmdline %q lacks %s", o.Cmdline(), tt.cmdline)
			}
			if tt.notWord != "" && strings.Contains(o.Cmdline(), tt.notWord) {
				t.Errorf("cmdline %q holds %s", o.Cmdline(), tt.notWord)
			}
			// The devices sit on the bus the machine has, and only there.
			for _, dev := range append(slices.Clone(pciDevices), mmioDevices...) {
				if want := slices.Contains(tt.devices, dev); slices.Contains(got, dev) != want {
					t.Errorf("device %s in argv: %v, want %v", dev, !want, want)
				}
			}
			if s.NeedsPCI() != tt.pci {
				t.Errorf("NeedsPCI() = %v, want %v", s.NeedsPCI(), tt.pci)
			}
		})
	}
}

var (
	pciDevices  = []string{"virtio-net-pci,netdev=net0", "virtio-rng-pci"}
	mmioDevices = []string{"virtio-net-device,netdev=net0", "virtio-rng-device"}
)

func TestArgvMachineDefaultsToQ35(t *testing.T) {
	got, err := baseOptions().Argv()
	if err != nil {
		t.Fatal(err)
	}
	if !containsRun(got, []string{"-machine", "q35"}) || slices.Contains(got, "-bios") {
		t.Errorf("default argv: %q", got)
	}
}

func TestArgvSetupErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"unknown machine", func(o *Options) { o.Machine = "virt" }, "Machine"},
		{"microvm without the TSC rate", func(o *Options) { o.Machine = MachineMicrovm }, "TSCKHz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			tt.edit(&o)
			_, err := o.Argv()
			var oe *OptionsError
			if !errors.As(err, &oe) || oe.Field != tt.field {
				t.Fatalf("err = %v, want an OptionsError on %s", err, tt.field)
			}
		})
	}
}

func TestLookupSetup(t *testing.T) {
	if s, err := LookupSetup(""); err != nil || s.Name != DefaultSetup {
		t.Errorf(`LookupSetup("") = %v, %v; want %s`, s, err, DefaultSetup)
	}
	if Setups[0].Name != DefaultSetup {
		t.Errorf("Setups[0] = %s, want the default %s first", Setups[0].Name, DefaultSetup)
	}
	_, err := LookupSetup("sparc")
	var oe *OptionsError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "microvm") {
		t.Errorf("LookupSetup(sparc) = %v, want an error listing the setups", err)
	}
	for name, want := range map[string]string{"q35": "seabios", "microvm": "qboot", "pc-qboot": "qboot"} {
		s, _ := LookupSetup(name)
		if got := s.FirmwareName(); got != want {
			t.Errorf("%s firmware = %s, want %s", name, got, want)
		}
	}
}

func TestParseCPUMHz(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2596.150\ncpu MHz\t\t: 1.0\n", 2596150},
		{"processor\t: 0\n", 0},
		{"cpu MHz\t\t: fast\n", 0},
		{"cpu MHz\t\t: -3\n", 0},
	}
	for _, tt := range tests {
		if got := parseCPUMHz(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("parseCPUMHz(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
