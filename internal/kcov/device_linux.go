package kcov

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is one open KCOV file descriptor and its mapped buffer.
//
// Coverage is per thread: Enable and EnableUnique lock the calling goroutine
// to its OS thread until Disable, so the Go scheduler cannot move the
// measured code elsewhere. A Device is not safe for concurrent use.
type Device struct {
	f           *os.File
	words       int
	mem         []byte
	buf         []uint64
	bitmapWords int
	locked      bool
}

// Open opens KCOV at path (DefaultPath when empty).
func Open(path string) (*Device, error) {
	if path == "" {
		path = DefaultPath
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("kcov: %w (is CONFIG_KCOV set and debugfs mounted?)", err)
	}
	return &Device{f: f}, nil
}

func (d *Device) ioctl(op string, req, arg uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), req, arg)
	if errno != 0 {
		return &IoctlError{Op: op, Arg: arg, Errno: errno}
	}
	return nil
}

// InitTrace sizes the buffer in 64-bit words (KCOV_INIT_TRACE).
func (d *Device) InitTrace(words int) error {
	if err := d.ioctl("INIT_TRACE", reqInitTrace, uintptr(words)); err != nil {
		return err
	}
	d.words = words
	return nil
}

// Mmap maps the buffer, read-write or read-only.
func (d *Device) Mmap(writable bool) error {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	mem, err := unix.Mmap(int(d.f.Fd()), 0, d.words*8, prot, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("kcov mmap %d words: %w", d.words, err)
	}
	d.mem = mem
	d.buf = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), d.words)
	return nil
}

// Enable starts coverage for the calling thread (KCOV_ENABLE).
func (d *Device) Enable(mode Mode) error {
	runtime.LockOSThread()
	if err := d.ioctl("ENABLE", reqEnable, uintptr(mode)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	d.locked, d.bitmapWords = true, 0
	return nil
}

// EnableUnique starts deduplicated coverage with a bitmap of bitmapWords
// words carved from the front of the buffer (KCOV_UNIQUE_ENABLE).
func (d *Device) EnableUnique(bitmapWords int) error {
	runtime.LockOSThread()
	if err := d.ioctl("UNIQUE_ENABLE", reqUniqueEnable, uintptr(bitmapWords)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	d.locked, d.bitmapWords = true, bitmapWords
	return nil
}

// ResetTrace asks the kernel to zero the bitmap and trace[0] (KCOV_RESET_TRACE).
func (d *Device) ResetTrace(arg uintptr) error {
	return d.ioctl("RESET_TRACE", reqResetTrace, arg)
}

// Disable stops coverage for the calling thread (KCOV_DISABLE).
func (d *Device) Disable() error {
	err := d.ioctl("DISABLE", reqDisable, 0)
	if err == nil && d.locked {
		d.locked = false
		runtime.UnlockOSThread()
	}
	return err
}

// Buffer is the mapped buffer itself; writes go to the kernel's view.
func (d *Device) Buffer() []uint64 { return d.buf }

// BitmapWords is the bitmap size of the current unique-mode session (0 otherwise).
func (d *Device) BitmapWords() int { return d.bitmapWords }

// ResetCount is the fast reset: it stores 0 in trace[0].
func (d *Device) ResetCount() { d.buf[d.bitmapWords] = 0 }

// Snapshot decodes the buffer as it is now.
func (d *Device) Snapshot() (Trace, error) {
	if d.buf == nil {
		return Trace{}, fmt.Errorf("kcov snapshot: buffer not mapped")
	}
	return Decode(d.buf, d.bitmapWords)
}

// Close unmaps the buffer and closes the descriptor.
func (d *Device) Close() error {
	var err error
	if d.mem != nil {
		err = unix.Munmap(d.mem)
		d.mem, d.buf = nil, nil
	}
	if d.locked {
		d.locked = false
		runtime.UnlockOSThread()
	}
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// NullSyscall is the smallest syscall with kernel-side work and no effect:
// read(-1, NULL, 0), which fails with EBADF.
func NullSyscall() {
	syscall.Syscall(syscall.SYS_READ, ^uintptr(0), 0, 0)
}

// OpenMapped opens KCOV (DefaultPath), sizes the buffer to words and maps
// it read-write or read-only: the usual first three steps.
func OpenMapped(words int, writable bool) (*Device, error) {
	d, err := Open("")
	if err != nil {
		return nil, err
	}
	if err = d.InitTrace(words); err == nil {
		err = d.Mmap(writable)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// remoteArg is struct kcov_remote_arg with room for one handle.
type remoteArg struct {
	TraceMode    uint32
	AreaSize     uint32
	NumHandles   uint32
	_            uint32
	CommonHandle uint64
	Handles      [1]uint64
}

// RemoteEnable asks for coverage of background work named by handles
// (KCOV_REMOTE_ENABLE with zero or one handle and a common handle); like
// Enable it locks the calling goroutine to its thread until Disable.
func (d *Device) RemoteEnable(mode Mode, areaWords uint32, handles []uint64, common uint64) error {
	if len(handles) > 1 {
		return fmt.Errorf("kcov remote enable: at most one handle, got %d", len(handles))
	}
	arg := remoteArg{TraceMode: uint32(mode), AreaSize: areaWords, NumHandles: uint32(len(handles)), CommonHandle: common}
	copy(arg.Handles[:], handles)
	runtime.LockOSThread()
	err := d.ioctl("REMOTE_ENABLE", reqRemoteEnable, uintptr(unsafe.Pointer(&arg)))
	runtime.KeepAlive(&arg)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	d.locked, d.bitmapWords = true, 0
	return nil
}
