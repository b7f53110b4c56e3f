// Package bench is the bench verb: how fast kcovlab boots and builds on
// this machine. Boot boots a cached kernel N times under every machine
// setup it is given, interleaved, and breaks each boot down (QEMU exec ->
// first console byte -> the kernel's "Run /init" -> the guest init up ->
// sshd listening -> SSH login -> the first command done), with median and
// min..max per setup and the ratio to the default setup; Builds reads the
// build numbers the kernel cache recorded.
//
// It owns the bench's statistics, text and JSON. Each boot is
// lab.ProbeBoot's; it must not import another verb, nor reach QEMU, SSH
// or the kernel build itself.
//
// Host needs: those of lab.ProbeBoot (QEMU, a cached kernel). Tests (go
// test -short ./bench/) use a fake probe; make bench is the real thing.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/lab"
)

// BootOptions configure Boot.
type BootOptions struct {
	// Options are every boot's; Machine is replaced by each of Setups.
	lab.Options
	// Setups to time [every setup lab knows]; the first is the one the
	// ratios are to, lab.DefaultMachine when it is among them.
	Setups []string
	// Boots per setup [5].
	Boots int

	// probe boots once [lab.ProbeBoot]; tests replace it.
	probe func(ctx context.Context, o lab.Options, dir string) (*lab.BootTiming, error)
	// load reads the host's 1-minute load average [/proc/loadavg].
	load func() float64
}

// Phases a boot is broken into, in order; each is the time from the
// previous mark (QEMU's exec for the first) to its own.
var Phases = []string{
	"exec -> first console byte",
	"-> kernel Run /init",
	"-> kcovinit up",
	"-> sshd listening",
	"-> SSH login done",
	"-> first command done",
}

// Totals are the sums a user waits for.
var Totals = []string{"boot to SSH", "boot to first command"}

// BootReport is what Boot measured; it is also the JSON the nightly charts.
type BootReport struct {
	Schema  int       `json:"schema"`
	Started time.Time `json:"started"`
	Kernel  string    `json:"kernel"`
	Accel   string    `json:"accel"`
	Boots   int       `json:"boots_per_setup"`
	CPUs    int       `json:"cpus"`
	// Default is the setup the ratios are to.
	Default string `json:"default_setup"`
	// Load is the host's 1-minute load average before each boot: the bench
	// shares the machine with whatever else runs.
	Load   stats.Summary `json:"load_1m"`
	Cores  int           `json:"host_cores"`
	Setups []SetupReport `json:"setups"`
	Builds []Build       `json:"builds"`
	// Dir holds every boot's console (RESULTS/bench-ID).
	Dir string `json:"dir"`
}

// SetupReport is one machine setup's boots.
type SetupReport struct {
	Name    string                `json:"name"`
	Machine *results.MachineSetup `json:"machine_setup,omitempty"`
	// Phases and Totals in seconds, in the order of Phases and Totals,
	// over the boots that finished.
	Phases []stats.Summary `json:"phases"`
	Totals []stats.Summary `json:"totals"`
	// Ratio is this setup's median boot to SSH over the default's (0 when
	// either has no finished boot).
	Ratio float64 `json:"ratio_to_default"`
	// GuestRunInit is the kernel's printk time of "Run /init" (seconds).
	GuestRunInit *stats.Summary `json:"guest_run_init,omitempty"`
	// CPUs brought up, per finished boot.
	CPUs []int `json:"cpus_brought_up"`
	// Failures are the boots that did not finish or brought up too few
	// CPUs, one line each.
	Failures []string    `json:"failures,omitempty"`
	samples  [][]float64 // per phase, then per total
	guest    []float64   // GuestRunInit's samples
}

// SchemaVersion is BootReport's schema.
const SchemaVersion = 1

// Boot times opts.Boots boots of each setup, interleaved (every round
// boots each setup once) so that a change in the machine's load hits
// them alike. A setup whose boots fail is reported with its failures; the
// error is nil unless the options are bad or ctx ended.
func Boot(ctx context.Context, o BootOptions) (*BootReport, error) {
	if err := o.Options.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if o.Boots == 0 {
		o.Boots = 5
	}
	if o.Boots < 1 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("--boots %d: want 1 or more", o.Boots)}
	}
	if len(o.Setups) == 0 {
		o.Setups = lab.MachineSetups()
	}
	if o.probe == nil {
		o.probe = lab.ProbeBoot
	}
	if o.load == nil {
		o.load = loadAvg
	}
	start := time.Now()
	rep := &BootReport{Schema: SchemaVersion, Started: start.UTC(), Kernel: o.Kernel, Boots: o.Boots, CPUs: o.CPUs,
		Default: o.Setups[0], Cores: numCPU(),
		Dir: filepath.Join(o.ResultsDir, "bench-"+results.NewRunID(start))}
	if rep.Kernel == "" {
		rep.Kernel = lab.DefaultKernel
	}
	for _, s := range o.Setups {
		if s == lab.DefaultMachine {
			rep.Default = s
		}
		rep.Setups = append(rep.Setups, SetupReport{Name: s, samples: make([][]float64, len(Phases)+len(Totals))})
	}
	var loads []float64
	for round := 1; round <= o.Boots; round++ {
		for i := range rep.Setups {
			s := &rep.Setups[i]
			opts := o.Options
			opts.Machine = s.Name
			loads = append(loads, o.load())
			o.Log.Info("bench: boot", "setup", s.Name, "round", round, "of", o.Boots)
			t, err := o.probe(ctx, opts, filepath.Join(rep.Dir, fmt.Sprintf("%s-%d", s.Name, round)))
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			var usage *lab.UsageError
			if errors.As(err, &usage) {
				return nil, err
			}
			s.add(t, err, round)
			if t != nil && rep.Accel == "" {
				rep.Accel = t.Accel
			}
		}
	}
	rep.Load, _ = stats.Summarize(loads)
	for i := range rep.Setups {
		rep.Setups[i].summarize()
	}
	rep.ratios()
	rep.Builds = Builds(o.CacheDir)
	return rep, nil
}

// add records one boot: its phases when it finished, else its failure.
func (s *SetupReport) add(t *lab.BootTiming, err error, round int) {
	if t == nil {
		s.Failures = append(s.Failures, fmt.Sprintf("boot %d: %v", round, err))
		return
	}
	if s.Machine == nil {
		s.Machine = t.Setup
	}
	if err != nil {
		s.Failures = append(s.Failures, fmt.Sprintf("boot %d: %v", round, err))
	}
	s.CPUs = append(s.CPUs, t.CPUs)
	marks := []time.Duration{0, t.FirstByte, t.RunInit, t.InitUp, t.SSHListening, t.SSHReady, t.FirstCommand}
	for i := range Phases {
		if marks[i+1] == 0 || (i > 0 && marks[i] == 0) {
			continue // a line that never came: no phase to time
		}
		s.samples[i] = append(s.samples[i], (marks[i+1] - marks[i]).Seconds())
	}
	s.samples[len(Phases)] = append(s.samples[len(Phases)], t.SSHReady.Seconds())
	s.samples[len(Phases)+1] = append(s.samples[len(Phases)+1], t.FirstCommand.Seconds())
	if t.GuestRunInit >= 0 {
		s.guest = append(s.guest, t.GuestRunInit)
	}
}

func (s *SetupReport) summarize() {
	s.Phases = make([]stats.Summary, len(Phases))
	s.Totals = make([]stats.Summary, len(Totals))
	for i := range Phases {
		s.Phases[i], _ = stats.Summarize(s.samples[i])
	}
	for i := range Totals {
		s.Totals[i], _ = stats.Summarize(s.samples[len(Phases)+i])
	}
	if g, err := stats.Summarize(s.guest); err == nil {
		s.GuestRunInit = &g
	}
}

// ratios sets each setup's median boot to SSH over the default's.
func (r *BootReport) ratios() {
	var def float64
	for _, s := range r.Setups {
		if s.Name == r.Default {
			def = s.Totals[0].Median
		}
	}
	for i := range r.Setups {
		if def > 0 && r.Setups[i].Totals[0].N > 0 {
			r.Setups[i].Ratio = r.Setups[i].Totals[0].Median / def
		}
	}
}

// loadAvg is the host's 1-minute load average (-1 when unreadable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(strings.Fields(string(b))[0], &l); err != nil {
		return -1
	}
	return l
}
