package bench

import (
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

// Build kinds Builds reports, in order.
const (
	BuildCold    = "cold build"
	BuildFull    = "full rebuild"
	BuildOneFile = "one-file variant (kcov.c)"
	BuildConfig  = "config-symbol variant"
)

// fullSteps is the fewest steps Builds counts as a full rebuild: a cold
// build of these kernels is ~1250 steps, a kcov.c variant 38.
const fullSteps = 1000

// Build is the newest cached build of one kind, as its meta.json recorded
// it. Kernel is empty (and the numbers zero) when the cache holds none:
// then it was not measured.
type Build struct {
	Kind    string  `json:"kind"`
	Kernel  string  `json:"kernel,omitempty"`
	Key     string  `json:"key,omitempty"`
	Steps   int     `json:"steps,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	BuiltAt string  `json:"built_at,omitempty"`
}

// Measured reports whether the cache held a build of this kind.
func (b Build) Measured() bool { return b.Kernel != "" }

// baseFragments are the fragments every named kernel of the series has;
// a kernel with any other is a config-symbol variant.
var baseFragments = []string{"guest.config", "kcov.config", "kcov-unique.config"}

// buildKind classifies a cached kernel: a build in an output tree that had
// never linked a kernel is cold; a mutant is one kcov.c edit on its
// series; a build of fullSteps or more is a full rebuild (a tree that held
// another kernel's objects: another series, a header change); a smaller one
// with extra fragments is a config-symbol variant.
func buildKind(name string, fragments []string, steps int, cold bool) string {
	switch {
	case cold:
		return BuildCold
	case strings.Contains(name, "+mutant:"):
		return BuildOneFile
	case steps >= fullSteps:
		return BuildFull
	case slices.ContainsFunc(fragments, func(f string) bool { return !slices.Contains(baseFragments, f) }):
		return BuildConfig
	}
	return ""
}

// Builds reads the newest build of each kind from the kernel cache under
// cacheDir.
func Builds(cacheDir string) []Build {
	out := []Build{{Kind: BuildCold}, {Kind: BuildFull}, {Kind: BuildOneFile}, {Kind: BuildConfig}}
	metas, err := lab.BuiltKernels(cacheDir)
	if err != nil {
		return out
	}
	for _, m := range metas {
		kind := buildKind(m.Name, m.Fragments, m.Steps, m.Cold)
		for i := range out {
			if out[i].Kind == kind && m.BuiltAt > out[i].BuiltAt {
				out[i] = Build{Kind: kind, Kernel: m.Name, Key: m.Key, Steps: m.Steps, Seconds: m.BuildSecs, BuiltAt: m.BuiltAt}
			}
		}
	}
	return out
}
