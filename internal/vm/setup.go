package vm

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// MachineType is a QEMU x86_64 machine type.
type MachineType string

// Machine types Options.Argv knows.
const (
	MachineQ35     MachineType = "q35"
	MachinePC      MachineType = "pc"
	MachineMicrovm MachineType = "microvm"
)

// QbootROM is the qboot firmware QEMU ships: a minimal BIOS that loads the
// kernel given with -kernel without SeaBIOS's device scan. microvm uses its
// own build of it by default.
const QbootROM = "/usr/share/qemu/qboot.rom"

// Setup is a named machine setup: a machine type and its firmware. The
// name is what `--machine` takes and what result.json records.
type Setup struct {
	Name    string
	Machine MachineType
	// Firmware is a -bios image; empty means the machine's own default
	// (SeaBIOS for q35 and pc, qboot for microvm).
	Firmware string
}

// DefaultSetup is the setup a run boots when none is named: microvm with
// qboot boots a guest to SSH fastest (README "Speed") and needs neither ACPI
// nor PCI in the kernel, which keeps the kernel build short.
const DefaultSetup = "microvm"

// Setups are the machine setups kcovlab knows, DefaultSetup first.
var Setups = []Setup{
	{Name: "microvm", Machine: MachineMicrovm},
	{Name: "q35", Machine: MachineQ35},
	{Name: "q35-qboot", Machine: MachineQ35, Firmware: QbootROM},
	{Name: "pc", Machine: MachinePC},
	{Name: "pc-qboot", Machine: MachinePC, Firmware: QbootROM},
}

// SetupNames lists the names of Setups.
func SetupNames() []string {
	names := make([]string, len(Setups))
	for i, s := range Setups {
		names[i] = s.Name
	}
	return names
}

// LookupSetup returns the setup called name ("" is DefaultSetup).
func LookupSetup(name string) (Setup, error) {
	if name == "" {
		name = DefaultSetup
	}
	for _, s := range Setups {
		if s.Name == name {
			return s, nil
		}
	}
	return Setup{}, &OptionsError{Field: "Machine", Problem: fmt.Sprintf("%q is not a machine setup: use one of %s", name, strings.Join(SetupNames(), ", "))}
}

// FirmwareName is how the setup's firmware is recorded: "seabios" or
// "qboot" for the machine defaults, else the file's base name.
func (s Setup) FirmwareName() string {
	switch {
	case s.Firmware == "" && s.Machine == MachineMicrovm:
		return "qboot"
	case s.Firmware == "":
		return "seabios"
	case s.Firmware == QbootROM:
		return "qboot"
	}
	return s.Firmware[strings.LastIndexByte(s.Firmware, '/')+1:]
}

// machineArgs are the -machine (and -bios) arguments of machine m with
// firmware fw.
func machineArgs(m MachineType, fw string) []string {
	var args []string
	switch m {
	case MachineMicrovm:
		// No ACPI and no PCI: qboot's MP table lists every vCPU and the
		// virtio devices sit on virtio-mmio, which QEMU announces on the
		// kernel command line (virtio_mmio.device=...). The RTC for a wall
		// clock. The ISA serial port, the PIT and the PIC are microvm's
		// defaults.
		args = []string{"-machine", "microvm,acpi=off,pcie=off,rtc=on"}
	default:
		args = []string{"-machine", string(m)}
	}
	if fw != "" {
		args = append(args, "-bios", fw)
	}
	return args
}

// deviceArgs are the guest's network card (on the -netdev net0) and
// entropy source: virtio-mmio on microvm, virtio-pci elsewhere. The guest
// kernel needs the matching transport: guest.config's CONFIG_VIRTIO_MMIO,
// pc.config's CONFIG_VIRTIO_PCI.
func deviceArgs(m MachineType) []string {
	if m == MachineMicrovm {
		return []string{"-device", "virtio-net-device,netdev=net0", "-device", "virtio-rng-device"}
	}
	return []string{"-device", "virtio-net-pci,netdev=net0", "-device", "virtio-rng-pci"}
}

// NeedsPCI reports whether the setup's machine finds its devices on PCI and
// its vCPUs through ACPI, so that a kernel booted on it needs both
// (pc.config); microvm needs neither.
func (s Setup) NeedsPCI() bool { return s.Machine != MachineMicrovm }

// machineCmdline are kernel command line words machine m needs. microvm
// has no HPET and no port 0x61 gate, so the kernel cannot calibrate the
// TSC, marks it unstable and (under TCG, without kvmclock) never gets a
// timer tick: it hangs before bringing up the second CPU. Telling it the
// TSC's rate (under TCG the guest's TSC is the host's) fixes that. With
// no HPET or ACPI PM timer, the kernel's clocksource watchdog would check
// the TSC against jiffies, which lag on a loaded host, and fall back to
// jiffies as the clock; the TSC is the host's and reliable, so it is
// marked so.
//
// microvm has nothing a kernel without ACPI resets through either (no
// keyboard controller, no PCI reset register): a panic's reboot
// (panic=-1) would spin there for good instead of ending QEMU (-no-reboot).
// reboot=t makes every reboot a triple fault, which QEMU takes as a reset
// and, under -no-reboot, exits on.
func machineCmdline(m MachineType, tscKHz int) []string {
	if m != MachineMicrovm {
		return nil
	}
	words := []string{"reboot=t"}
	if tscKHz > 0 {
		words = append(words, "tsc_early_khz="+strconv.Itoa(tscKHz), "tsc=reliable")
	}
	return words
}

// HostTSCKHz reads the host's TSC rate in kHz from /proc/cpuinfo (the
// first "cpu MHz" line; on hosts with constant_tsc that is the TSC's
// rate). It returns 0 when it cannot tell.
func HostTSCKHz() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	return parseCPUMHz(f)
}

// parseCPUMHz returns the first "cpu MHz : N" of a /proc/cpuinfo in kHz.
func parseCPUMHz(r io.Reader) int {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || mhz <= 0 {
			return 0
		}
		return int(math.Round(mhz * 1000))
	}
	return 0
}
