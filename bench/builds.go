package bench

import (
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

// Build kinds Builds reports, in order.
const (
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

// buildKind classifies a cached kernel: a mutant is one kcov.c edit on
// its series; extra fragments make a config-symbol variant; a build of
// fullSteps or more is a full rebuild. The cache does not record whether
// the output tree was empty before (a cold build) or held another
// kernel's objects, so a full rebuild may be either.
func buildKind(name string, fragments []string, steps int) string {
	switch {
	case strings.Contains(name, "+mutant:"):
		return BuildOneFile
	case slices.ContainsFunc(fragments, func(f string) bool { return !slices.Contains(baseFragments, f) }):
		return BuildConfig
	case steps >= fullSteps:
		return BuildFull
	}
	return ""
}

// Builds reads the newest build of each kind from the kernel cache under
// cacheDir.
func Builds(cacheDir string) []Build {
	out := []Build{{Kind: BuildFull}, {Kind: BuildOneFile}, {Kind: BuildConfig}}
	metas, err := lab.BuiltKernels(cacheDir)
	if err != nil {
		return out
	}
	for _, m := range metas {
		kind := buildKind(m.Name, m.Fragments, m.Steps)
		for i := range out {
			if out[i].Kind == kind && m.BuiltAt > out[i].BuiltAt {
				out[i] = Build{Kind: kind, Kernel: m.Name, Key: m.Key, Steps: m.Steps, Seconds: m.BuildSecs, BuiltAt: m.BuiltAt}
			}
		}
	}
	return out
}
