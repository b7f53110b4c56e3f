package cases

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/check"
)

// Every fd gets a buffer of BufWords words; unique mode carves BitmapWords
// of them for the bitmap.
const (
	BufWords    = 4096
	BitmapWords = 1024
)

// stage is how far an fd has been set up.
type stage int

const (
	opened      stage = iota // open() only
	initialized              // KCOV_INIT_TRACE(BufWords)
	mapped                   // and mmap() read-write
)

// open returns a KCOV fd taken through the setup steps up to s.
func open(s stage) (*kcov.Device, error) {
	d, err := kcov.Open("")
	if err != nil {
		return nil, err
	}
	if s >= initialized {
		err = d.InitTrace(BufWords)
	}
	if err == nil && s >= mapped {
		err = d.Mmap(true)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// enabled returns a mapped fd with coverage on for the calling thread:
// TRACE_PC when bitmap is 0, unique mode with that bitmap otherwise.
func enabled(bitmap int) (*kcov.Device, error) {
	d, err := open(mapped)
	if err != nil {
		return nil, err
	}
	if bitmap == 0 {
		err = d.Enable(kcov.TracePC)
	} else {
		err = d.EnableUnique(bitmap)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// probeEnable runs a probe that may turn coverage on, and turns it off
// again when it did.
func probeEnable(d *kcov.Device, probe func() error) check.Got {
	g := check.Got{Probe: probe()}
	if g.Probe == nil {
		if err := d.Disable(); err != nil {
			g.After = fmt.Errorf("DISABLE after the probe: %w", err)
		}
	}
	return g
}

// uniqueAt probes KCOV_UNIQUE_ENABLE(words) on an fd set up to s.
func uniqueAt(s stage, words int) func() check.Got {
	return func() check.Got {
		d, err := open(s)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		return probeEnable(d, func() error { return d.EnableUnique(words) })
	}
}

// traceAt probes KCOV_ENABLE(TRACE_PC) on an fd set up to s.
func traceAt(s stage) func() check.Got {
	return func() check.Got {
		d, err := open(s)
		if err != nil {
			return check.Got{Setup: err}
		}
		defer d.Close()
		return probeEnable(d, func() error { return d.Enable(kcov.TracePC) })
	}
}

// syscalls makes n cheap syscalls so the trace holds something.
func syscalls(n int) {
	for range n {
		kcov.NullSyscall()
	}
}

// All is every row: enables, busy fds, re-enables, resets.
func All() []check.Case {
	var all []check.Case
	for _, part := range [][]check.Case{Enable(), Busy(), Reenable(), Reset(), Remote()} {
		all = append(all, part...)
	}
	return all
}
