package cases

import (
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// Remote is the handle table of KCOV_REMOTE_ENABLE, which the series does
// not change: kcov_check_handle() (v2 kcov.c 667-682) accepts a handle only
// when no bit lies outside the subsystem byte and the instance word, and
// then by subsystem: COMMON instances are valid only as the common handle,
// USB ones only in handles[]. kcov_ioctl_locked() answers EINVAL for an
// invalid one (801-806, 817-822). Every class has the same answers.
func Remote() []check.Case {
	usb1 := kcov.SubsystemUSB | 1
	return []check.Case{
		{Name: "REMOTE_ENABLE handle with a bit outside subsystem and instance", Want: check.Everywhere(syscall.EINVAL), Run: remote([]uint64{usb1 | 1<<40}, 0)},
		{Name: "REMOTE_ENABLE handle of unknown subsystem 0x7f", Want: check.Everywhere(syscall.EINVAL), Run: remote([]uint64{0x7f<<56 | 1}, 0)},
		{Name: "REMOTE_ENABLE COMMON instance in handles[]", Want: check.Everywhere(syscall.EINVAL), Run: remote([]uint64{kcov.SubsystemCommon | 1}, 0)},
		{Name: "REMOTE_ENABLE USB handle as the common handle", Want: check.Everywhere(syscall.EINVAL), Run: remote(nil, usb1)},
		{Name: "REMOTE_ENABLE USB instance 1 in handles[]", Want: check.Everywhere(0), Run: remote([]uint64{usb1}, 0)},
	}
}

// remote probes KCOV_REMOTE_ENABLE(TRACE_PC) on an initialized fd and
// disables again when it succeeded.
func remote(handles []uint64, common uint64) func() check.Got {
	return func() check.Got {
		d, err := open(initialized)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		g := check.Got{Probe: d.RemoteEnable(kcov.TracePC, 1024, handles, common)}
		if g.Probe == nil {
			g.After = d.Disable()
		}
		return g
	}
}
