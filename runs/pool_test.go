package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// ok answers every run with a result named after its kernel and number.
func ok(kernel string, n int) (*results.Result, error) {
	return &results.Result{RunID: fmt.Sprintf("%s-%d", kernel, n)}, nil
}

// allBuilt says every kernel but those named is in the cache.
func allBuilt(unbuilt ...string) func(context.Context, lab.Options) (bool, error) {
	return func(_ context.Context, o lab.Options) (bool, error) { return !slices.Contains(unbuilt, o.Kernel), nil }
}

// waitFor receives from ch or fails the test after a while (a pool that
// deadlocks, or never lets the awaited run go).
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// At most Parallel runs boot at once, and the bound is reached.
func TestPoolBound(t *testing.T) {
	entered, release := make(chan struct{}, 8), make(chan struct{})
	f := &runstest.Fake{Script: ok, Hold: func(context.Context, lab.Options) {
		entered <- struct{}{}
		<-release
	}}
	b := Batch{Run: f.Run, Parallel: 3, Built: allBuilt()}
	reqs := requests("a", "b", "c", "d", "e", "f", "g", "h")
	var outs []Outcome
	var err error
	finished := make(chan struct{})
	go func() {
		outs, err = b.Do(context.Background(), reqs)
		close(finished)
	}()
	for range 3 {
		waitFor(t, entered, "three runs to boot")
	}
	time.Sleep(100 * time.Millisecond) // room for a fourth to break the bound
	held := f.Booted()
	close(release)
	waitFor(t, finished, "the batch")
	if err != nil || len(outs) != len(reqs) {
		t.Fatalf("%d outcomes, err %v", len(outs), err)
	}
	if got := f.MaxBooted(); held != 3 || got != 3 {
		t.Errorf("%d runs booted at once while held, %d at most: want 3 (--jobs 3)", held, got)
	}
}

// Outcomes come back, and Done sees them, in request order although the
// runs end in the reverse order; Start is called in request order.
func TestPoolOrder(t *testing.T) {
	reqs := requests("a", "b", "c", "d", "e")
	ended := map[string]chan struct{}{}
	for _, r := range reqs {
		ended[r.Label] = make(chan struct{})
	}
	var finished []string
	var mu sync.Mutex
	f := &runstest.Fake{Script: ok, Hold: func(_ context.Context, o lab.Options) {
		if o.Kernel != "e" {
			<-ended[string(rune(o.Kernel[0]+1))] // each run ends after the next one
		}
		mu.Lock()
		finished = append(finished, o.Kernel)
		mu.Unlock()
		close(ended[o.Kernel])
	}}
	var started, done []string
	b := Batch{Run: f.Run, Parallel: len(reqs), Built: allBuilt(),
		Start: func(_ int, r Request) { started = append(started, r.Label) },
		Done:  func(o Outcome) error { done = append(done, o.Label); return nil },
	}
	outs, err := b.Do(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c", "d", "e"}
	if !reflect.DeepEqual(finished, []string{"e", "d", "c", "b", "a"}) {
		t.Fatalf("runs finished in order %v: the test did not reverse them", finished)
	}
	var got []string
	for i, o := range outs {
		got = append(got, o.Label)
		if o.Index != i || o.Result.RunID != o.Label+"-0" {
			t.Errorf("outcome %d: index %d, result %+v", i, o.Index, o.Result)
		}
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(done, want) || !reflect.DeepEqual(started, want) {
		t.Errorf("outcomes %v, Done %v, Start %v: want all %v", got, done, started, want)
	}
}

// Cancelling stops every run under way and starts none; Do returns only
// after every run has ended, with the cancellation and the runs made.
func TestPoolCancelStopsAll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered := make(chan struct{}, 8)
	f := &runstest.Fake{Script: ok, Hold: func(ctx context.Context, _ lab.Options) {
		entered <- struct{}{}
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // QEMU takes a moment to die
	}}
	var done atomic.Int32
	b := Batch{Run: f.Run, Parallel: 2, Built: allBuilt(), Done: func(Outcome) error { done.Add(1); return nil }}
	go func() {
		waitFor(t, entered, "first run")
		waitFor(t, entered, "second run")
		cancel()
	}()
	outs, err := b.Do(ctx, requests("a", "b", "c", "d", "e"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled", err)
	}
	if n := f.Booted(); n != 0 {
		t.Errorf("Do returned with %d runs still going (an orphan QEMU)", n)
	}
	if n := len(f.Calls); n != 2 {
		t.Errorf("%d runs started, want the 2 under way at the cancellation", n)
	}
	if len(outs) != 2 || done.Load() != 2 {
		t.Errorf("%d outcomes, %d Done calls: want the 2 runs made", len(outs), done.Load())
	}
}

// buildLog is a fake kernel stage: the kernels in unbuilt compile until
// the test releases them (one channel each); the others, and a kernel
// once built, are cache hits.
type buildLog struct {
	mu       sync.Mutex
	built    map[string]bool
	release  map[string]chan struct{}
	now, max int // builds compiling now, and the most at once
	order    []string
}

func newBuildLog(unbuilt ...string) *buildLog {
	bl := &buildLog{built: map[string]bool{}, release: map[string]chan struct{}{}}
	for _, k := range unbuilt {
		bl.release[k] = make(chan struct{})
	}
	return bl
}

func (bl *buildLog) build(ctx context.Context, o lab.Options) error {
	bl.mu.Lock()
	ch, compile := bl.release[o.Kernel]
	compile = compile && !bl.built[o.Kernel]
	if compile {
		bl.now++
		bl.max = max(bl.max, bl.now)
		bl.order = append(bl.order, o.Kernel)
	}
	bl.mu.Unlock()
	if !compile {
		return nil
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
	bl.mu.Lock()
	bl.now--
	bl.built[o.Kernel] = true
	bl.mu.Unlock()
	return ctx.Err()
}

func (bl *buildLog) compiling() int {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return bl.now
}

// One kernel build at a time, in request order; while one compiles, runs
// of a kernel already built go on (overlap), but only one at a time.
func TestPoolBuildsOneAtATimeAndOverlaps(t *testing.T) {
	bl := newBuildLog("B", "C")
	entered, releaseA := make(chan string, 8), make(chan struct{})
	var crowded atomic.Int32 // runs that booted beside another during a build
	f := &runstest.Fake{Script: ok, Build: bl.build}
	f.Hold = func(_ context.Context, o lab.Options) {
		if bl.compiling() > 0 && f.Booted() > 1 {
			crowded.Add(1)
		}
		entered <- o.Kernel
		if o.Kernel == "A" {
			<-releaseA
		}
	}
	b := Batch{Run: f.Run, Parallel: 2, Built: allBuilt("B", "C")}
	var outs []Outcome
	var err error
	finished := make(chan struct{})
	go func() {
		outs, err = b.Do(context.Background(), requests("B", "C", "A", "A", "B"))
		close(finished)
	}()
	// B compiles; the first A boots meanwhile.
	if k := waitFor(t, entered, "a run of built kernel A during B's build (no overlap)"); k != "A" {
		t.Fatalf("%s booted first, want A", k)
	}
	time.Sleep(100 * time.Millisecond) // room for a second A to break the one-run rule
	releaseA <- struct{}{}
	if k := waitFor(t, entered, "the second A"); k != "A" {
		t.Fatalf("%s booted, want the second A (B still compiling)", k)
	}
	releaseA <- struct{}{}
	close(bl.release["B"])
	close(bl.release["C"])
	waitFor(t, finished, "the batch")
	if err != nil || len(outs) != 5 {
		t.Fatalf("%d outcomes, err %v", len(outs), err)
	}
	if bl.max != 1 {
		t.Errorf("%d kernel builds at once, want 1", bl.max)
	}
	if !reflect.DeepEqual(bl.order, []string{"B", "C"}) {
		t.Errorf("kernels compiled: %v, want B then C, each once", bl.order)
	}
	if n := crowded.Load(); n > 0 {
		t.Errorf("%d runs booted beside another while a kernel compiled, want one run at a time then", n)
	}
}

// A kernel that does not build fails its own requests (without building it
// again) and no other: the other kernels' results all come back.
func TestPoolKernelFailureKeepsOthers(t *testing.T) {
	broken := errors.New("make: exit 2")
	f := &runstest.Fake{Script: func(k string, n int) (*results.Result, error) {
		if k == "C" {
			return &results.Result{RunID: "C-0"}, lab.ErrScenarioFailed
		}
		return ok(k, n)
	}, Build: func(_ context.Context, o lab.Options) error {
		if o.Kernel == "B" {
			return broken
		}
		return nil
	}}
	b := Batch{Run: f.Run, Parallel: 3, Built: allBuilt("B")}
	outs, err := b.Do(context.Background(), requests("B", "A", "B", "C", "A"))
	if err != nil || len(outs) != 5 {
		t.Fatalf("%d outcomes, err %v", len(outs), err)
	}
	for i, want := range []error{broken, nil, broken, lab.ErrScenarioFailed, nil} {
		if o := outs[i]; !errors.Is(o.Err, want) || (want == nil && o.Result == nil) {
			t.Errorf("outcome %d (%s): err %v, result %v; want %v", i, o.Label, o.Err, o.Result, want)
		}
	}
	got := f.Kernels()
	bs := 0
	for _, k := range got {
		if k == "B" {
			bs++
		}
	}
	if len(got) != 4 || bs != 1 {
		t.Errorf("runs %v: B's build must be tried once", got)
	}
}

// Done's error stops the pool: runs under way are cancelled, no run starts
// after it, and the outcomes end with the one Done refused.
func TestPoolDoneStops(t *testing.T) {
	stop := errors.New("stop")
	f := &runstest.Fake{Script: ok, Hold: func(ctx context.Context, o lab.Options) {
		if o.Kernel != "a" {
			<-ctx.Done()
		}
	}}
	b := Batch{Run: f.Run, Parallel: 2, Built: allBuilt(), Done: func(o Outcome) error {
		if o.Label == "a" {
			return stop
		}
		return nil
	}}
	outs, err := b.Do(context.Background(), requests("a", "b", "c", "d"))
	if !errors.Is(err, stop) || len(outs) != 1 || outs[0].Label != "a" {
		t.Fatalf("err %v after %d outcomes, want %v after a", err, len(outs), stop)
	}
	if got := f.Kernels(); len(got) > 2 {
		t.Errorf("runs %v started: none may start after Done stopped the pool", got)
	}
}

func TestDefaultParallel(t *testing.T) {
	tests := []struct {
		cores, cpus int
		accel       string
		building    bool
		want        int
	}{
		{2, 2, "tcg", false, 4},
		{2, 2, "tcg", true, 1},
		{2, 1, "tcg", false, 8},
		{1, 4, "tcg", false, 1},
		{1, 8, "tcg", false, 1},
		{4, 2, "kvm", false, 2},
		{4, 2, "kvm", true, 1},
		{2, 4, "kvm", false, 1},
		{16, 2, "kvm", false, 8},
		{2, 0, "kvm", false, 2},
	}
	for _, tt := range tests {
		got, why := DefaultParallel(tt.cores, tt.cpus, tt.accel, tt.building, "pid 1: building v4")
		if got != tt.want || why == "" {
			t.Errorf("DefaultParallel(%d cores, %d vCPUs, %s, building %v) = %d (%s), want %d",
				tt.cores, tt.cpus, tt.accel, tt.building, got, why, tt.want)
		}
	}
}

// Runs at once print their summaries whole and in request order, however
// they end.
func TestPoolHoldsOutput(t *testing.T) {
	var out bytes.Buffer
	second := make(chan struct{})
	run := func(_ context.Context, o lab.Options) (*results.Result, error) {
		if o.Kernel == "a" {
			<-second // a ends after b
		}
		fmt.Fprintf(o.Out, "%s: line 1\n", o.Kernel)
		fmt.Fprintf(o.Out, "%s: line 2\n", o.Kernel)
		if o.Kernel == "b" {
			close(second)
		}
		return ok(o.Kernel, 0)
	}
	reqs := requests("a", "b")
	for i := range reqs {
		reqs[i].Options.Out = &out
	}
	if _, err := (Batch{Run: run, Parallel: 2, Built: allBuilt()}).Do(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	if want := "a: line 1\na: line 2\nb: line 1\nb: line 2\n"; out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}

// A pool's runs boot their trial guests one at a time (the pool already
// fills the cores); a batch run one after another lets them boot ahead.
func TestPoolRunsTrialsSerially(t *testing.T) {
	for _, parallel := range []int{1, 2} {
		var mu sync.Mutex
		var serial []bool
		run := func(_ context.Context, o lab.Options) (*results.Result, error) {
			mu.Lock()
			serial = append(serial, o.SerialTrials)
			mu.Unlock()
			return &results.Result{RunID: o.Kernel}, nil
		}
		b := Batch{Run: run, Parallel: parallel, Built: allBuilt()}
		if _, err := b.Do(context.Background(), requests("a", "b")); err != nil {
			t.Fatal(err)
		}
		want := parallel > 1
		if len(serial) != 2 || serial[0] != want || serial[1] != want {
			t.Errorf("parallel %d: SerialTrials %v, want %v for each run", parallel, serial, want)
		}
	}
}
