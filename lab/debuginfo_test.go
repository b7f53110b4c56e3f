package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kconfig"
)

// v2Toolchain is what the v2 kernel's final .config says about its
// toolchain and debug options (clang 22 with its integrated assembler).
const v2Toolchain = `CONFIG_CC_IS_CLANG=y
CONFIG_CLANG_VERSION=220108
CONFIG_AS_IS_LLVM=y
CONFIG_AS_VERSION=220108
CONFIG_PAHOLE_VERSION=0
# CONFIG_BPF_SYSCALL is not set
CONFIG_DEBUG_KERNEL=y
CONFIG_AS_HAS_NON_CONST_ULEB128=y
CONFIG_DEBUG_INFO_NONE=y
# CONFIG_DEBUG_INFO_DWARF5 is not set
`

// olddefconfig approximates what make olddefconfig does with fragments:
// a request lands once its dependencies hold (DEBUG_INFO_DWARF5 selects
// DEBUG_INFO and ends the choice's NONE), which may let another land;
// it fails on a request that never can or an unknown symbol.
func olddefconfig(t *testing.T, before string, frags []*kconfig.Fragment, deps kconfig.DepLookup) (*kconfig.Config, error) {
	t.Helper()
	cur := before
	for {
		cfg, err := kconfig.ParseConfig(strings.NewReader(cur))
		if err != nil {
			t.Fatal(err)
		}
		err = kconfig.Validate(cfg, frags, deps)
		var ve *kconfig.ValidationError
		if err == nil {
			return cfg, nil
		}
		if !errors.As(err, &ve) {
			t.Fatal(err)
		}
		progress := false
		var stuck []string
		for _, m := range ve.Mismatches {
			if _, known := deps.DependsOn(m.Symbol); !known {
				return nil, errors.New(m.Symbol + " is not a 6.12 symbol")
			}
			if len(m.Unmet) > 0 {
				stuck = append(stuck, m.String())
				continue
			}
			cur += "CONFIG_" + m.Symbol + "=" + m.Want + "\n"
			if m.Symbol == "DEBUG_INFO_DWARF5" {
				cur = strings.Replace(cur, "CONFIG_DEBUG_INFO_NONE=y\n", "", 1) + "CONFIG_DEBUG_INFO=y\n"
			}
			progress = true
		}
		if !progress {
			return nil, errors.New(strings.Join(stuck, "; "))
		}
	}
}

// The debug-info fragment's requests are 6.12 symbols whose dependencies
// hold on the v2 kernel's toolchain, so olddefconfig keeps them and the
// build's config validator accepts the result; with a GNU assembler too
// old for DWARF 5, or a misspelt symbol, it would not.
func TestDebugInfoFragmentLands(t *testing.T) {
	deps, err := kconfig.IndexKconfigArch("testdata/kconfig-6.12", "x86")
	if err != nil {
		t.Fatal(err)
	}
	frags, err := kconfig.LoadFragments("../kernel-configs", DebugInfoFragment)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := olddefconfig(t, v2Toolchain, frags, deps)
	if err != nil {
		t.Fatalf("the fragment would not land on v2: %v", err)
	}
	if err := kconfig.Validate(cfg, frags, deps); err != nil {
		t.Fatalf("the validator refuses the fragment: %v", err)
	}
	if v, _ := cfg.Value("DEBUG_INFO"); v != "y" {
		t.Error("DEBUG_INFO is not selected")
	}

	oldGNUas := strings.NewReplacer("CONFIG_AS_IS_LLVM=y", "CONFIG_AS_IS_GNU=y", "CONFIG_AS_VERSION=220108", "CONFIG_AS_VERSION=23400").Replace(v2Toolchain)
	if _, err := olddefconfig(t, oldGNUas, frags, deps); err == nil || !strings.Contains(err.Error(), "DEBUG_INFO_DWARF5") {
		t.Errorf("clang with GNU as 2.34: got %v, want DEBUG_INFO_DWARF5 refused", err)
	}
	typo, err := kconfig.ParseFragment("typo.config", strings.NewReader("CONFIG_DEBUG_INFO_DWARF_5=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := olddefconfig(t, v2Toolchain, []*kconfig.Fragment{typo}, deps); err == nil {
		t.Error("a misspelt symbol was taken")
	}
}

// --debug-info adds the fragment once, and names the kernel for it.
func TestDebugInfoOption(t *testing.T) {
	for _, c := range []struct {
		o    Options
		name string
	}{
		{Options{Kernel: "v2", DebugInfo: true}, "v2+debug-info"},
		{Options{Kernel: "v2-debug", DebugInfo: true}, "v2-debug"},
		{Options{Kernel: "v2"}, "v2"},
	} {
		def, err := c.o.KernelDef()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range def.Fragments {
			if f == DebugInfoFragment {
				n++
			}
		}
		if def.Name != c.name || n != map[bool]int{true: 1, false: 0}[c.o.DebugInfo] {
			t.Errorf("%+v: kernel %s fragments %v", c.o, def.Name, def.Fragments)
		}
	}
}
