package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// MinMemoryMB is the least guest memory a KCOV kernel and the u-root image
// boot in.
const MinMemoryMB = 128

// validate checks what defaults cannot fill in, before anything is built:
// each problem names the flag, the value and what to do.
func (o *Options) validate() error {
	switch {
	case o.CPUs < 1:
		return fmt.Errorf("--cpus %d: want 1 or more guest vCPUs", o.CPUs)
	case o.MemoryMB < MinMemoryMB:
		return fmt.Errorf("--memory %d: want at least %d MiB of guest memory", o.MemoryMB, MinMemoryMB)
	case o.Jobs < 1:
		return fmt.Errorf("--make-jobs %d: want 1 or more make jobs", o.Jobs)
	case o.BootTimeout < 0:
		return fmt.Errorf("--boot-timeout %s: want a positive duration (or 0 for the default)", o.BootTimeout)
	case o.BootRuns < 0:
		return fmt.Errorf("--boot-runs %d: want 1 or more boots (or 0 for the scenario's)", o.BootRuns)
	case o.ScenarioTimeout < 0:
		return fmt.Errorf("--scenario-timeout %s: want a positive duration", o.ScenarioTimeout)
	case o.CacheDir == "":
		return errors.New("no cache directory: HOME is unset; set KCOVLAB_CACHE or pass --cache DIR")
	}
	if _, err := vm.LookupSetup(o.Machine); err != nil {
		return fmt.Errorf("--machine %q: want one of %s", o.Machine, strings.Join(MachineSetups(), ", "))
	}
	if err := CheckCacheDir(o.CacheDir); err != nil {
		return err
	}
	if err := o.checkLoop(); err != nil {
		return err
	}
	if o.KernelSrc != "" {
		if err := kbuild.CheckTree(o.KernelSrc); err != nil {
			return err
		}
		if _, err := kbuild.LocalTree(context.Background(), o.KernelSrc); errors.Is(err, kbuild.ErrNotTopLevel) {
			return err
		}
	}
	return nil
}

// CheckCacheDir refuses a cache directory another user owns: its kernels
// and images would be booted as they are, and a predictable path (in /tmp)
// could have been made by anyone. A directory that does not exist yet is
// made by the run, owned by the user.
func CheckCacheDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache %s: not a directory; pass --cache DIR", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("cache %s is owned by uid %d, not by you (uid %d): refusing to use it; pass --cache with a directory of your own", dir, st.Uid, os.Geteuid())
	}
	return nil
}
