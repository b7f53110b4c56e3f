package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Accel is a QEMU accelerator.
type Accel string

// Accelerators. Use ProbeAccel to pick one for this host.
const (
	AccelKVM Accel = "kvm"
	AccelTCG Accel = "tcg"
)

// Defaults applied by Options.Argv to zero fields.
const (
	DefaultQEMU     = "qemu-system-x86_64"
	DefaultCPUs     = 1
	DefaultMemoryMB = 1024
)

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// baseCmdline starts every kernel command line: the console on the first
// serial port (which goes to Options.ConsoleLog), early boot messages there
// too, and any panic or oops turned into a QEMU exit (panic=-1 reboots at
// once, -no-reboot turns the reboot into an exit), and no timer check: a
// guest starved of host CPU (TCG, several runs at once on a loaded host)
// can miss the IO-APIC timer test at boot and panic ("IO-APIC + timer
// doesn't work!"), which says nothing about the kernel under test.
var baseCmdline = []string{
	"console=ttyS0",
	"earlyprintk=serial,ttyS0,115200",
	"panic=-1",
	"oops=panic",
	"no_timer_check",
}

// Options describe one QEMU x86_64 guest. Argv turns them into a command line.
type Options struct {
	QEMU   string   // QEMU binary; DefaultQEMU when empty
	Kernel string   // bzImage path; required
	Initrd string   // initramfs path; required
	Append []string // extra kernel command line words, after the base ones
	Accel  Accel    // AccelKVM or AccelTCG; required

	// Machine is the machine type [MachineQ35]; Firmware a -bios image
	// [the machine's default]. Setups names the combinations kcovlab knows.
	Machine  MachineType
	Firmware string
	// TSCKHz is the guest TSC's rate, told to a microvm guest's kernel
	// (which cannot measure it); required for MachineMicrovm. HostTSCKHz
	// reads it.
	TSCKHz int

	CPUs     int // vCPUs; DefaultCPUs when 0
	MemoryMB int // guest RAM in MiB; DefaultMemoryMB when 0

	SSHPort    int    // host port forwarded from 127.0.0.1 to guest port 22; required
	QMPSocket  string // unix socket path QEMU listens on for QMP; required
	ConsoleLog string // file that receives the serial console; required

	// GDBPort, when set, starts QEMU's gdb stub on 127.0.0.1:GDBPort (the
	// guest runs on; a debugger that connects stops it).
	GDBPort int
	// Detach lets QEMU outlive this process (a guest kept up after the
	// run): no parent-death signal; its own output goes to OutputLog.
	Detach    bool
	OutputLog string

	ExtraArgs []string // appended verbatim after everything else
}

// Argv returns the QEMU command line for o, argv[0] being the binary. It
// runs nothing and touches no files. Errors are *OptionsError.
func (o Options) Argv() ([]string, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	argv := []string{
		o.QEMU,
		"-nodefaults", "-no-reboot", "-display", "none",
	}
	argv = append(argv, machineArgs(o.Machine, o.Firmware)...)
	argv = append(argv, accelArgs(o.Accel)...)
	argv = append(argv,
		"-smp", strconv.Itoa(o.CPUs),
		"-m", strconv.Itoa(o.MemoryMB)+"M",
		"-kernel", o.Kernel,
		"-initrd", o.Initrd,
		"-append", o.Cmdline(),
		"-chardev", "file,id=con,path="+escapeOpt(o.ConsoleLog),
		"-serial", "chardev:con",
		"-qmp", "unix:"+escapeOpt(o.QMPSocket)+",server=on,wait=off",
		"-netdev", fmt.Sprintf("user,id=net0,hostfwd=tcp:127.0.0.1:%d-:22", o.SSHPort),
	)
	argv = append(argv, deviceArgs(o.Machine)...)
	if o.GDBPort != 0 {
		argv = append(argv, "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", o.GDBPort))
	}
	return append(argv, o.ExtraArgs...), nil
}

// Cmdline returns the kernel command line: the base words, the words the
// machine type needs, then Append.
func (o Options) Cmdline() string {
	words := append(append([]string(nil), baseCmdline...), machineCmdline(o.Machine, o.TSCKHz)...)
	words = append(words, o.Append...)
	return strings.Join(words, " ")
}

func (o Options) withDefaults() Options {
	if o.QEMU == "" {
		o.QEMU = DefaultQEMU
	}
	if o.CPUs == 0 {
		o.CPUs = DefaultCPUs
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = DefaultMemoryMB
	}
	if o.Machine == "" {
		o.Machine = MachineQ35
	}
	return o
}

func (o Options) validate() error {
	bad := func(field, format string, args ...any) error {
		return &OptionsError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case o.Kernel == "":
		return bad("Kernel", "empty: set it to the path of a bzImage")
	case o.Initrd == "":
		return bad("Initrd", "empty: set it to the path of the initramfs")
	case o.Accel == "":
		return bad("Accel", `empty: set "kvm" or "tcg" (ProbeAccel picks one)`)
	case o.Accel != AccelKVM && o.Accel != AccelTCG:
		return bad("Accel", `%q is not an accelerator: use "kvm" or "tcg"`, o.Accel)
	case o.Machine != MachineQ35 && o.Machine != MachinePC && o.Machine != MachineMicrovm:
		return bad("Machine", "%q is not a machine type kcovlab boots: use q35, pc or microvm", o.Machine)
	case o.Machine == MachineMicrovm && o.TSCKHz <= 0:
		return bad("TSCKHz", "not set: a microvm kernel cannot measure the TSC and hangs without it; set the host's rate (HostTSCKHz)")
	case o.CPUs < 0:
		return bad("CPUs", "%d is negative: use 0 for the default or a positive count", o.CPUs)
	case o.MemoryMB < 0:
		return bad("MemoryMB", "%d is negative: use 0 for the default or a size in MiB", o.MemoryMB)
	case o.SSHPort == 0:
		return bad("SSHPort", "not set: pick a free host port, e.g. with FreePort")
	case o.SSHPort < 0 || o.SSHPort > 65535:
		return bad("SSHPort", "%d is not a TCP port: use 1-65535", o.SSHPort)
	case o.QMPSocket == "":
		return bad("QMPSocket", "empty: set a unix socket path for QMP")
	case len(o.QMPSocket) > maxSocketPath:
		return bad("QMPSocket", "%q is %d bytes, longer than the %d a unix socket allows: use a shorter directory",
			o.QMPSocket, len(o.QMPSocket), maxSocketPath)
	case o.ConsoleLog == "":
		return bad("ConsoleLog", "empty: set a file path for the serial console")
	case o.GDBPort < 0 || o.GDBPort > 65535:
		return bad("GDBPort", "%d is not a TCP port: use 1-65535 (or 0 for no gdb stub)", o.GDBPort)
	case o.GDBPort != 0 && o.GDBPort == o.SSHPort:
		return bad("GDBPort", "%d is the SSH forward's port too: pick another free port", o.GDBPort)
	case o.Detach && o.OutputLog == "":
		return bad("OutputLog", "empty with Detach: a detached QEMU needs a file for its own output")
	}
	for _, w := range o.Append {
		if w == "" || strings.ContainsAny(w, " \t\n\"") {
			return bad("Append", "word %q is empty or holds whitespace or quotes: pass one kernel parameter per word", w)
		}
	}
	return nil
}

// accelArgs selects the accelerator and a CPU model that suits it.
func accelArgs(a Accel) []string {
	if a == AccelKVM {
		return []string{"-accel", "kvm", "-cpu", cpuModel(a)}
	}
	return []string{"-accel", "tcg", "-cpu", cpuModel(a)}
}

// cpuModel is the vCPU model a boot under accelerator a gets.
func cpuModel(a Accel) string {
	if a == AccelKVM {
		return "host"
	}
	return "max"
}

// escapeOpt escapes a value for a QEMU "key=value,..." option string, in
// which a literal comma is written as two.
func escapeOpt(v string) string {
	return strings.ReplaceAll(v, ",", ",,")
}
