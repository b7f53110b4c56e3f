// Package runstest is a fake lab for tests of the verbs that make many
// runs (compare, ask, nightly, bisect, mutants) and of the pool: each run
// is answered from a script, the calls are kept in order, and what ran at
// once is recorded. It runs nothing. A Fake is safe for runs at once.
package runstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// Fake answers each run from Script, indexed by the kernel and the number
// of earlier runs of that kernel, and records the calls.
type Fake struct {
	// Calls are the runs' options, in the order the runs started.
	Calls  []lab.Options
	Script func(kernel string, n int) (*results.Result, error)
	// Build, when set, is the kernel stage: it runs before the options'
	// AfterKernel, which gets its error, and a build error ends the run
	// with it. Tests block here to hold a build.
	Build func(ctx context.Context, o lab.Options) error
	// Hold, when set, is called while the run "boots" (after the kernel
	// stage); tests block here to hold runs at once.
	Hold func(ctx context.Context, o lab.Options)

	mu      sync.Mutex
	booted  int
	maxBoot int
	events  []string
}

// Run is a lab.Run stand-in.
func (f *Fake) Run(ctx context.Context, o lab.Options) (*results.Result, error) {
	f.mu.Lock()
	n := 0
	for _, c := range f.Calls {
		if c.Kernel == o.Kernel {
			n++
		}
	}
	f.Calls = append(f.Calls, o)
	f.mu.Unlock()
	var kerr error
	if f.Build != nil {
		f.event("build " + o.Kernel)
		kerr = f.Build(ctx, o)
	}
	if o.AfterKernel != nil {
		if err := o.AfterKernel(ctx, kerr); err != nil && kerr == nil {
			kerr = err
		}
	}
	if kerr != nil {
		return nil, kerr
	}
	f.mu.Lock()
	f.booted++
	f.maxBoot = max(f.maxBoot, f.booted)
	f.events = append(f.events, "boot "+o.Kernel)
	f.mu.Unlock()
	if f.Hold != nil {
		f.Hold(ctx, o)
	}
	f.mu.Lock()
	f.booted--
	f.mu.Unlock()
	if ctx.Err() != nil {
		return &results.Result{}, fmt.Errorf("run of %s: %w", o.Kernel, context.Cause(ctx))
	}
	return f.Script(o.Kernel, n)
}

func (f *Fake) event(e string) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

// Kernels are the runs' kernels, in call order.
func (f *Fake) Kernels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.Calls {
		out = append(out, c.Kernel)
	}
	return out
}

// MaxBooted is the most runs that were past their kernel stage at once.
func (f *Fake) MaxBooted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxBoot
}

// Booted is how many runs are past their kernel stage now.
func (f *Fake) Booted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.booted
}

// Events are "build K" and "boot K", in the order they happened.
func (f *Fake) Events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

var runSeq atomic.Int64

// WriteRun gives r a run id unique in the test binary and writes its run
// directory under o.ResultsDir, as lab.Run would: for fakes whose runs
// must leave a result.json on disk (shards, merges).
func WriteRun(o lab.Options, r *results.Result) error {
	r.RunID = fmt.Sprintf("%s-%06d", time.Now().UTC().Format("20060102-150405"), runSeq.Add(1))
	dir := filepath.Join(o.ResultsDir, r.RunID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return r.Write(dir)
}
