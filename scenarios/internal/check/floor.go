package check

import (
	"fmt"

	"github.com/kcovlab/kcovlab/internal/kcov"
)

// FloorMetrics stores the floor statistics under their metric names.
func FloorMetrics(m map[string]float64, st kcov.Stats) {
	m["floor_words_min"] = float64(st.Min)
	m["floor_words_median"] = float64(st.Median)
	m["floor_words_max"] = float64(st.Max)
}

// FloorLine is the floor as an evidence line.
func FloorLine(st kcov.Stats) string {
	return fmt.Sprintf("harness floor (ENABLE(TRACE_PC), read trace[0] at once, no syscall; %d runs): min %d median %d max %d words",
		st.N, st.Min, st.Median, st.Max)
}
