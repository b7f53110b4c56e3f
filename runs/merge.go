package runs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// Combine joins the shards of one request (a kernel's scenarios, each run
// on some machine) into the one result a single run of the request would
// have written: the first part's identity and run id, the scenarios in
// the plan's order, the stages summed (machine time), cached only when
// every shard found the kernel and image cached, and the first error.
// A job in missing becomes its scenarios' error, never a silent gap.
func Combine(parts []Shard, missing []RunJob) *results.Result {
	type piece struct {
		part int
		scen []results.Scenario
	}
	parts = slices.Clone(parts)
	slices.SortStableFunc(parts, func(a, b Shard) int { return a.Job.Part - b.Job.Part })
	var pieces []piece
	var out *results.Result
	var errs []string
	for _, s := range parts {
		r := s.Result
		if out == nil {
			c := *r
			c.Scenarios, c.Stages, c.Error, c.ErrorKind = nil, nil, "", ""
			out = &c
		}
		out.Kernel.Cached = out.Kernel.Cached && r.Kernel.Cached
		out.Image.Cached = out.Image.Cached && r.Image.Cached
		for _, st := range r.Stages {
			if i := slices.IndexFunc(out.Stages, func(x results.Stage) bool { return x.Name == st.Name }); i >= 0 {
				out.Stages[i].Seconds += st.Seconds
			} else {
				out.Stages = append(out.Stages, st)
			}
		}
		if r.Error != "" {
			errs = append(errs, s.Job.ID+": "+r.Error)
			if out.ErrorKind == "" {
				out.ErrorKind = r.ErrorKind
			}
		}
		pieces = append(pieces, piece{s.Job.Part, r.Scenarios})
	}
	for _, m := range missing {
		var scen []results.Scenario
		for _, name := range m.Scenarios {
			scen = append(scen, results.Scenario{Name: name, Verdict: results.Error,
				Error: fmt.Sprintf("run job %s left no run directory: it did not run, or its results were not collected", m.ID)})
		}
		pieces = append(pieces, piece{m.Part, scen})
		if out == nil {
			out = &results.Result{Schema: results.SchemaVersion, RunID: "missing-" + m.ID, Kernel: results.Kernel{Name: m.Label, Key: m.Key}}
		}
	}
	if out == nil {
		return nil
	}
	slices.SortStableFunc(pieces, func(a, b piece) int { return a.part - b.part })
	for _, p := range pieces {
		out.Scenarios = append(out.Scenarios, p.scen...)
	}
	out.Error = strings.Join(errs, "; ")
	return out
}
