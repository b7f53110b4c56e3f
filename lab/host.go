package lab

import (
	"context"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// Accelerator is the accelerator runs with opts would boot under, "kvm"
// or "tcg", and why: --accel when it names one, else a KVM probe (as a
// run makes). A pool sizes itself from it before any run.
func Accelerator(ctx context.Context, opts Options) (accel, why string) {
	switch opts.Accel {
	case "kvm":
		return string(vm.AccelKVM), "requested with --accel kvm"
	case "tcg":
		return string(vm.AccelTCG), "requested with --accel tcg"
	}
	p := vm.ProbeAccel(ctx, opts.QEMU, "")
	return string(p.Accel), p.Reason
}

// BuildRunning reports whether the cache's build lock is held now: a
// kernel build (or an unpack or checkout) is using the cores, in this or
// another process; holder is what the holder wrote in the lock.
func BuildRunning(cacheDir string) (running bool, holder string) {
	return kbuild.LockHeld(cacheDir)
}
