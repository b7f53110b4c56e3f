// Package runstest is a fake lab for tests of the verbs that make many
// runs (compare, ask): each run is answered from a script, and the calls
// are kept in order. It runs nothing.
package runstest

import (
	"context"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// Fake answers each run from Script, indexed by the kernel and the number
// of earlier runs of that kernel, and records the calls.
type Fake struct {
	Calls  []lab.Options
	Script func(kernel string, n int) (*results.Result, error)
}

// Run is a lab.Run stand-in.
func (f *Fake) Run(ctx context.Context, o lab.Options) (*results.Result, error) {
	n := 0
	for _, c := range f.Calls {
		if c.Kernel == o.Kernel {
			n++
		}
	}
	f.Calls = append(f.Calls, o)
	return f.Script(o.Kernel, n)
}

// Kernels are the runs' kernels, in call order.
func (f *Fake) Kernels() []string {
	var out []string
	for _, c := range f.Calls {
		out = append(out, c.Kernel)
	}
	return out
}
