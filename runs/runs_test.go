package runs

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

func requests(kernels ...string) []Request {
	var reqs []Request
	for _, k := range kernels {
		reqs = append(reqs, Request{Label: k, Options: lab.Options{Kernel: k}})
	}
	return reqs
}

func TestBatchRunsInOrder(t *testing.T) {
	var ran, started []string
	b := Batch{
		Run: func(_ context.Context, o lab.Options) (*results.Result, error) {
			ran = append(ran, o.Kernel)
			return &results.Result{RunID: "run-" + o.Kernel}, nil
		},
		Start: func(i int, req Request) { started = append(started, req.Label) },
	}
	outs, err := b.Do(context.Background(), requests("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c"}
	if !reflect.DeepEqual(ran, want) || !reflect.DeepEqual(started, want) {
		t.Fatalf("ran %v, started %v, want %v", ran, started, want)
	}
	for i, o := range outs {
		if o.Index != i || o.Label != want[i] || o.Result.RunID != "run-"+want[i] {
			t.Errorf("outcome %d: %+v", i, o)
		}
	}
}

func TestBatchStops(t *testing.T) {
	stop := errors.New("stop")
	tests := []struct {
		name   string
		cancel bool // the second run cancels ctx
		done   error
		want   error
	}{
		{name: "Done's error", done: stop, want: stop},
		{name: "cancelled", cancel: true, want: context.Canceled},
		{name: "cancellation wins over Done's error", cancel: true, done: stop, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := Batch{
				Run: func(_ context.Context, o lab.Options) (*results.Result, error) {
					if o.Kernel == "b" && tt.cancel {
						cancel()
					}
					return nil, nil
				},
				Done: func(o Outcome) error {
					if o.Label == "b" {
						return tt.done
					}
					return nil
				},
			}
			outs, err := b.Do(ctx, requests("a", "b", "c"))
			if !errors.Is(err, tt.want) || len(outs) != 2 {
				t.Fatalf("err %v after %d runs, want %v after 2", err, len(outs), tt.want)
			}
		})
	}
}
