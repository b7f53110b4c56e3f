// Package vm runs one QEMU x86_64 guest for kcovlab: a KCOV kernel booted
// with a u-root initramfs, its serial console written to a file, SSH reachable
// through a user-mode network port forward on 127.0.0.1, and a QMP socket
// for status, reset and shutdown.
//
// Options.Argv turns plain options into a QEMU command line without running
// anything. Start launches QEMU in its own process group (with Pdeathsig, so
// QEMU dies with the lab), and the returned Machine owns it: cancelling the
// context given to Start or calling Machine.Close kills the whole group and
// reaps it. QMP is reached through github.com/digitalocean/go-qemu, but no
// go-qemu type appears in this package's API.
//
// ProbeAccel decides between KVM and TCG by really running a vCPU: it boots
// a 64 KiB BIOS image whose reset vector writes to an isa-debug-exit port, so
// QEMU exits with status 3 only if guest code executed.
//
// Host requirements: qemu-system-x86_64 (with SeaBIOS for real boots) and,
// for KVM, a read-write /dev/kvm. Without KVM everything runs under TCG.
//
// Testing: `go test -short ./internal/vm/` needs no QEMU; it covers the argv
// builders, the process-group handling (with sh and sleep) and the QMP client
// against an in-process fake QMP server. Without -short, tests that start a
// real qemu-system-x86_64 under TCG also run; they are skipped when the binary
// is not installed.
package vm
