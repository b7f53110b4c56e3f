// Package scenarios lists kcovlab's guest scenarios and defines the JSON
// outcome each one prints on stdout. The scenario programs themselves live in
// the subdirectories (one Go main package each, built into the guest image);
// this package is plain data shared by the host and the guest.
//
// To add a scenario: write scenarios/NAME/main.go (build tag linux) that
// prints one Outcome as JSON and exits 0 whether or not the invariant held,
// then add an entry to All. Tests: go test -short ./scenarios/...
package scenarios

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// Scenario is one program the lab runs in the guest.
type Scenario struct {
	Name    string
	Summary string
	// Package is the Go import path of the guest program; its command name
	// in the image is the last path element.
	Package string
	// Args are passed to the program.
	Args []string
	// FreshBoots > 0 runs the scenario that many times, each in a freshly
	// booted guest (state assigned once per boot, e.g. KCOV guard indices),
	// passing -trial=N.
	FreshBoots int
	// NeedsKernelClass: the lab passes -kernel=unique|nounique|unpatched,
	// what the kernel's config says KCOV_UNIQUE_ENABLE should do.
	NeedsKernelClass bool
	// Format of the program's stdout: FormatJSON (one Outcome) or
	// FormatKTAP (a kselftest; one result per test case).
	Format string
	// KernelFile names a file the kernel build provides (the series'
	// selftest); the scenario is skipped on kernels without it.
	KernelFile string
}

// Output formats.
const (
	FormatJSON = "json"
	FormatKTAP = "ktap"
	// FormatBoot runs no program: each fresh boot is the measurement.
	FormatBoot = "boot"
)

// Program is the command name in the image: the guest program's, else the
// kernel file's (run directly), else the scenario's name.
func (s Scenario) Program() string {
	switch {
	case s.Package != "":
		return path.Base(s.Package)
	case s.KernelFile != "":
		return s.KernelFile
	}
	return s.Name
}

// Command is the command line the host sends over SSH.
func (s Scenario) Command() string {
	return strings.Join(append([]string{s.Program()}, s.Args...), " ")
}

const modulePath = "github.com/kcovlab/kcovlab/scenarios/"

// All is every scenario, by name.
var All = map[string]Scenario{
	"smoke": {
		Name:    "smoke",
		Summary: "KCOV_ENABLE(TRACE_PC) around read(-1, NULL, 0) records at least one PC",
		Package: modulePath + "smoke",
	},
	"unique": {
		Name:             "unique",
		Summary:          "repeated work (20 rounds of read, fstat, pipe, dup) in unique mode after KCOV_RESET_TRACE: no PC twice, bitmap bits == records, nothing lost against two trace-mode runs of the same work; ENOTSUPP (series, option off) or ENOTTY (no series)",
		Package:          modulePath + "unique",
		NeedsKernelClass: true,
	},
	"ioctl": {
		Name:             "ioctl",
		Summary:          "KCOV_UNIQUE_ENABLE/KCOV_RESET_TRACE error table and KCOV_REMOTE_ENABLE's handle checks, each row checked against the series' kcov.c for the kernel class",
		Package:          modulePath + "ioctl",
		NeedsKernelClass: true,
	},
	"reset": {
		Name:             "reset",
		Summary:          "fast reset vs KCOV_RESET_TRACE on rw/ro mappings: ro write faults in a child, unique mode needs the bitmap zeroed",
		Package:          modulePath + "reset",
		NeedsKernelClass: true,
	},
	"overflow": {
		Name:             "overflow",
		Summary:          "buffer saturation per syscall and buffer size, trace vs unique mode, corpus overflow reduction, one-word bitmap",
		Package:          modulePath + "overflow",
		NeedsKernelClass: true,
	},
	"irqnoise": {
		Name:             "irqnoise",
		Summary:          "spurious coverage: one cheap syscall 3000x on CPU 0, idle vs under load; PCs outside the most common set ranked by runs (tsc.c without patch 01)",
		Package:          modulePath + "irqnoise",
		NeedsKernelClass: true,
	},
	"guardrace": {
		Name:             "guardrace",
		Summary:          "fresh-guard race: threads in unique mode reach unindexed guards together; no PC twice, bitmap bits == records, union == single-thread reference outside timing-dependent code (judged by symbol); one trial per fresh boot",
		Package:          modulePath + "guardrace",
		NeedsKernelClass: true,
		FreshBoots:       3,
	},
	"bootgate": {
		Name:       "bootgate",
		Summary:    "CONFIG_KCOV_SELFTEST boot gate: boot 5 times, count selftest crashes, name the guilty frame",
		Format:     FormatBoot,
		FreshBoots: 5,
	},
	"kselftest": {
		Name:       "kselftest",
		Summary:    "the series' own tools/testing/selftests/kcov/kcov_test, one result per KTAP case (its failure messages kept with each case)",
		Package:    modulePath + "kselftest",
		Args:       []string{"kcov_test"},
		Format:     FormatKTAP,
		KernelFile: "kcov_test",
	},
}

// Names returns the scenario names in order.
func Names() []string {
	var n []string
	for k := range All {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Select resolves a comma-separated list of names.
func Select(list string) ([]Scenario, error) {
	var out []Scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		s, ok := All[name]
		if !ok {
			return nil, &UnknownError{Name: name}
		}
		out = append(out, s)
	}
	return out, nil
}

// UnknownError names a scenario that does not exist.
type UnknownError struct{ Name string }

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown scenario %q (known: %s)", e.Name, strings.Join(Names(), ", "))
}

// Outcome is what a scenario program reports: a verdict against its
// invariant, the numbers behind it, and evidence a person can read.
type Outcome struct {
	Scenario string             `json:"scenario"`
	Pass     bool               `json:"pass"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Evidence []string           `json:"evidence,omitempty"`
	// PCs are named PC lists for the host to symbolize and judge (the
	// guest has no symbols), e.g. guardrace's union_minus_ref.
	PCs map[string][]uint64 `json:"pcs,omitempty"`
	// Error is set when the program could not measure at all.
	Error string `json:"error,omitempty"`
	// Skip says why the scenario does not apply to this kernel (e.g. no
	// CONFIG_KCOV_UNIQUE); the verdict is then skip, never pass.
	Skip string `json:"skip,omitempty"`
}

// Main is the body of every JSON scenario program: it parses -kernel (the
// class the host derived from the kernel's config, "" when not given), runs
// measure, and prints the outcome. A measure error means nothing could be
// measured and goes into Outcome.Error; the program still exits 0.
func Main(name string, measure func(o *Outcome, kernel string) error) {
	kernel := flag.String("kernel", "", "what the host built: unique, nounique or unpatched")
	flag.Parse()
	o := Outcome{Scenario: name, Metrics: map[string]float64{}}
	if err := measure(&o, *kernel); err != nil {
		o.Error = err.Error()
	}
	Emit(o)
}

// Emit prints o as one JSON line on stdout. Scenario programs end with it.
func Emit(o Outcome) {
	b, err := json.Marshal(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(append(b, '\n'))
}

// ParseOutcome finds the scenario's JSON line in its stdout (the last line
// that parses) and checks it names the scenario that was run.
func ParseOutcome(name string, stdout []byte) (Outcome, error) {
	lines := bytes.Split(bytes.TrimSpace(stdout), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var o Outcome
		if json.Unmarshal(lines[i], &o) != nil || o.Scenario == "" {
			continue
		}
		if o.Scenario != name {
			return o, fmt.Errorf("scenario %s printed an outcome for %q", name, o.Scenario)
		}
		return o, nil
	}
	return Outcome{}, fmt.Errorf("scenario %s printed no JSON outcome (stdout: %q)", name, tail(stdout, 300))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
