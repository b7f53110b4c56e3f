//go:build linux

// Command unique checks KCOV_UNIQUE_ENABLE against what the kernel should
// answer: on a CONFIG_KCOV_UNIQUE kernel it must succeed and record each PC
// at most once; with the series but CONFIG_KCOV_UNIQUE=n it must fail with
// ENOTSUPP (524); on a kernel without the series with ENOTTY.
package main

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
)

const (
	bufWords    = 64 << 10
	bitmapWords = 4 << 10
)

func main() { scenarios.Main("unique", measure) }

func measure(o *scenarios.Outcome, kernel string) error {
	want, ok := map[string]syscall.Errno{"unique": 0, "nounique": kcov.ENOTSUPP, "unpatched": syscall.ENOTTY}[kernel]
	if !ok {
		return fmt.Errorf("-kernel %q: want unique, nounique or unpatched", kernel)
	}
	d, err := kcov.OpenMapped(bufWords, true)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.EnableUnique(bitmapWords)
	got := errnoOf(err)
	o.Metrics["errno"] = float64(got)
	o.Evidence = append(o.Evidence, fmt.Sprintf("KCOV_UNIQUE_ENABLE(%d) on a %s kernel: %s, want %s", bitmapWords, kernel, errText(got), errText(want)))
	if err != nil && got == 0 {
		return err
	}
	if got != want {
		return nil
	}
	if got != 0 {
		o.Pass = true
		return nil
	}
	return traceOnce(o, d)
}

// traceOnce records one syscall in unique mode and checks no PC repeats.
func traceOnce(o *scenarios.Outcome, d *kcov.Device) error {
	d.ResetCount()
	kcov.NullSyscall()
	tr, err := d.Snapshot()
	if derr := d.Disable(); err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	dups := len(tr.PCs) - len(kcov.Unique(tr.PCs))
	o.Metrics["pcs"] = float64(tr.Count)
	o.Metrics["duplicates"] = float64(dups)
	o.Metrics["bitmap_bits"] = float64(kcov.BitmapCount(d.Buffer()[:bitmapWords]))
	o.Pass = tr.Count > 0 && dups == 0 && !tr.Saturated
	if dups > 0 {
		o.Evidence = append(o.Evidence, fmt.Sprintf("%d PCs recorded more than once in unique mode", dups))
	}
	return nil
}

func errnoOf(err error) syscall.Errno {
	var e *kcov.IoctlError
	if errors.As(err, &e) {
		return e.Errno
	}
	return 0
}

func errText(e syscall.Errno) string {
	switch e {
	case 0:
		return "success"
	case kcov.ENOTSUPP:
		return "ENOTSUPP (524)"
	}
	return fmt.Sprintf("%s (%d)", e.Error(), int(e))
}
