package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// Unrecorded names the machine setup of a run whose result.json has none.
const Unrecorded = "unrecorded"

// SetupName is how a comparison lists a run's machine setup.
func SetupName(s *results.MachineSetup) string {
	if s == nil {
		return Unrecorded
	}
	return s.String()
}

// SetupWarning is a loud warning when the runs of the two sides (or the
// runs of one side) booted more than one machine setup: boot times, and
// the metrics that depend on timing, then differ for reasons that are not
// the kernels'. It is "" when every run booted the same setup.
func (c *ABComparison) SetupWarning() string {
	return setupWarning("A", c.A.Setups, "B", c.B.Setups)
}

func setupWarning(la string, a []string, lb string, b []string) string {
	all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a), b...))))
	if len(all) <= 1 {
		return ""
	}
	return fmt.Sprintf("WARNING: DIFFERENT MACHINE SETUPS: %s booted %s; %s booted %s. Boot times and timing-dependent metrics are not comparable; rerun both with the same --machine.",
		la, strings.Join(a, " and "), lb, strings.Join(b, " and "))
}

// setupsOf lists the distinct machine setups of runs.
func setupsOf(runs []*results.Result) []string {
	var out []string
	for _, r := range runs {
		if n := SetupName(r.Setup); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
