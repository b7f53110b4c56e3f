package kconfig

import (
	"errors"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIndexKconfig(t *testing.T) {
	idx, err := IndexKconfig(filepath.Join("testdata", "ktree"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sym  string
		want string
		ok   bool
	}{
		{"TOP_PLAIN", "", true},
		{"TOP_MULTI", "TOP_PLAIN && (FOO || BAR) && (!BAZ || QUX)", true},
		{"CONFIG_TOP_MULTI", "TOP_PLAIN && (FOO || BAR) && (!BAZ || QUX)", true},
		{"IN_OUTER", "OUTER && X", true},
		{"IN_BOTH", "OUTER && INNER && !OTHER", true},
		{"AFTER_INNER", "OUTER", true},
		{"AFTER_OUTER", "", true},
		{"SUBSYS", "NET", true},
		{"DRV_A", "SUBSYS && PCI && HAS_IOMEM", true},
		{"DRV_B", "SUBSYS && PCI", true},
		{"MODE_FAST", "SUBSYS && DRV_A", true},
		{"MODE_SAFE", "SUBSYS && DRV_A && DRV_B", true},
		{"SHARED", "SUBSYS || (DEBUG_KERNEL && EXPERT)", true},
		{"SUB_DEBUG", "$(cc-option,-fsanitize-coverage=trace-cmp)", true},
		{"ARCH_SYM", "ARM64_VA_48 || X86_64", true},
		{"KCOV_UNIQUE", "KCOV && CC_HAS_SANCOV_TRACE_PC_GUARD", true},
		{"NOT_A_DEP", "", false},        // only in help text
		{"NOT_A_SYMBOL", "", false},     // only in help text
		{"DEEPER_HELP_LINE", "", false}, // only in help text
		{"DOC_ONLY", "", false},         // Documentation/kbuild is skipped
		{"UNDEFINED", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.sym, func(t *testing.T) {
			got, ok := idx.DependsOn(tt.sym)
			if got != tt.want || ok != tt.ok {
				t.Errorf("DependsOn(%s) = %q, %v; want %q, %v", tt.sym, got, ok, tt.want, tt.ok)
			}
		})
	}
	if n := idx.Len(); n != 16 {
		t.Errorf("Len() = %d, want 16", n)
	}
}

func TestIndexKconfigArch(t *testing.T) {
	idx, err := IndexKconfigArch(filepath.Join("testdata", "ktree"), "x86")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := idx.DependsOn("ARCH_SYM"); got != "X86_64" {
		t.Errorf("DependsOn(ARCH_SYM) = %q, want X86_64 only", got)
	}
}

func TestIndexKconfigSkips(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Kconfig":                              "config A\n\tbool\n",
		"Kconfig.orig":                         "config ORIG_ONLY\n\tbool\n",
		".git/Kconfig":                         "config GIT_ONLY\n\tbool\n",
		"out/.config":                          "CONFIG_A=y\n",
		"out/Kconfig":                          "config BUILD_ONLY\n\tbool\n",
		"out/sub/Kconfig":                      "config BUILD_SUB\n\tbool\n",
		"drivers/Kconfig.extra":                "config EXTRA\n\tdepends on A\n",
		"drivers/NotKconfig":                   "config NOT_KCONFIG\n\tbool\n",
		"scripts/kconfig/tests/choice/Kconfig": "config TEST_ONLY\n\tbool\n",
	})
	idx, err := IndexKconfig(root)
	if err != nil {
		t.Fatal(err)
	}
	for sym, want := range map[string]bool{
		"A": true, "EXTRA": true, "TEST_ONLY": false,
		"ORIG_ONLY": false, "GIT_ONLY": false, "BUILD_ONLY": false, "BUILD_SUB": false, "NOT_KCONFIG": false,
	} {
		if _, ok := idx.DependsOn(sym); ok != want {
			t.Errorf("DependsOn(%s) found = %v, want %v", sym, ok, want)
		}
	}
}

func TestIndexKconfigNotATree(t *testing.T) {
	dir := t.TempDir()
	_, err := IndexKconfig(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Errorf("err = %v, want fs.ErrNotExist naming %s", err, dir)
	}
}

// TestIndexKconfigRealTree indexes a full kernel tree when one is present.
// It reads ~90k directory entries, so -short skips it.
func TestIndexKconfigRealTree(t *testing.T) {
	realTree := testutil.KernelTree(t)
	start := time.Now()
	idx, err := IndexKconfig(realTree)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %d symbols in %v", idx.Len(), time.Since(start))
	deps, ok := idx.DependsOn("KCOV")
	if !ok || !strings.Contains(deps, "ARCH_HAS_KCOV") {
		t.Errorf("DependsOn(KCOV) = %q, %v; want it to mention ARCH_HAS_KCOV", deps, ok)
	}
	if deps, _ := idx.DependsOn("KCOV_INSTRUMENT_ALL"); deps != "KCOV" {
		t.Errorf("DependsOn(KCOV_INSTRUMENT_ALL) = %q, want KCOV", deps)
	}

	x86, err := IndexKconfigArch(realTree, "x86")
	if err != nil {
		t.Fatal(err)
	}
	if deps, _ := x86.DependsOn("RANDOMIZE_BASE"); deps != "RELOCATABLE" {
		t.Errorf("x86: DependsOn(RANDOMIZE_BASE) = %q, want RELOCATABLE", deps)
	}
}
