// Package kcov drives the kernel's KCOV interface from inside a guest:
// /sys/kernel/debug/kcov, its ioctls (including the dedup series'
// KCOV_UNIQUE_ENABLE and KCOV_RESET_TRACE) and the shared coverage buffer.
//
// The ioctl side only builds for Linux and needs a kernel with CONFIG_KCOV
// and debugfs mounted; it runs in kcovlab's guest programs. The buffer
// decoding here is plain Go and is unit-tested on any host.
package kcov

import (
	"errors"
	"fmt"
	"syscall"
)

// DefaultPath is where debugfs exposes KCOV.
const DefaultPath = "/sys/kernel/debug/kcov"

// Mode is the argument of KCOV_ENABLE.
type Mode uintptr

// Trace modes from include/uapi/linux/kcov.h.
const (
	TracePC  Mode = 0
	TraceCmp Mode = 1
)

func (m Mode) String() string {
	switch m {
	case TracePC:
		return "trace-pc"
	case TraceCmp:
		return "trace-cmp"
	}
	return fmt.Sprintf("mode(%d)", uintptr(m))
}

// Ioctl request numbers. UniqueEnable and ResetTrace come from the
// "Coverage deduplication for KCOV" series; unpatched kernels answer ENOTTY.
const (
	reqInitTrace    = 0x80086301 // _IOR('c', 1, unsigned long)
	reqEnable       = 0x6364     // _IO('c', 100)
	reqDisable      = 0x6365     // _IO('c', 101)
	reqUniqueEnable = 0x40086367 // _IOW('c', 103, unsigned long)
	reqResetTrace   = 0x6368     // _IO('c', 104)
	reqRemoteEnable = 0x40186366 // _IOW('c', 102, struct kcov_remote_arg): 24 bytes without the handles
)

// Remote coverage handles (include/uapi/linux/kcov.h): a subsystem id in
// the top byte and an instance id in the low 32 bits.
const (
	SubsystemCommon = uint64(0x00) << 56
	SubsystemUSB    = uint64(0x01) << 56
	SubsystemMask   = uint64(0xff) << 56
	InstanceMask    = uint64(0xffffffff)
)

// ENOTSUPP is the kernel-internal errno 524 that KCOV_UNIQUE_ENABLE returns
// on a kernel built without CONFIG_KCOV_UNIQUE.
const ENOTSUPP = syscall.Errno(524)

// ErrUnsupported marks an operation the running kernel does not offer
// (ENOTTY: no such ioctl; ENOTSUPP: compiled out).
var ErrUnsupported = errors.New("kcov: not supported by this kernel")

// IoctlError keeps the raw errno of a failed KCOV call.
type IoctlError struct {
	Op    string
	Arg   uintptr
	Errno syscall.Errno
}

func (e *IoctlError) Error() string {
	name := e.Errno.Error()
	if e.Errno == ENOTSUPP {
		name = "operation not supported (ENOTSUPP)"
	}
	return fmt.Sprintf("kcov %s(%d): %s (errno %d)", e.Op, e.Arg, name, int(e.Errno))
}

// Unwrap exposes the errno for errors.Is(err, syscall.EINVAL).
func (e *IoctlError) Unwrap() error { return e.Errno }

// Is makes errors.Is(err, ErrUnsupported) true for ENOTTY and ENOTSUPP.
func (e *IoctlError) Is(target error) bool {
	return target == ErrUnsupported && (e.Errno == syscall.ENOTTY || e.Errno == ENOTSUPP)
}

// Trace is a decoded view of the coverage buffer.
type Trace struct {
	// Count is trace[0], the number of records the kernel says it wrote.
	Count uint64
	// PCs are the recorded program counters (TracePC), at most capacity.
	PCs []uint64
	// Saturated is true when the kernel filled every slot it had.
	Saturated bool
}

// Decode reads the buffer as the kernel laid it out: with bitmapWords > 0
// (unique mode) the first bitmapWords words are the bitmap and the trace
// follows; otherwise the trace starts at word 0. The PCs are copied.
func Decode(buf []uint64, bitmapWords int) (Trace, error) {
	if bitmapWords < 0 || bitmapWords >= len(buf) {
		return Trace{}, fmt.Errorf("kcov decode: bitmap of %d words does not fit a %d-word buffer", bitmapWords, len(buf))
	}
	area := buf[bitmapWords:]
	capacity := uint64(len(area) - 1)
	t := Trace{Count: area[0]}
	n := min(t.Count, capacity)
	t.Saturated = t.Count >= capacity
	t.PCs = append([]uint64(nil), area[1:1+n]...)
	return t, nil
}

// Unique returns the distinct values of pcs in first-seen order.
func Unique(pcs []uint64) []uint64 {
	seen := make(map[uint64]bool, len(pcs))
	var out []uint64
	for _, pc := range pcs {
		if !seen[pc] {
			seen[pc] = true
			out = append(out, pc)
		}
	}
	return out
}

// BitmapCount returns how many bits are set in the first words of buf.
func BitmapCount(bitmap []uint64) int {
	n := 0
	for _, w := range bitmap {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}
