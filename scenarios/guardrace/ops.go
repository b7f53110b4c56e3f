//go:build linux

package main

import (
	"strings"
	"syscall"
	"unsafe"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"golang.org/x/sys/unix"
)

// scratch holds one thread's syscall arguments and result buffers. It is
// allocated and used once (the warm-up pass) before coverage goes on, so
// no page fault or allocation of its own lands in the session.
type scratch struct {
	status, memfdName []byte // NUL-terminated paths and names
	pid               uintptr
	stx               unix.Statx_t
	rl                unix.Rlimit
	attr              unix.SchedAttr
	its, cur          unix.ItimerSpec
	uts               unix.Utsname
	si                unix.Sysinfo_t
	cpu, node         uint32
	capHdr            unix.CapUserHeader
	capData           [2]unix.CapUserData
	ru                unix.Rusage
	ts                unix.Timespec
	fds               [2]int32
	n                 int32
	word              uint64
	errnos            []syscall.Errno // one per op of the last pass
}

func newScratch(nops int) *scratch {
	s := &scratch{
		status:    []byte("/proc/self/status\x00"),
		memfdName: []byte("kcovlab-guardrace\x00"),
		pid:       uintptr(unix.Getpid()),
		its:       unix.ItimerSpec{Value: unix.Timespec{Sec: 3600}}, // never fires
		capHdr:    unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3},
		errnos:    make([]syscall.Errno, nops),
		word:      1,
	}
	return s
}

// op is one step of the path set: one or a few raw syscalls (no Go
// runtime syscall bookkeeping, which could park the thread on a futex
// inside the session) returning the first errno.
type op struct {
	name string
	run  func(*scratch) syscall.Errno
}

// fdcwd is AT_FDCWD (-100) as a syscall argument.
const fdcwd = ^uintptr(-unix.AT_FDCWD - 1)

// pathOps are the kernel paths the threads race on: syscalls a boot's
// other scenarios do not run in unique mode, each with its own code in
// fs/, kernel/ and mm/, so their guards are most likely still without an
// index when the race starts.
var pathOps = []op{
	{"statx", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall6(unix.SYS_STATX, fdcwd, uintptr(unsafe.Pointer(&s.status[0])), 0,
			unix.STATX_BASIC_STATS|unix.STATX_BTIME, uintptr(unsafe.Pointer(&s.stx)), 0)
		return e
	}},
	{"getrlimit", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_GETRLIMIT, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&s.rl)), 0)
		return e
	}},
	{"prlimit64", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_STACK, 0, uintptr(unsafe.Pointer(&s.rl)), 0, 0)
		return e
	}},
	{"sched_getattr", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall6(unix.SYS_SCHED_GETATTR, 0, uintptr(unsafe.Pointer(&s.attr)), unsafe.Sizeof(s.attr), 0, 0, 0)
		return e
	}},
	{"timerfd", func(s *scratch) syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_TIMERFD_CREATE, unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		_, _, e = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&s.its)), 0, 0, 0)
		if e == 0 {
			_, _, e = unix.RawSyscall(unix.SYS_TIMERFD_GETTIME, fd, uintptr(unsafe.Pointer(&s.cur)), 0)
		}
		return first(e, closeFD(fd))
	}},
	{"memfd", func(s *scratch) syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_MEMFD_CREATE, uintptr(unsafe.Pointer(&s.memfdName[0])), unix.MFD_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		_, _, e = unix.RawSyscall(unix.SYS_FTRUNCATE, fd, 8192, 0)
		return first(e, closeFD(fd))
	}},
	{"pipe_fionread", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PIPE2, uintptr(unsafe.Pointer(&s.fds)), unix.O_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		_, _, e = unix.RawSyscall(unix.SYS_IOCTL, uintptr(s.fds[0]), unix.TIOCINQ, uintptr(unsafe.Pointer(&s.n))) // TIOCINQ is FIONREAD
		return first(e, closeFD(uintptr(s.fds[0])), closeFD(uintptr(s.fds[1])))
	}},
	{"uname", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_UNAME, uintptr(unsafe.Pointer(&s.uts)), 0, 0)
		return e
	}},
	{"sysinfo", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_SYSINFO, uintptr(unsafe.Pointer(&s.si)), 0, 0)
		return e
	}},
	{"getcpu", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&s.cpu)), uintptr(unsafe.Pointer(&s.node)), 0)
		return e
	}},
	{"eventfd", func(s *scratch) syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_EVENTFD2, 0, unix.EFD_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		_, _, e = unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&s.word)), 8)
		if e == 0 {
			_, _, e = unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&s.word)), 8)
		}
		return first(e, closeFD(fd))
	}},
	{"capget", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&s.capHdr)), uintptr(unsafe.Pointer(&s.capData[0])), 0)
		return e
	}},
	{"getrusage", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_GETRUSAGE, unix.RUSAGE_THREAD, uintptr(unsafe.Pointer(&s.ru)), 0)
		return e
	}},
	{"sched_rr_get_interval", func(s *scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_SCHED_RR_GET_INTERVAL, 0, uintptr(unsafe.Pointer(&s.ts)), 0)
		return e
	}},
	{"inotify", func(s *scratch) syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_INOTIFY_INIT1, unix.IN_CLOEXEC, 0, 0)
		if e != 0 {
			return e
		}
		return closeFD(fd)
	}},
	{"pidfd_open", func(s *scratch) syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_PIDFD_OPEN, s.pid, 0, 0)
		if e != 0 {
			return e
		}
		return closeFD(fd)
	}},
}

// probeOps run in the probe session before the race: syscalls outside
// pathOps, so they do not index the race's guards.
var probeOps = []op{
	{"sched_get_priority_max", func(*scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_SCHED_GET_PRIORITY_MAX, unix.SCHED_FIFO, 0, 0)
		return e
	}},
	{"personality", func(*scratch) syscall.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0) // query only
		return e
	}},
}

func closeFD(fd uintptr) syscall.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	return e
}

// first is the first non-zero errno.
func first(errs ...syscall.Errno) syscall.Errno {
	for _, e := range errs {
		if e != 0 {
			return e
		}
	}
	return 0
}

// runOps runs every op once and keeps its errno in s.errnos.
func runOps(list []op, s *scratch) {
	for i, o := range list {
		s.errnos[i] = o.run(s)
	}
}

// opNames lists the ops, comma-separated.
func opNames(list []op) string {
	names := make([]string, len(list))
	for i, o := range list {
		names[i] = o.name
	}
	return strings.Join(names, ", ")
}

// opResults is "name errno" for every op, comma-separated.
func opResults(list []op, errnos []syscall.Errno) string {
	parts := make([]string, len(list))
	for i, o := range list {
		parts[i] = o.name + " " + kcov.ErrnoName(errnos[i])
	}
	return strings.Join(parts, ", ")
}
