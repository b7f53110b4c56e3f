package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/series"
)

// KernelDef names a kernel: a series on the base source (with some of its
// patches left out) and the config fragments. The cache key covers all of it.
type KernelDef struct {
	Name        string
	Description string
	// Series is a series name under patches/ ("v2"), an mbox file, a
	// directory of .patch files, or REPO:RANGE. Empty: the base source.
	Series string
	// Exclude lists patch numbers left out of the series.
	Exclude   []int
	Fragments []string
	// MinClang is the oldest clang major version that builds it.
	MinClang int
	// Mutant is a patch file applied after the series: a known-bad edit
	// from patches/mutants/ (see package mutants). Empty for real kernels.
	Mutant string
	// OnDemand kernels are built only when named: a flavour for one
	// question (DWARF, the tsc.c crash's lockdep kernels) whose build
	// costs far more than it tells a nightly. NightlyKernels leaves them
	// out; `--kernel all` takes them too.
	OnDemand bool
}

// DebugInfoFragment adds DWARF to a kernel (Options.DebugInfo, kernel
// v2-debug), so the host symbolizes to file:line.
const DebugInfoFragment = "debug-info.config"

var baseFragments = []string{"guest.config", "kcov.config"}

func frags(extra ...string) []string {
	return append(append([]string(nil), baseFragments...), extra...)
}

// Kernels are the named kernels the lab knows.
var Kernels = map[string]KernelDef{
	"vanilla": {Name: "vanilla", Description: "6.12 as Debian ships it, KCOV on", Fragments: frags()},
	"v2": {Name: "v2", Description: "6.12 + dedup series v2, CONFIG_KCOV_UNIQUE=y",
		Series: "v2", Fragments: frags("kcov-unique.config")},
	"v2-no01": {Name: "v2-no01", Description: "v2 without patch 01 (tsc.c instrumented again)",
		Series: "v2", Exclude: []int{1}, Fragments: frags("kcov-unique.config")},
	"v2-nounique": {Name: "v2-nounique", Description: "6.12 + series v2, CONFIG_KCOV_UNIQUE=n",
		Series: "v2", Fragments: frags("kcov-unique-off.config")},
	"v2-selftest": {Name: "v2-selftest", Description: "v2 with CONFIG_KCOV_SELFTEST (boot gate: must survive)",
		Series: "v2", Fragments: frags("kcov-unique.config", "kcov-selftest.config")},
	"v2-no01-selftest": {Name: "v2-no01-selftest", Description: "v2 without patch 01, CONFIG_KCOV_SELFTEST (boot gate: the tsc.c crash)",
		Series: "v2", Exclude: []int{1}, Fragments: frags("kcov-unique.config", "kcov-selftest.config")},
	"v2-debug": {Name: "v2-debug", Description: "v2 with DWARF (debug-info.config): evidence and crash reports read file:line",
		Series: "v2", Fragments: frags("kcov-unique.config", DebugInfoFragment), OnDemand: true},
	"v2-lockdep-selftest": {Name: "v2-lockdep-selftest", Description: "v2-selftest with CONFIG_PREEMPT and lockdep, like the author's kernel (boot gate: must survive)",
		Series: "v2", Fragments: frags("kcov-unique.config", "kcov-selftest.config", "preempt-lockdep.config"), OnDemand: true},
	"v2-no01-lockdep-selftest": {Name: "v2-no01-lockdep-selftest", Description: "v2-no01-selftest with CONFIG_PREEMPT and lockdep (boot gate: patch 01's crash)",
		Series: "v2", Exclude: []int{1}, Fragments: frags("kcov-unique.config", "kcov-selftest.config", "preempt-lockdep.config"), OnDemand: true},
	"v4-lockdep-selftest": {Name: "v4-lockdep-selftest", Description: "v4 with CONFIG_KCOV_SELFTEST, CONFIG_PREEMPT and lockdep (boot gate: must survive)",
		Series: "v4", Fragments: frags("kcov-unique.config", "kcov-selftest.config", "preempt-lockdep.config"), MinClang: 21, OnDemand: true},
	"v4-no01-lockdep-selftest": {Name: "v4-no01-lockdep-selftest", Description: "v4 without patch 01, CONFIG_KCOV_SELFTEST, CONFIG_PREEMPT and lockdep (boot gate: patch 01's crash)",
		Series: "v4", Exclude: []int{1}, Fragments: frags("kcov-unique.config", "kcov-selftest.config", "preempt-lockdep.config"), MinClang: 21, OnDemand: true},
	"v4": {Name: "v4", Description: "6.12 + dedup series v4, CONFIG_KCOV_UNIQUE=y (clang >= 21)",
		Series: "v4", Fragments: frags("kcov-unique.config"), MinClang: 21},
	"v4-no01": {Name: "v4-no01", Description: "v4 without patch 01 (tsc.c instrumented again)",
		Series: "v4", Exclude: []int{1}, Fragments: frags("kcov-unique.config"), MinClang: 21},
}

// KernelNames returns the named kernels in order.
func KernelNames() []string {
	var n []string
	for k := range Kernels {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// NightlyKernels returns the named kernels a nightly builds and runs when
// none is named: every one but the OnDemand flavours, in order.
func NightlyKernels() []string {
	var n []string
	for _, k := range KernelNames() {
		if !Kernels[k].OnDemand {
			n = append(n, k)
		}
	}
	return n
}

// UnknownKernelError names a kernel the lab does not know.
type UnknownKernelError struct{ Name string }

func (e *UnknownKernelError) Error() string {
	return fmt.Sprintf("unknown kernel %q (known: %s)", e.Name, strings.Join(KernelNames(), ", "))
}

// LookupKernel returns the named kernel.
func LookupKernel(name string) (KernelDef, error) {
	k, ok := Kernels[name]
	if !ok {
		return KernelDef{}, &UnknownKernelError{Name: name}
	}
	return k, nil
}

// String is the kernel's identity as a person reads it.
func (k KernelDef) String() string {
	s := k.Name + ": base"
	if k.Series != "" {
		s += " + series " + k.Series
	}
	if len(k.Exclude) > 0 {
		var ex []string
		for _, n := range k.Exclude {
			ex = append(ex, strconv.Itoa(n))
		}
		s += " without " + strings.Join(ex, ",")
	}
	if k.Mutant != "" {
		s += " + mutant " + filepath.Base(k.Mutant)
	}
	return s + " + " + strings.Join(k.Fragments, " ")
}

// loadSeries reads the kernel's series (nil for none) from the patches dir.
func (k KernelDef) LoadSeries(ctx context.Context, moduleDir string) (*series.Series, error) {
	if k.Series == "" {
		return nil, nil
	}
	spec := k.Series
	if dir := filepath.Join(moduleDir, "patches", spec); !strings.ContainsAny(spec, "/:") {
		if _, err := os.Stat(dir); err == nil {
			spec = dir
		}
	}
	s, err := series.Load(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Name, err)
	}
	if len(k.Exclude) > 0 {
		if s, err = s.Without(k.Exclude...); err != nil {
			return nil, fmt.Errorf("kernel %s: %w", k.Name, err)
		}
	}
	if k.Mutant != "" {
		m, err := series.Load(ctx, k.Mutant)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: mutant: %w", k.Name, err)
		}
		s = s.Plus(m)
	}
	return s, nil
}

// BuiltKernels lists the kernels finished in the cache.
func BuiltKernels(cacheDir string) ([]kbuild.Meta, error) { return kbuild.List(cacheDir) }
