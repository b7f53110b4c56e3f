// Package runs runs many runs: a list of run requests in, one outcome per
// request out, in the order of the requests. It is the one piece the verbs
// compare, nightly, ask, bisect and mutants use to ask the core for runs,
// and AB is the interleaved two-kernel schedule that compare and ask share.
//
// It owns the order runs are made in, how many go at once (Batch.Parallel:
// a local pool of VMs, with one kernel build at a time) and when a list
// stops early, and returns outcomes in request order however the runs
// were made.
// It must not import a verb package, and makes no run itself: every run
// goes through lab.Run (or the stand-in a test gives it), never straight
// to QEMU, SSH or the guest image.
//
// Host needs: those of lab.Run. Tests (go test -short ./runs/) use a fake
// Run.
package runs

import (
	"context"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// RunFunc does one run: lab.Run, or a stand-in in tests.
type RunFunc func(context.Context, lab.Options) (*results.Result, error)

// Request is one run to make.
type Request struct {
	// Label names the run in logs and outcomes (e.g. a kernel name).
	Label string
	// Options are the run's; each request carries its own.
	Options lab.Options
}

// Outcome is one request's run.
type Outcome struct {
	Request
	// Index is the request's position in the list.
	Index  int
	Result *results.Result
	Err    error
}

// Batch runs a list of requests. Its zero value runs them with lab.Run.
type Batch struct {
	// Run does one run [lab.Run].
	Run RunFunc
	// Parallel is how many runs boot at once [1: one after another]. Above
	// 1 the batch is a pool (see pool.go): one kernel build at a time,
	// overlapped with runs of kernels already built, and at most one run
	// while a build compiles.
	Parallel int
	// Built says whether a request's kernel is built already [lab.Built];
	// asked once per kernel, only when Parallel is above 1.
	Built func(context.Context, lab.Options) (bool, error)
	// Start, when set, is called as each request's run is let go: in
	// request order, except that in a pool a request waiting for its
	// kernel's build lets later ones pass.
	Start func(i int, req Request)
	// Done, when set, is called with each outcome, in request order (never
	// two at once); an error stops the batch and is returned.
	Done func(o Outcome) error
}

// Do runs reqs one after another, in order, and returns the outcomes of
// the requests it ran, in request order. It stops after the request whose
// Done returned an error (that error), or whose run ended with ctx
// cancelled (ctx.Err(), which wins over Done's error).
//
// With Parallel above 1 it runs them as a pool (see pool.go); the outcomes
// and Done's calls are still in request order, a Done error still stops
// the batch (runs under way are cancelled, none starts), a failed run
// stops nothing, and Do returns only once every run it started has ended.
func (b Batch) Do(ctx context.Context, reqs []Request) ([]Outcome, error) {
	run := b.Run
	if run == nil {
		run = lab.Run
	}
	if b.Parallel > 1 {
		return b.doPool(ctx, reqs, run)
	}
	outs := make([]Outcome, 0, len(reqs))
	for i, req := range reqs {
		if b.Start != nil {
			b.Start(i, req)
		}
		res, err := run(ctx, req.Options)
		o := Outcome{Request: req, Index: i, Result: res, Err: err}
		outs = append(outs, o)
		var derr error
		if b.Done != nil {
			derr = b.Done(o)
		}
		if ctx.Err() != nil {
			return outs, ctx.Err()
		}
		if derr != nil {
			return outs, derr
		}
	}
	return outs, nil
}
