package check

import (
	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios"
)

// FloorRuns is how many empty intervals AddFloor measures.
const FloorRuns = 100

// AddFloor measures the harness floor (kcov.MeasureFloor: enable, read
// trace[0] at once, no syscall) FloorRuns times and stores
// floor_words_min, floor_words_median and floor_words_max in o, with one
// evidence line. A failure is noted, not fatal: the floor is context.
func AddFloor(o *scenarios.Outcome) {
	if o.Metrics == nil {
		o.Metrics = map[string]float64{}
	}
	st, err := kcov.MeasureFloor(FloorRuns)
	if err != nil {
		o.Evidence = append(o.Evidence, "harness floor: not measured: "+err.Error())
		return
	}
	FloorMetrics(o.Metrics, st)
	o.Evidence = append(o.Evidence, FloorLine(st))
}
