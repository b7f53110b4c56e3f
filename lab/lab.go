// Package lab is one run of kcovlab: it builds (or finds in the cache) a
// KCOV kernel and a u-root guest image, boots them in QEMU, runs scenarios
// over SSH (with their trials and host-side judging) and writes the run
// directory. Everything a run needs is in Options; Run does it.
//
// Its exported surface:
//   - Run and Options: one run, and the options' Defaults;
//   - kernel definitions and their resolution: Kernels, KernelNames,
//     LookupKernel, KernelDef, Options.KernelDef, and the kernel alone,
//     without booting it: Built, BuildKernel, BuiltKernels, KernelSource,
//     KernelSpec;
//   - scenarios: SelectScenarios;
//   - typed errors that say whose fault a failure was (BuildError comes
//     from internal/kbuild): BootError, KernelCrash, ScenarioError,
//     InfraError, GuestLostError, PortClashError, CancelledError,
//     UsageError, UnknownKernelError, ErrScenarioFailed,
//     ErrNothingChecked, and ErrorKind, the name result.json gives them;
//     FindCrash reads a crash off the console (internal/crash parses it);
//   - what a pool of runs sizes itself from: Accelerator (the accelerator
//     runs would use) and BuildRunning (a build holds the cores); and
//     Options.AfterKernel, where a pool frees its build slot;
//   - small helpers and constants of the command: DefaultKernel,
//     CoreSuite, DefaultCacheDir,
//     CheckCacheDir, FindModuleDir, MutantName, SelftestID, MinMemoryMB,
//     FaultPortEnv, Version.
//
// It owns the kernel, the image, the VM and the SSH channel: it is the only
// package above them that imports internal/vm, internal/sshlink or images.
// It must not know the verbs: many runs (package runs) and bisect,
// compare, ask, nightly and mutants sit on top of it and it imports none
// of them (internal/house's test checks).
//
// Host needs: what internal/kbuild needs for the kernel, the Go toolchain
// for the image, and qemu-system-x86_64. Unit tests (go test -short
// ./lab/) use fakes (an in-process guest, a fake QEMU script); the real
// run is the e2e suite (make e2e).
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Version is the lab's version, recorded in result.json.
var Version = "dev"

// DefaultKernel is the kernel a run boots when none is named: the series'
// main job, the v2 CONFIG_KCOV_UNIQUE kernel.
const DefaultKernel = "v2"

// CoreSuite is what `kcovlab run` runs when no scenario is named: the
// scenarios that answer "does dedup work" (overflow, reset, the guard race)
// and the ones that keep them honest (smoke, unique, ioctl).
var CoreSuite = []string{"smoke", "unique", "ioctl", "reset", "overflow", "guardrace"}

// Options configure one run. Zero values take the defaults in brackets.
type Options struct {
	// ModuleDir is the kcovlab source (for the guest image) [found from the
	// working directory].
	ModuleDir string
	// KernelSrc is a local kernel tree; empty means Tarball.
	KernelSrc string
	// Kernel is a named kernel (see Kernels) [vanilla, or Series].
	Kernel string
	// Series, when set, replaces the named kernel's series: a name under
	// patches/, an mbox, a directory of .patch files or REPO:RANGE.
	Series string
	// Exclude leaves these patch numbers out of the series.
	Exclude []int
	// Mutant is a known-bad patch applied after the series (the mutation
	// suite's); the kernel is named KERNEL+mutant:NAME.
	Mutant string
	// Tarball is a kernel source tarball [Debian's linux-source-6.12].
	Tarball string
	// ConfigDir holds the fragments [ModuleDir/kernel-configs].
	ConfigDir string
	// Fragments, when set, replace the kernel's config fragments (files in
	// ConfigDir, applied in order) [the named kernel's].
	Fragments []string
	// DebugInfo adds DebugInfoFragment to the kernel's fragments (its
	// name gets "+debug-info"): DWARF, so evidence reads file:line.
	DebugInfo bool
	// CacheDir holds sources, kernels and images [$KCOVLAB_CACHE or ~/.cache/kcovlab].
	CacheDir string
	// ResultsDir holds one directory per run [ModuleDir/results].
	ResultsDir string
	// Scenarios to run [smoke].
	Scenarios []string
	// Accel is "auto", "kvm" or "tcg" [auto: probe KVM, fall back to TCG].
	Accel string
	// QEMU binary [qemu-system-x86_64].
	QEMU string
	CPUs int // [2]
	// Machine is the machine setup (MachineSetups) [DefaultMachine].
	Machine  string
	MemoryMB int // [1024]
	// Jobs for make (--make-jobs) [number of CPUs].
	Jobs int
	// BootTimeout bounds boot-to-SSH [3m under TCG, 1m under KVM].
	BootTimeout time.Duration
	// ScenarioTimeout bounds each scenario [5m].
	ScenarioTimeout time.Duration
	// The daily loop (loop.go): KernelImage boots a bzImage as it is (no
	// build), Vmlinux symbolizes it; Append adds kernel command-line words,
	// QEMUArgs QEMU arguments; Puts copy host files in (FILE[:GUESTPATH]),
	// Execs run commands as steps; Keep leaves the guest up; GDB starts
	// QEMU's gdb stub.
	KernelImage string
	Vmlinux     string
	Append      []string
	QEMUArgs    []string
	Puts        []string
	Execs       []string
	Keep        bool
	GDB         bool
	// BootRuns is how many boots a boot-gate scenario makes [the
	// scenario's FreshBoots].
	BootRuns int
	// SerialTrials boots each fresh-boot trial's guest only when its turn
	// comes, instead of beside the shared guest (preboot.go): for a pool
	// that already runs several runs at once.
	SerialTrials bool
	Log          *slog.Logger
	// Out receives the human summary [discarded].
	Out io.Writer
	// Color colours the summary's verdicts (set it when Out is a terminal).
	Color bool
	// AfterKernel, when set, is called once the kernel stage ends, with
	// its error (nil: built or found in the cache), before anything else
	// happens. A pool of runs (package runs) frees its build slot there and
	// waits for a VM slot. Its error ends the run.
	AfterKernel func(ctx context.Context, kernelErr error) error
}

// Run does one whole run and returns its result, which is also written to
// the run directory. The error is nil only when every scenario passed;
// ErrScenarioFailed, *kbuild.BuildError, *BootError and *InfraError tell
// whose fault it was.
func Run(ctx context.Context, opts Options) (*results.Result, error) {
	if err := opts.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	selected, err := SelectScenarios(opts.Scenarios)
	if err != nil {
		return nil, err
	}
	def, err := opts.KernelDef()
	if opts.KernelImage != "" {
		def, err = KernelDef{Name: "image"}, nil
	}
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, log: opts.Log, scenarios: selected, def: def}
	return r.do(ctx)
}

// SelectScenarios resolves scenario names (see scenarios.Select), in order;
// "all" is every scenario.
func SelectScenarios(names []string) ([]scenarios.Scenario, error) {
	var out []scenarios.Scenario
	for _, n := range names {
		if n == "all" {
			n = strings.Join(scenarios.Names(), ",")
		}
		s, err := scenarios.Select(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// Defaults fills in the zero options with their defaults and checks them;
// Run, and every verb before its first run, calls it.
func (o *Options) Defaults() error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ModuleDir == "" {
		dir, err := FindModuleDir()
		if err != nil {
			return err
		}
		o.ModuleDir = dir
	}
	if o.ConfigDir == "" {
		o.ConfigDir = filepath.Join(o.ModuleDir, "kernel-configs")
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.ResultsDir == "" {
		o.ResultsDir = filepath.Join(o.ModuleDir, "results")
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = []string{"smoke"}
	}
	if o.Accel == "" {
		o.Accel = "auto"
	}
	switch o.Accel {
	case "auto", "kvm", "tcg":
	default:
		return fmt.Errorf("--accel %q: want auto, kvm or tcg", o.Accel)
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.Machine == "" {
		o.Machine = DefaultMachine
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 1024
	}
	if o.ScenarioTimeout == 0 {
		o.ScenarioTimeout = 5 * time.Minute
	}
	return o.validate()
}

// KernelDef resolves Kernel, Series, Exclude and Fragments into one
// definition. --series v2 means the named kernel v2; any other --series is a
// custom series (mbox, directory or REPO:RANGE) built with
// CONFIG_KCOV_UNIQUE=y. A local tree without either is the kernel "local"
// (the tree as it is, vanilla's fragments).
func (o *Options) KernelDef() (KernelDef, error) {
	def, err := o.namedDef()
	if err != nil {
		return def, err
	}
	if len(o.Fragments) > 0 {
		def.Fragments = append([]string(nil), o.Fragments...)
	}
	if o.DebugInfo && !slices.Contains(def.Fragments, DebugInfoFragment) {
		def.Fragments = append(def.Fragments, DebugInfoFragment)
		def.Name += "+debug-info"
	}
	if machineNeedsPC(o.Machine) && !slices.Contains(def.Fragments, PCFragment) {
		def.Fragments = append(def.Fragments, PCFragment)
		def.Name += "+pc"
	}
	return def, nil
}

func (o *Options) namedDef() (KernelDef, error) {
	name := o.Kernel
	if o.Series != "" && name == "" {
		name = o.Series
	}
	if name == "" {
		name = DefaultKernel
	}
	def, err := LookupKernel(name)
	if o.Kernel == "" && o.Series == "" && o.KernelSrc != "" {
		def = KernelDef{Name: "local", Description: "the local tree as it is", Fragments: frags()}
	}
	if err != nil && o.Series != "" && o.Kernel == "" {
		def, err = KernelDef{
			Name:   "series:" + filepath.Base(o.Series),
			Series: o.Series, Fragments: frags("kcov-unique.config"),
		}, nil
	}
	if err != nil {
		return def, err
	}
	if o.Series != "" && o.Kernel != "" {
		return def, &UsageError{fmt.Sprintf("--kernel %s and --series %s: give one of them", o.Kernel, o.Series)}
	}
	if len(o.Exclude) > 0 {
		if def.Series == "" {
			return def, &UsageError{fmt.Sprintf("--exclude needs a kernel with a series (%s has none)", def.Name)}
		}
		def.Exclude = append([]int(nil), o.Exclude...)
		def.Name += fmt.Sprintf("-without%v", o.Exclude)
	}
	if o.Mutant != "" {
		if def.Series == "" {
			return def, &UsageError{fmt.Sprintf("a mutant needs a kernel with a series (%s has none)", def.Name)}
		}
		if fi, err := os.Stat(o.Mutant); err != nil || fi.IsDir() {
			return def, &UsageError{fmt.Sprintf("--mutant %s: not a patch file (the mutants are patches/mutants/SERIES/NN-NAME.patch)", o.Mutant)}
		}
		def.Mutant = o.Mutant
		def.Name += "+mutant:" + MutantName(o.Mutant)
	}
	return def, nil
}

// MutantName is a mutant patch file's name without its number and
// extension: patches/mutants/v2/01-unique-records-every-hit.patch is
// unique-records-every-hit.
func MutantName(path string) string {
	if path == "" {
		return ""
	}
	base := strings.TrimSuffix(filepath.Base(path), ".patch")
	if i := strings.IndexByte(base, '-'); i > 0 && strings.Trim(base[:i], "0123456789") == "" {
		base = base[i+1:]
	}
	return base
}

// DefaultCacheDir is $KCOVLAB_CACHE, else the user cache dir's kcovlab.
func DefaultCacheDir() string {
	if d := os.Getenv("KCOVLAB_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kcovlab")
	}
	// No HOME: no predictable fallback anyone could have made first;
	// validate asks for KCOVLAB_CACHE or --cache.
	return ""
}

const modulePath = "module github.com/kcovlab/kcovlab"

// FindModuleDir walks up from the working directory to kcovlab's go.mod.
func FindModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && len(b) >= len(modulePath) && string(b[:len(modulePath)]) == modulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("kcovlab source not found above " + dir + ": run from the kcovlab checkout or pass --src")
		}
	}
}

// Built reports whether the kernel opts name is in the cache with the
// inputs it would be built from today (source, series, fragments,
// compiler), without building or applying anything.
func Built(ctx context.Context, opts Options) (bool, error) {
	if err := opts.Defaults(); err != nil {
		return false, &UsageError{err.Error()}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return false, err
	}
	r := &run{opts: opts, log: opts.Log, def: def}
	spec, err := r.kernelSpec(ctx, def)
	if err != nil {
		return false, err
	}
	_, err = kbuild.Lookup(spec, kbuild.Options{CacheDir: opts.CacheDir})
	return err == nil, nil
}
