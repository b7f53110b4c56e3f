package runs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/kcovlab/kcovlab/lab"
)

// The pool: Batch.Do with Parallel > 1. Every request gets a goroutine that
// waits for the scheduler's word, makes its run and hands its outcome back;
// the scheduler (pool, under one mutex) decides who goes, from these rules:
//
//   - at most Parallel runs hold a VM slot at once; while a kernel build
//     compiles, at most one;
//   - one kernel build at a time: the first request of a kernel that is
//     not built yet builds it (it holds the build slot, not a VM slot,
//     until lab.Run's AfterKernel says the kernel stage is over); the other
//     requests of that kernel wait for it, later requests of built kernels
//     run meanwhile;
//   - among the requests that may go, the earliest goes first, so runs start
//     in request order but for those waiting on a build;
//   - outcomes reach Done in request order; a request whose kernel did not
//     build gets that error without a run of its own.

// errStopped ends a run that built its kernel after the batch stopped.
var errStopped = errors.New("the batch of runs stopped")

// role is what a request was let do.
type role int

const (
	roleStop  role = iota // the batch stopped: no run
	roleVM                // run, holding a VM slot
	roleBuild             // run, holding the build slot until its kernel is ready
	roleSkip              // its kernel did not build: no run, that error
)

// kernelState is one kernel's build, shared by the requests that use it.
type kernelState struct {
	ready   bool  // built (or found in the cache), or failed (err)
	err     error // why it did not build
	builder int   // the request that builds it (-1: it was built before)
}

type pool struct {
	b    Batch
	reqs []Request
	run  RunFunc

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change of the state below
	keys     []string
	kernels  map[string]*kernelState
	waiting  []bool // waits for a grant (before its run, or a builder in AfterKernel)
	started  []bool // Start was called
	vms      int    // runs holding a VM slot
	building int    // the request holding the build slot (-1: none)
	stopped  bool
	stopErr  error // Done's error that stopped the batch
	outs     []*Outcome
	held     []*bytes.Buffer // each run's Out, printed at its delivery
	next     int             // the next outcome Done gets
	done     []Outcome       // what Done got, in request order
	doneMu   sync.Mutex      // serialises Done
	stopRuns context.CancelFunc
}

// kernelKey names the kernel a run uses: requests with the same key share
// one build.
func kernelKey(o lab.Options) string {
	name := o.Kernel
	if def, err := o.KernelDef(); err == nil {
		name = def.Name + "\x00" + strings.Join(def.Fragments, ",")
	}
	return strings.Join([]string{name, o.Series, o.KernelSrc, o.Tarball, o.CacheDir}, "\x00")
}

func (b Batch) doPool(ctx context.Context, reqs []Request, run RunFunc) ([]Outcome, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := len(reqs)
	p := &pool{b: b, reqs: reqs, run: run, stopRuns: cancel, building: -1,
		changed: make(chan struct{}), kernels: map[string]*kernelState{},
		waiting: make([]bool, n), started: make([]bool, n),
		outs: make([]*Outcome, n), held: make([]*bytes.Buffer, n)}
	built := b.Built
	if built == nil {
		built = lab.Built
	}
	for i, req := range reqs {
		k := kernelKey(req.Options)
		p.keys = append(p.keys, k)
		if p.kernels[k] != nil {
			continue
		}
		ks := &kernelState{builder: i}
		if ok, err := built(ctx, req.Options); ok && err == nil {
			ks.ready, ks.builder = true, -1
		}
		p.kernels[k] = ks
	}
	for i := range p.waiting {
		p.waiting[i] = true
	}
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx, i)
		}()
	}
	wg.Wait()
	return p.finish(parent)
}

// work is request i from its grant to its outcome.
func (p *pool) work(ctx context.Context, i int) {
	r := p.acquire(ctx, i)
	req := p.reqs[i]
	switch r {
	case roleStop:
		return
	case roleSkip:
		p.mu.Lock()
		err := p.kernels[p.keys[i]].err
		p.mu.Unlock()
		p.deliver(i, Outcome{Request: req, Index: i, Err: err})
		return
	}
	opts := req.Options
	// The pool already fills the host's cores with runs: a run's trial
	// guests boot when their turn comes, not all beside its shared guest.
	opts.SerialTrials = true
	// Runs at once: each one's log lines name it, and its summary is
	// held back and printed with its outcome, in request order.
	if opts.Log != nil {
		opts.Log = opts.Log.With("run", req.Label)
	}
	if opts.Out != nil && opts.Out != io.Discard {
		p.held[i] = &bytes.Buffer{}
		opts.Out = p.held[i]
	}
	holdsVM := r == roleVM
	if r == roleBuild {
		next := opts.AfterKernel
		opts.AfterKernel = func(ctx context.Context, kerr error) error {
			p.kernelReady(ctx, i, kerr)
			if kerr == nil {
				if p.acquire(ctx, i) != roleVM {
					return cmp.Or(context.Cause(ctx), errStopped)
				}
				holdsVM = true
			}
			if next != nil {
				return next(ctx, kerr)
			}
			return nil
		}
	}
	res, err := p.run(ctx, opts)
	// A run that never reached AfterKernel (it failed before its kernel
	// stage, or a stand-in has none) lets the kernel's other requests go.
	p.kernelReady(ctx, i, nil)
	p.deliver(i, Outcome{Request: req, Index: i, Result: res, Err: err})
	if holdsVM {
		p.mu.Lock()
		p.vms--
		p.broadcast()
		p.mu.Unlock()
	}
}

// acquire waits until request i may go and says how: first before its
// run, and again in AfterKernel for a builder whose kernel is ready (it
// then waits for a VM slot). Start is called as a run is let go, so that
// starts are logged in the order they are granted.
func (p *pool) acquire(ctx context.Context, i int) role {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiting[i] = true
	defer func() { p.waiting[i] = false }()
	for {
		if r, ok := p.grant(i); ok {
			switch r {
			case roleVM:
				p.vms++
			case roleBuild:
				p.building = i
			}
			if (r == roleVM || r == roleBuild) && !p.started[i] {
				p.started[i] = true
				if p.b.Start != nil {
					p.b.Start(i, p.reqs[i])
				}
			}
			p.waiting[i] = false
			p.broadcast()
			return r
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		p.mu.Lock()
		if ctx.Err() != nil {
			return roleStop
		}
	}
}

// grant is the scheduler's rule for request i (under mu): its role, or
// false while it must wait. Every request counts as waiting from the start,
// so that a goroutine that reaches acquire early cannot overtake an
// earlier request.
func (p *pool) grant(i int) (role, bool) {
	if p.stopped {
		return roleStop, true
	}
	ks := p.kernels[p.keys[i]]
	switch {
	case ks.ready && ks.err != nil:
		return roleSkip, true
	case !ks.ready:
		if ks.builder != i || p.building != -1 {
			return 0, false
		}
		// Builds go in the order of their first request.
		for j := range i {
			if p.waiting[j] && p.wantsBuild(j) {
				return 0, false
			}
		}
		return roleBuild, true
	}
	if p.vms >= p.limit() {
		return 0, false
	}
	for j := range i {
		if p.waiting[j] && p.wantsVM(j) {
			return 0, false
		}
	}
	return roleVM, true
}

func (p *pool) wantsBuild(j int) bool {
	ks := p.kernels[p.keys[j]]
	return !ks.ready && ks.builder == j
}

func (p *pool) wantsVM(j int) bool {
	ks := p.kernels[p.keys[j]]
	return ks.ready && ks.err == nil
}

// limit is how many runs may hold a VM slot now: one while a kernel
// build has the cores.
func (p *pool) limit() int {
	if p.building != -1 {
		return 1
	}
	return p.b.Parallel
}

// kernelReady ends request i's build, if it holds the build slot: its
// kernel is ready (or failed with kerr) for the requests waiting on it.
func (p *pool) kernelReady(ctx context.Context, i int, kerr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.building != i {
		return
	}
	p.building = -1
	ks := p.kernels[p.keys[i]]
	ks.ready = true
	if kerr != nil && ctx.Err() == nil {
		ks.err = kerr
	}
	p.broadcast()
}

// deliver records request i's outcome and hands Done every outcome now
// complete in request order. Done's error stops the batch: no run starts
// any more and the runs under way are cancelled.
func (p *pool) deliver(i int, o Outcome) {
	p.mu.Lock()
	p.outs[i] = &o
	p.mu.Unlock()
	p.doneMu.Lock()
	defer p.doneMu.Unlock()
	for {
		p.mu.Lock()
		if p.stopped || p.next >= len(p.outs) || p.outs[p.next] == nil {
			p.mu.Unlock()
			return
		}
		o := *p.outs[p.next]
		held := p.held[p.next]
		p.next++
		p.mu.Unlock()
		if held != nil {
			o.Options.Out.Write(held.Bytes())
		}
		p.done = append(p.done, o)
		if p.b.Done == nil {
			continue
		}
		if err := p.b.Done(o); err != nil {
			p.mu.Lock()
			p.stopped, p.stopErr = true, err
			p.broadcast()
			p.mu.Unlock()
			p.stopRuns()
			return
		}
	}
}

// finish hands Done what is left once every request has ended: after a
// cancellation, the outcomes of the runs that were made, in order, past
// the requests that never ran. Cancellation wins over Done's error.
func (p *pool) finish(ctx context.Context) ([]Outcome, error) {
	if p.stopErr == nil {
		for i, o := range p.outs[p.next:] {
			if o == nil {
				continue
			}
			if held := p.held[p.next+i]; held != nil {
				o.Options.Out.Write(held.Bytes())
			}
			p.done = append(p.done, *o)
			if p.b.Done != nil {
				p.b.Done(*o)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return p.done, err
	}
	return p.done, p.stopErr
}

func (p *pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}
