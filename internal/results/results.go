// Package results defines result.json, the record of one kcovlab run, and
// writes the run directory (result.json, the human summary). It is plain Go
// with no host requirements; go test -short ./internal/results/ covers the
// JSON round trip and the summary.
package results

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The schema of result.json is versioned MAJOR.MINOR: a new field bumps the
// minor (older readers ignore it), anything else (a field removed, renamed
// or retyped, a value with a new meaning) bumps the major. Readers accept
// every minor of their major and refuse another major. docs/result.schema.json
// is the machine-readable schema; docs/result-json.md describes it.
const (
	SchemaMajor = 2
	SchemaMinor = 2
)

// SchemaVersion is the schema this kcovlab writes, "MAJOR.MINOR".
var SchemaVersion = fmt.Sprintf("%d.%d", SchemaMajor, SchemaMinor)

// ErrSchema is a result.json of a schema this kcovlab cannot read: another
// major version, or no version at all.
var ErrSchema = errors.New("unsupported result.json schema")

// Verdicts of a scenario.
const (
	Pass  = "pass"
	Fail  = "fail"  // ran, and the kernel broke the scenario's invariant
	Error = "error" // could not measure: the program, the channel or the VM failed
	Skip  = "skip"  // does not apply to this kernel (e.g. no selftest in its source)
)

// Kinds of a scenario's error verdict.
const (
	ErrorCrash   = "crash"   // the kernel crashed while it ran (or before it could)
	ErrorChannel = "channel" // the SSH session to the guest failed
	ErrorTimeout = "timeout" // the scenario did not finish in time
	// ErrorLab: the lab lost the guest (QEMU killed from outside, a hung
	// guest it killed, SSH lost while QEMU lived); nobody's kernel bug.
	ErrorLab = "lab"
	// ErrorCancelled: the run was interrupted (SIGINT, SIGTERM).
	ErrorCancelled = "cancelled"
)

// Result is result.json.
type Result struct {
	Schema     string    `json:"schema"`
	RunID      string    `json:"run_id"`
	LabVersion string    `json:"lab_version"`
	Started    time.Time `json:"started"`
	Kernel     Kernel    `json:"kernel"`
	Image      Image     `json:"image"`
	Accel      string    `json:"accel"`
	// AccelReason says why that accelerator was chosen.
	AccelReason string   `json:"accel_reason,omitempty"`
	QEMUArgv    []string `json:"qemu_argv,omitempty"`
	// Setup is the machine setup the guest booted with.
	Setup     *MachineSetup `json:"machine_setup,omitempty"`
	Stages    []Stage       `json:"stages"`
	Scenarios []Scenario    `json:"scenarios"`
	// Loop records the daily-loop options a run used (kcovlab run
	// --kernel-image, --append, --put, --exec, --keep, --gdb); nil without.
	Loop *Loop `json:"loop,omitempty"`
	// Error is set when the run stopped before its scenarios finished.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
}

// Kernel names the kernel that ran.
type Kernel struct {
	Name     string `json:"name"`
	Series   string `json:"series,omitempty"`
	Excluded []int  `json:"excluded_patches,omitempty"`
	// Mutant is the known-bad patch applied after the series (kcovlab mutants).
	Mutant       string   `json:"mutant,omitempty"`
	Key          string   `json:"key"`
	Source       string   `json:"source"`
	SourceID     string   `json:"source_id"`
	ConfigHash   string   `json:"config_hash"`
	Fragments    []string `json:"fragments"`
	Compiler     string   `json:"compiler"`
	Cached       bool     `json:"cached"`
	BuildSeconds float64  `json:"build_seconds"`
}

// Image names the guest initramfs.
type Image struct {
	Key    string `json:"key"`
	Cached bool   `json:"cached"`
}

// Stage is one timed step of the run.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Scenario is one scenario's outcome.
type Scenario struct {
	Name     string             `json:"name"`
	Verdict  string             `json:"verdict"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Evidence []string           `json:"evidence,omitempty"`
	Error    string             `json:"error,omitempty"`
	// ErrorKind says why an error verdict could not measure: ErrorCrash,
	// ErrorChannel or ErrorTimeout; empty when the program itself said so.
	ErrorKind string  `json:"error_kind,omitempty"`
	ExitCode  int     `json:"exit_code"`
	Seconds   float64 `json:"seconds"`
	// Cases are a selftest's test cases.
	Cases []Case `json:"cases,omitempty"`
}

// Loop is what a run did beyond its scenarios (see docs/result-json.md).
type Loop struct {
	// KernelImage, Vmlinux and Config are the user's build booted as it is.
	KernelImage string `json:"kernel_image,omitempty"`
	Vmlinux     string `json:"vmlinux,omitempty"`
	Config      string `json:"config,omitempty"`
	// KernelClass is what the guest answered to KCOV_UNIQUE_ENABLE when
	// no .config came with the image (unique, nounique, unpatched).
	KernelClass string   `json:"kernel_class,omitempty"`
	Append      []string `json:"append,omitempty"`
	QEMUArgs    []string `json:"qemu_args,omitempty"`
	// Puts are the files copied in, HOST:GUEST; Execs the commands run
	// as steps (their results are scenarios named exec, exec2, ...).
	Puts  []string `json:"puts,omitempty"`
	Execs []string `json:"execs,omitempty"`
	// GDBPort is QEMU's gdb stub on 127.0.0.1.
	GDBPort int `json:"gdb_port,omitempty"`
	// Kept is the guest left running after the run (run --keep).
	Kept *Kept `json:"kept,omitempty"`
}

// Kept is a guest left up after its run: how to reach and stop it.
type Kept struct {
	Pid     int    `json:"pid"`
	SSHPort int    `json:"ssh_port"`
	Key     string `json:"key"`
	HostKey string `json:"host_key"`
	Console string `json:"console"`
	QMPDir  string `json:"qmp_dir,omitempty"`
}

// Case is one KTAP test case of a selftest scenario.
type Case struct {
	Name   string `json:"name"`
	Status string `json:"status"` // pass, fail, skip, xfail (a known upstream defect), ...
	// Known explains an expected failure.
	Known string   `json:"known,omitempty"`
	Diag  []string `json:"diag,omitempty"`
}

// NewRunID returns a sortable, unique run id.
func NewRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Passed is true when the run finished and every scenario passed.
func (r *Result) Passed() bool {
	if r.Error != "" || len(r.Scenarios) == 0 || r.NothingChecked() {
		return false
	}
	for _, s := range r.Scenarios {
		if s.Verdict != Pass && s.Verdict != Skip {
			return false
		}
	}
	return true
}

// NothingChecked reports a run whose every scenario was skipped: it proves
// nothing, so it is not a pass.
func (r *Result) NothingChecked() bool {
	if r.Error != "" || len(r.Scenarios) == 0 {
		return false
	}
	for _, s := range r.Scenarios {
		if s.Verdict != Skip {
			return false
		}
	}
	return true
}

// AddStage records how long a stage took.
func (r *Result) AddStage(name string, d time.Duration) {
	r.Stages = append(r.Stages, Stage{Name: name, Seconds: d.Seconds()})
}

// Stage returns the seconds of the named stage.
func (r *Result) Stage(name string) (float64, bool) {
	for _, s := range r.Stages {
		if s.Name == name {
			return s.Seconds, true
		}
	}
	return 0, false
}

// Write saves r as dir/result.json through a temporary file and a rename.
// Lists are written as [] even when empty, never null.
func (r *Result) Write(dir string) error {
	out := *r
	out.Kernel.Fragments = nonNil(out.Kernel.Fragments)
	out.Stages, out.Scenarios = nonNil(out.Stages), nonNil(out.Scenarios)
	raw, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".result.json.tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "result.json"))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Read loads dir/result.json (or a result.json path). It reads any minor
// version of its schema's major (fields it does not know are ignored) and
// refuses another major with an error that wraps ErrSchema.
func Read(path string) (*Result, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "result.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	major, err := SchemaMajorOf(probe.Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if major != SchemaMajor {
		return nil, fmt.Errorf("%s: %w: schema %s, this kcovlab reads %d.x (written by a kcovlab of another major version: read it with that kcovlab, or rerun)",
			path, ErrSchema, probe.Schema, SchemaMajor)
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// SchemaMajorOf reads the major version of a result.json "schema" value:
// "MAJOR.MINOR", or a bare integer as schema 1 wrote it.
func SchemaMajorOf(v json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(v, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, fmt.Errorf("%w: no schema version (want \"schema\": \"%s\")", ErrSchema, SchemaVersion)
	}
	maj, min, ok := strings.Cut(s, ".")
	n, err := strconv.Atoi(maj)
	if _, merr := strconv.Atoi(min); !ok || err != nil || merr != nil || n < 0 {
		return 0, fmt.Errorf("%w: schema %q is not MAJOR.MINOR", ErrSchema, s)
	}
	return n, nil
}

// Header writes the first lines of a run's summary: the kernel, the
// accelerator and the stage timings. The per-scenario lines come from
// internal/report, which also colours them on a terminal.
// A run that stopped before its kernel was built or booted says so.
func (r *Result) Header(w io.Writer) {
	k := r.Kernel.Name
	if k == "" {
		k = "(unnamed)"
	}
	if r.Kernel.Key != "" {
		k += fmt.Sprintf(" %s (%s, %s)", r.Kernel.Key, r.Kernel.SourceID, r.Kernel.Compiler)
	} else {
		k += " (not built)"
	}
	accel := "accel " + r.Accel
	if r.Accel == "" {
		accel = "not booted"
	}
	fmt.Fprintf(w, "run %s: kernel %s, %s\n", r.RunID, k, accel)
	if r.Setup != nil {
		fmt.Fprintf(w, "  machine: %s\n", r.Setup)
	}
	var st []string
	for _, s := range r.Stages {
		st = append(st, fmt.Sprintf("%s %.1fs", s.Name, s.Seconds))
	}
	fmt.Fprintf(w, "  stages: %s\n", strings.Join(st, ", "))
}

// Verdict is the run's last summary line.
func (r *Result) Verdict() string {
	if r.NothingChecked() {
		return "NOTHING CHECKED: every scenario was skipped"
	}
	if r.Passed() {
		return "PASSED"
	}
	return "FAILED"
}
