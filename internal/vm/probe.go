package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ProbeTimeout bounds one accelerator probe run.
const ProbeTimeout = 10 * time.Second

const (
	biosSize    = 64 << 10
	resetVector = 0xFFF0 // offset of the reset vector in a 64 KiB BIOS image
	// probeExitCode is QEMU's exit status after the guest writes 1 to the
	// isa-debug-exit port: (1 << 1) | 1.
	probeExitCode = 3
)

// probeCode runs at the reset vector: mov al,1; out 0xf4,al; hlt; jmp $.
var probeCode = []byte{0xB0, 0x01, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE}

// ProbeResult is the accelerator ProbeAccel chose and why.
type ProbeResult struct {
	Accel  Accel
	Reason string // human-readable; names /dev/kvm or quotes QEMU's stderr on failure
	Err    error  // nil when Accel is AccelKVM; otherwise wraps ErrNoKVM
}

// ProbeAccel returns AccelKVM only if QEMU really ran guest code under KVM:
// /dev/kvm must open read-write and a probe BIOS (written to a temporary file
// in dir, or the system temp dir when dir is "") must make QEMU exit through
// isa-debug-exit within ProbeTimeout. Anything else yields AccelTCG with the
// reason. qemu is the QEMU binary ("" for DefaultQEMU).
func ProbeAccel(ctx context.Context, qemu, dir string) ProbeResult {
	if qemu == "" {
		qemu = DefaultQEMU
	}
	if err := openKVM(); err != nil {
		return noKVM(fmt.Errorf("%w: %w", ErrNoKVM, err))
	}
	bios, cleanup, err := writeBIOS(dir, probeCode)
	if err != nil {
		return noKVM(fmt.Errorf("%w: probe not run: %w", ErrNoKVM, err))
	}
	defer cleanup()
	if err := runProbe(ctx, qemu, AccelKVM, bios); err != nil {
		return noKVM(fmt.Errorf("%w: /dev/kvm opens but %w", ErrNoKVM, err))
	}
	return ProbeResult{Accel: AccelKVM, Reason: "a KVM vCPU ran the probe BIOS"}
}

func noKVM(err error) ProbeResult {
	return ProbeResult{Accel: AccelTCG, Reason: err.Error() + "; using tcg", Err: err}
}

// probeArgv is the command line that boots bios with accel and nothing else:
// no devices but isa-debug-exit at port 0xf4.
func probeArgv(qemu string, accel Accel, bios string) []string {
	// The vCPU gets the CPU model a real boot gets (accelArgs): a nested
	// KVM can run a plain vCPU yet abort on -cpu host's MSRs.
	return append([]string{qemu, "-accel", string(accel), "-cpu", cpuModel(accel)},
		"-nodefaults", "-display", "none", "-no-reboot",
		"-machine", "pc",
		"-bios", bios,
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
	)
}

// biosImage returns a 64 KiB BIOS image with code at the reset vector and
// hlt everywhere else.
func biosImage(code []byte) ([]byte, error) {
	if len(code) > biosSize-resetVector {
		return nil, fmt.Errorf("bios code is %d bytes, more than the %d after the reset vector", len(code), biosSize-resetVector)
	}
	img := make([]byte, biosSize)
	for i := range img {
		img[i] = 0xF4 // hlt
	}
	copy(img[resetVector:], code)
	return img, nil
}

// writeBIOS writes a BIOS image with code at the reset vector to a new file
// in dir. cleanup removes it.
func writeBIOS(dir string, code []byte) (path string, cleanup func(), err error) {
	img, err := biosImage(code)
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(dir, "probe-bios-*.bin")
	if err != nil {
		return "", nil, fmt.Errorf("write probe bios: %w", err)
	}
	cleanup = func() { os.Remove(f.Name()) }
	if _, err := f.Write(img); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("write probe bios: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write probe bios: %w", err)
	}
	return f.Name(), cleanup, nil
}

// runProbe boots bios under accel and returns nil only if QEMU exits with
// probeExitCode, i.e. the guest executed the probe code.
func runProbe(ctx context.Context, qemu string, accel Accel, bios string) error {
	ctx, cancel := context.WithTimeoutCause(ctx, ProbeTimeout,
		fmt.Errorf("probe did not exit within %v: the vCPU did not run", ProbeTimeout))
	defer cancel()
	p, err := startProc(ctx, probeArgv(qemu, accel, bios))
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	<-p.done
	var exit *ExitError
	switch {
	case p.err == nil:
		return fmt.Errorf("probe qemu exited with status 0, want %d: %s", probeExitCode, tailLines(p.out.String(), 3))
	case !errors.As(p.err, &exit):
		return fmt.Errorf("probe: %w", p.err)
	case exit.Code == probeExitCode:
		return nil
	case exit.Cause != nil:
		return fmt.Errorf("probe: %w", exit.Cause)
	default:
		return fmt.Errorf("probe qemu exited with status %d, want %d: %s",
			exit.Code, probeExitCode, tailLines(exit.Stderr, 3))
	}
}
