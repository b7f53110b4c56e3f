package kcov

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrnoOf returns the errno inside err: 0 for a nil error. ok is false when
// err carries no errno at all, so the failure was not the kernel's answer.
func ErrnoOf(err error) (e syscall.Errno, ok bool) {
	if err == nil {
		return 0, true
	}
	if errors.As(err, &e) {
		return e, true
	}
	return 0, false
}

// ErrnoName is the short name of an errno KCOV answers with ("EINVAL",
// "ENOTSUPP"), "success" for 0, and the number with its text otherwise.
func ErrnoName(e syscall.Errno) string {
	switch e {
	case 0:
		return "success"
	case ENOTSUPP:
		return "ENOTSUPP"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EBUSY:
		return "EBUSY"
	case syscall.ENOTTY:
		return "ENOTTY"
	case syscall.EPERM:
		return "EPERM"
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EBADF:
		return "EBADF"
	case syscall.EFAULT:
		return "EFAULT"
	case syscall.ENOMEM:
		return "ENOMEM"
	case syscall.EACCES:
		return "EACCES"
	case syscall.ENODEV:
		return "ENODEV"
	}
	return fmt.Sprintf("errno %d (%s)", int(e), e.Error())
}
