package nightly

import (
	"context"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs/runstest"
)

// A nightly on a pool: every kernel's run boots at once, they end in the
// reverse order, and the night still lists the kernels in the order asked.
func TestNightlyPoolKeepsKernelOrder(t *testing.T) {
	kernels := []string{"vanilla", "v2", "v4"}
	ended := map[string]chan struct{}{}
	for _, k := range kernels {
		ended[k] = make(chan struct{})
	}
	after := map[string]string{"vanilla": "v2", "v2": "v4"}
	f := &runstest.Fake{
		Script: func(k string, _ int) (*results.Result, error) {
			return &results.Result{Schema: results.SchemaVersion, RunID: "run-" + k, Kernel: results.Kernel{Name: k},
				Scenarios: []results.Scenario{{Name: "smoke", Verdict: results.Pass}}}, nil
		},
		Hold: func(_ context.Context, o lab.Options) {
			if next, ok := after[o.Kernel]; ok {
				select {
				case <-ended[next]:
				case <-time.After(5 * time.Second): // one at a time: the next never ran
				}
			}
			close(ended[o.Kernel])
		},
	}
	no := Options{Options: lab.Options{ModuleDir: t.TempDir(), ResultsDir: t.TempDir(), CacheDir: t.TempDir(), Out: io.Discard},
		Kernels: kernels, Parallel: 3, run: f.Run,
		built: func(context.Context, lab.Options) (bool, error) { return true, nil }}
	nr, err := Nightly(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range nr.Runs {
		got = append(got, r.Kernel.Name)
	}
	if !reflect.DeepEqual(got, kernels) {
		t.Errorf("night lists %v, want %v", got, kernels)
	}
	if n := f.MaxBooted(); n != 3 {
		t.Errorf("%d runs at once, want 3", n)
	}
}
