package lab

import (
	"regexp"
	"strconv"

	"github.com/kcovlab/kcovlab/internal/results"
)

// noiseLine is irqnoise's ranked evidence once symbolized:
// "native_sched_clock+0x1b (arch/x86/kernel/tsc.c) in 12 runs (idle 2, loaded 10)";
// the file is there when the kernel has DWARF or a function index.
var noiseLine = regexp.MustCompile(`^([A-Za-z_][\w.]*)\+0x[0-9a-f]+(?: \(([^):]+)(?::\d+)?\))? in (\d+) runs`)

// noiseByFunction turns irqnoise's ranked PCs into per-function metrics,
// noise_runs_by_fn/FUNCTION = the most runs any of its PCs showed up in, so
// reports can chart noise per function and nightlies can compare it; and
// likewise per source file, noise_runs_by_file/FILE, when PCs name one.
func noiseByFunction(res *results.Scenario) {
	for _, e := range res.Evidence {
		m := noiseLine.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		keys := []string{"noise_runs_by_fn/" + m[1]}
		if m[2] != "" {
			keys = append(keys, "noise_runs_by_file/"+m[2])
		}
		for _, key := range keys {
			res.Metrics[key] = max(res.Metrics[key], float64(n))
		}
	}
}
