package results

import "fmt"

// MachineSetup is how a run's guest was booted (result.json
// "machine_setup", optional: runs made before it was recorded lack it).
// Boot times and timing-dependent metrics are only comparable between runs
// of the same setup.
type MachineSetup struct {
	// Name is the setup as --machine names it (q35, microvm, ...).
	Name string `json:"name"`
	// Machine is QEMU's machine type; Firmware its BIOS (seabios, qboot).
	Machine  string `json:"machine"`
	Firmware string `json:"firmware"`
	// KernelFormat is the image QEMU loads (bzImage) and KernelCompression
	// its payload's compression (CONFIG_KERNEL_*: xz, gzip, lz4, ...).
	KernelFormat      string `json:"kernel_format"`
	KernelCompression string `json:"kernel_compression"`
	// InitramfsCompression is the initramfs's compression, "none" for a
	// plain cpio archive.
	InitramfsCompression string `json:"initramfs_compression"`
}

// String is the setup in one phrase, for report headers.
func (s *MachineSetup) String() string {
	if s == nil {
		return "unknown machine setup"
	}
	return fmt.Sprintf("%s (machine %s, firmware %s, %s %s, initramfs %s)", s.Name, s.Machine, s.Firmware,
		s.KernelFormat, s.KernelCompression, s.InitramfsCompression)
}

// SameSetup reports whether a and b booted the same way. A run that did not
// record its setup (nil) matches only another such run.
func SameSetup(a, b *MachineSetup) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
