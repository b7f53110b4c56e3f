package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/lab"
)

// WholeSuite is the suite Suite times by default: every scenario that runs
// in a booted guest, the guard race's fresh-boot trials included (the boot
// gate and the bisect's checks are not part of it).
var WholeSuite = []string{"smoke", "unique", "ioctl", "reset", "overflow", "irqnoise", "kselftest", "guardrace"}

// Trial modes Suite compares: the trials' guests booted beside the shared
// guest (a run's default), or each booted when its turn comes (what a
// pool's runs do).
const (
	TrialsAhead  = "trials booted ahead"
	TrialsSerial = "trials one after another"
)

// SuiteOptions configure Suite.
type SuiteOptions struct {
	// Options are every run's; Scenarios [WholeSuite].
	lab.Options
	// Runs per mode [3], interleaved.
	Runs int

	// run makes one run [lab.Run]; tests replace it.
	run func(context.Context, lab.Options) (*results.Result, error)
	// load reads the host's 1-minute load average [/proc/loadavg].
	load func() float64
}

// Stages Suite reports, from each run's result.json stages.
var suiteStages = []string{"boot", "scenarios", "trials", "total"}

// SuiteReport is what Suite measured.
type SuiteReport struct {
	Schema    int           `json:"schema"`
	Started   time.Time     `json:"started"`
	Kernel    string        `json:"kernel"`
	Machine   string        `json:"machine"`
	Scenarios []string      `json:"scenarios"`
	Runs      int           `json:"runs_per_mode"`
	Load      stats.Summary `json:"load_1m"`
	Cores     int           `json:"host_cores"`
	Modes     []SuiteMode   `json:"modes"`
}

// SuiteMode is one trial mode's runs.
type SuiteMode struct {
	Name string `json:"name"`
	// Stages in seconds, in the order of suiteStages, over the runs that
	// passed.
	Stages []stats.Summary `json:"stages"`
	// Failures are the runs that did not pass, one line each: a slow
	// failing run is no speed.
	Failures []string `json:"failures,omitempty"`
	samples  [][]float64
}

// Suite runs the suite on a cached kernel opts.Runs times in each trial
// mode, interleaved, and reports each stage's median and spread. It builds
// nothing: an uncached kernel is the user's error.
func Suite(ctx context.Context, o SuiteOptions) (*SuiteReport, error) {
	if len(o.Scenarios) == 0 {
		o.Scenarios = WholeSuite
	}
	if err := o.Options.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.Runs < 1 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("--runs %d: want 1 or more", o.Runs)}
	}
	if o.run == nil {
		ok, err := lab.Built(ctx, o.Options)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &lab.UsageError{Msg: fmt.Sprintf("kernel %s is not built: the bench times cached kernels only (kcovlab run --kernel %s builds it)", o.Kernel, o.Kernel)}
		}
		o.run = lab.Run
	}
	if o.load == nil {
		o.load = loadAvg
	}
	rep := &SuiteReport{Schema: SchemaVersion, Started: time.Now().UTC(), Kernel: o.Kernel, Machine: o.Machine,
		Scenarios: o.Scenarios, Runs: o.Runs, Cores: numCPU()}
	if rep.Kernel == "" {
		rep.Kernel = lab.DefaultKernel
	}
	for _, m := range []string{TrialsAhead, TrialsSerial} {
		rep.Modes = append(rep.Modes, SuiteMode{Name: m, samples: make([][]float64, len(suiteStages))})
	}
	var loads []float64
	for round := 1; round <= o.Runs; round++ {
		for i := range rep.Modes {
			m := &rep.Modes[i]
			opts := o.Options
			opts.SerialTrials = m.Name == TrialsSerial
			loads = append(loads, o.load())
			o.Log.Info("bench: suite", "mode", m.Name, "round", round, "of", o.Runs)
			res, err := o.run(ctx, opts)
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			m.add(res, err, round)
		}
	}
	rep.Load, _ = stats.Summarize(loads)
	for i := range rep.Modes {
		m := &rep.Modes[i]
		m.Stages = make([]stats.Summary, len(suiteStages))
		for j, xs := range m.samples {
			m.Stages[j], _ = stats.Summarize(xs)
		}
	}
	return rep, nil
}

// add records one run: its stages when it passed, else why not.
func (m *SuiteMode) add(res *results.Result, err error, round int) {
	switch {
	case err != nil:
		m.Failures = append(m.Failures, fmt.Sprintf("run %d: %v", round, err))
		return
	case res == nil || !res.Passed():
		m.Failures = append(m.Failures, fmt.Sprintf("run %d: did not pass (%s)", round, failedNames(res)))
		return
	}
	for j, st := range suiteStages {
		var v float64
		for _, s := range res.Stages {
			if s.Name == st || (st == "trials" && strings.HasPrefix(s.Name, "trials:")) {
				v += s.Seconds
			}
		}
		m.samples[j] = append(m.samples[j], v)
	}
}

func failedNames(res *results.Result) string {
	if res == nil {
		return "no result"
	}
	var out []string
	for _, s := range res.Scenarios {
		if s.Verdict == results.Fail || s.Verdict == results.Error {
			out = append(out, s.Name+" "+s.Verdict)
		}
	}
	return strings.Join(out, ", ")
}

// WriteText writes the report for people: a column per trial mode, a row
// per stage.
func (r *SuiteReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "bench suite: kernel %s on %s, %s; %d run(s) per mode interleaved; host %d cores, 1-min load %s\n",
		r.Kernel, r.Machine, strings.Join(r.Scenarios, ","), r.Runs, r.Cores, spread(r.Load, "%.1f"))
	fmt.Fprint(w, "seconds: median (min..max) over the runs that passed\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cells := []string{"stage"}
	for _, m := range r.Modes {
		cells = append(cells, m.Name)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	for j, st := range suiteStages {
		cells = []string{st}
		for _, m := range r.Modes {
			cells = append(cells, spread(m.Stages[j], "%.1f"))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	for _, m := range r.Modes {
		for _, f := range m.Failures {
			fmt.Fprintf(w, "%s: %s\n", m.Name, f)
		}
	}
}

// WriteJSON writes the report to path.
func (r *SuiteReport) WriteJSON(path string) error { return writeJSON(path, r) }
