package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/nightly"
	"github.com/kcovlab/kcovlab/runs"
)

const benchPoolUsage = `usage: kcovlab bench pool [flags]

Runs the same nightly (--kernel x --scenario, default vanilla and v2 x every
scenario) twice on cached kernels: with --jobs 1, then with the pool's
default (or --jobs N), and prints the wall time of each and their ratio,
and every scenario whose verdict differs between the two. bench.json and
both nightlies go to RESULTS/bench-pool-ID. A kernel that is not cached is
refused: the benchmark measures runs, not builds.

flags:
`

// poolBench is bench.json of `kcovlab bench pool`.
type poolBench struct {
	Started   time.Time   `json:"started"`
	Host      benchHost   `json:"host"`
	Kernels   []string    `json:"kernels"`
	Scenarios []string    `json:"scenarios"`
	CPUs      int         `json:"guest_cpus"`
	Sides     []benchSide `json:"sides"`
	// Ratio is the --jobs 1 wall time over the pool's.
	Ratio float64 `json:"ratio"`
	// Differ lists "kernel scenario: verdict -> verdict" between the sides.
	Differ []string `json:"verdicts_differ"`
	Dir    string   `json:"dir"`
}

type benchHost struct {
	Cores    int    `json:"cores"`
	Accel    string `json:"accel"`
	AccelWhy string `json:"accel_why"`
	PoolWhy  string `json:"default_jobs_why"`
}

// benchSide is one nightly of the benchmark.
type benchSide struct {
	Jobs        int               `json:"jobs"`
	WallSeconds float64           `json:"wall_seconds"`
	LoadBefore  string            `json:"loadavg_before"`
	LoadAfter   string            `json:"loadavg_after"`
	Verdicts    map[string]string `json:"verdicts"` // "kernel scenario" -> verdict
	Error       string            `json:"error,omitempty"`
	Dir         string            `json:"dir"`
}

// nightlyFunc is nightly.Nightly; tests replace it.
type nightlyFunc func(context.Context, nightly.Options) (*nightly.Result, error)

func cmdBenchPool(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench pool", flag.ContinueOnError)
	var o lab.Options
	kernels := kernelFlag(fs, "cached kernels: `NAMES`, comma-separated or repeated (see kcovlab kernels)", "vanilla", "v2")
	scen := scenarioFlag(fs, "scenarios: `NAMES`, comma-separated or repeated, or all (default all)", all)
	asJSON := fs.Bool("json", false, "print bench.json on stdout instead of the table")
	verbose := commonFlags(fs, &o, stderr)
	jobs := poolFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchPoolUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitPass
	} else if err != nil || fs.NArg() > 0 || !checkPool("bench pool", *jobs, stderr) || !checkCommon("bench pool", &o, stderr) {
		return exitUsage
	}
	var ks []string
	var err error
	if o.Scenarios, err = scenariosOf(scen); err == nil {
		ks, err = kernelsOf(kernels, false)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab bench pool: %v\n", err)
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	if err := o.Defaults(); err != nil {
		return in.code(exitCode(&lab.UsageError{Msg: err.Error()}, stderr))
	}
	for _, k := range ks {
		ko := o
		ko.Kernel = k
		ok, err := lab.Built(ctx, ko)
		if err == nil && !ok {
			err = &lab.UsageError{Msg: fmt.Sprintf("kernel %s is not cached: build it first (kcovlab run --kernel %s); the benchmark measures runs, not builds", k, k)}
		}
		if err != nil {
			return in.code(exitCode(err, stderr))
		}
	}
	accel, why := lab.Accelerator(ctx, o)
	n, poolWhy := *jobs, "--jobs"
	if n == 0 {
		n, poolWhy = runs.HostParallel(ctx, o)
	}
	b := &poolBench{Started: time.Now().UTC(), Kernels: ks, Scenarios: o.Scenarios, CPUs: o.CPUs,
		Host: benchHost{Cores: runtime.NumCPU(), Accel: accel, AccelWhy: why, PoolWhy: poolWhy}}
	b.Dir = filepath.Join(o.ResultsDir, "bench-pool-"+results.NewRunID(time.Now()))
	err = b.run(ctx, nightly.Nightly, o, []int{1, n})
	if err == nil {
		err = b.write()
	}
	if *asJSON {
		raw, _ := json.MarshalIndent(b, "", "  ")
		fmt.Fprintf(stdout, "%s\n", raw)
	} else {
		b.text(stdout)
	}
	return in.code(exitCode(err, stderr))
}

// run makes one nightly per --jobs value, one after another, each into
// its own results root under b.Dir, and compares them. A nightly whose
// scenarios failed is still measured; a cancellation stops the benchmark;
// a nightly that did not finish every kernel makes the times not
// comparable, which the error (an InfraError) says once both have run.
func (b *poolBench) run(ctx context.Context, night nightlyFunc, o lab.Options, jobs []int) error {
	var unfinished []string
	for _, j := range jobs {
		side := benchSide{Jobs: j, LoadBefore: loadavg()}
		no := nightly.Options{Options: o, Kernels: b.Kernels, Parallel: j}
		no.ResultsDir = filepath.Join(b.Dir, fmt.Sprintf("jobs%d", j))
		no.Log.Info("bench pool: nightly", "jobs", j, "kernels", strings.Join(b.Kernels, ","), "scenarios", len(o.Scenarios))
		start := time.Now()
		nr, err := night(ctx, no)
		side.WallSeconds = time.Since(start).Seconds()
		side.LoadAfter = loadavg()
		if err != nil {
			side.Error = err.Error()
		}
		if err != nil && !errors.Is(err, lab.ErrScenarioFailed) {
			unfinished = append(unfinished, fmt.Sprintf("--jobs %d: %s", j, firstLineOf(err.Error())))
		}
		if nr != nil {
			side.Dir, side.Verdicts = nr.Dir, verdictsOf(nr.Runs)
		}
		b.Sides = append(b.Sides, side)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	b.compare()
	if len(unfinished) > 0 {
		return &lab.InfraError{Stage: "bench", Err: fmt.Errorf("a nightly did not finish, the wall times are not comparable (%s)", strings.Join(unfinished, "; "))}
	}
	return nil
}

// compare sets the ratio and the verdicts that differ between the first
// side and the last.
func (b *poolBench) compare() {
	if len(b.Sides) < 2 {
		return
	}
	first, last := b.Sides[0], b.Sides[len(b.Sides)-1]
	if last.WallSeconds > 0 {
		b.Ratio = first.WallSeconds / last.WallSeconds
	}
	b.Differ = verdictsDiffer(first.Verdicts, last.Verdicts)
}

// verdictsOf maps "kernel scenario" to its verdict.
func verdictsOf(rs []*results.Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		for _, s := range r.Scenarios {
			m[r.Kernel.Name+" "+s.Name] = s.Verdict
		}
	}
	return m
}

// verdictsDiffer lists each "kernel scenario" whose verdict is not the
// same in a and b (a missing one is "none"), sorted.
func verdictsDiffer(a, b map[string]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	out := []string{}
	for k := range keys {
		va, vb := a[k], b[k]
		if va == vb {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s -> %s", k, orNone(va), orNone(vb)))
	}
	slices.Sort(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (b *poolBench) text(w io.Writer) {
	fmt.Fprintf(w, "bench pool: nightly of %s x %d scenarios (cached), %s, %d cores, %d vCPUs per guest\n",
		strings.Join(b.Kernels, ", "), len(b.Scenarios), b.Host.Accel, b.Host.Cores, b.CPUs)
	for _, s := range b.Sides {
		fmt.Fprintf(w, "  --jobs %-2d  wall %7.1f s  %s  load %s -> %s", s.Jobs, s.WallSeconds, countVerdicts(s.Verdicts), s.LoadBefore, s.LoadAfter)
		if s.Error != "" {
			fmt.Fprintf(w, "  (%s)", firstLineOf(s.Error))
		}
		fmt.Fprintln(w)
	}
	if len(b.Sides) >= 2 {
		fmt.Fprintf(w, "  ratio %.2fx (--jobs %d wall / --jobs %d wall; default --jobs: %s)\n",
			b.Ratio, b.Sides[0].Jobs, b.Sides[len(b.Sides)-1].Jobs, b.Host.PoolWhy)
		if len(b.Differ) == 0 {
			fmt.Fprintln(w, "  verdicts: the same on both sides")
		} else {
			fmt.Fprintf(w, "  verdicts differ: %s\n", strings.Join(b.Differ, "; "))
		}
	}
	if b.Dir != "" {
		fmt.Fprintf(w, "results: %s\n", b.Dir)
	}
}

// countVerdicts is "18 pass, 1 fail" over a side's verdicts, in a fixed
// order.
func countVerdicts(v map[string]string) string {
	n := map[string]int{}
	for _, x := range v {
		n[x]++
	}
	var parts []string
	for _, x := range []string{results.Pass, results.Fail, results.Error, results.Skip} {
		if n[x] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[x], x))
		}
	}
	if len(parts) == 0 {
		return "no verdicts"
	}
	return strings.Join(parts, ", ")
}

func (b *poolBench) write() error {
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return &lab.InfraError{Stage: "results", Err: err}
	}
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "bench.json"), append(raw, '\n'), 0o644); err != nil {
		return &lab.InfraError{Stage: "results", Err: err}
	}
	return nil
}

// loadavg is the host's 1, 5 and 15 minute load averages ("?" off Linux).
func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
