package lab

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kconfig"
)

// The lockdep selftest kernels' fragments, preempt-lockdep.config included,
// against the .config their build produced (testdata: copied from the
// build of v2-no01-lockdep-selftest, tinyconfig + fragments +
// olddefconfig). Red: the same .config with lockdep or preemption dropped.
func TestPreemptLockdepFragmentLands(t *testing.T) {
	def := Kernels["v2-no01-lockdep-selftest"]
	// The testdata .config was built before guest.config went lean
	// (microvm, no ACPI or PCI): the guest fragment is left out here, the
	// lockdep kernels' own fragments are what this test is about.
	own := slices.DeleteFunc(slices.Clone(def.Fragments), func(f string) bool { return f == "guest.config" })
	frags, err := kconfig.LoadFragments(filepath.Join("..", "kernel-configs"), own...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "v2-no01-lockdep-selftest.config"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) *kconfig.Config {
		c, err := kconfig.ParseConfig(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := kconfig.Validate(parse(string(raw)), frags, nil); err != nil {
		t.Fatalf("the built .config does not hold the fragments: %v", err)
	}
	for _, tc := range []struct{ from, to, sym string }{
		{"CONFIG_PROVE_LOCKING=y", "# CONFIG_PROVE_LOCKING is not set", "PROVE_LOCKING"},
		{"CONFIG_PREEMPT=y", "CONFIG_PREEMPT_NONE=y", "PREEMPT"},
		{"CONFIG_KCOV_SELFTEST=y", "# CONFIG_KCOV_SELFTEST is not set", "KCOV_SELFTEST"},
	} {
		err := kconfig.Validate(parse(strings.Replace(string(raw), "\n"+tc.from+"\n", "\n"+tc.to+"\n", 1)), frags, nil)
		var ve *kconfig.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.sym) {
			t.Errorf("%s dropped: got %v, want a validation error naming it", tc.sym, err)
		}
	}
}
