package kconfig

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// depMap is a fake DepLookup.
type depMap map[string]string

func (d depMap) DependsOn(sym string) (string, bool) {
	e, ok := d[sym]
	return e, ok
}

func TestValidate(t *testing.T) {
	deps := depMap{
		"KCOV_UNIQUE":    "KCOV && CC_HAS_SANCOV_TRACE_PC_GUARD",
		"KCOV":           "ARCH_HAS_KCOV && (CC_HAS_SANCOV_TRACE_PC || GCC_PLUGINS)",
		"DRV":            "MODULES_DEP",
		"RANDOMIZE_BASE": "RELOCATABLE",
		"NOINSTR":        "!ARCH_WANTS_NO_INSTR || CC_IS_CLANG",
		"NEW_GCC":        "GCC_VERSION >= 120000",
		"CMP":            "$(cc-option,-fsanitize-coverage=trace-cmp) && KCOV",
	}
	tests := []struct {
		name  string
		cfg   string
		frags []string // fragment bodies, named f0.config, f1.config, ...
		deps  DepLookup
		want  []Mismatch
	}{
		{
			name:  "all landed",
			cfg:   "CONFIG_KCOV=y\nCONFIG_DRV=m\nCONFIG_S=\"a b\"\nCONFIG_N=42\nCONFIG_H=0x10\n",
			frags: []string{"CONFIG_KCOV=y\nCONFIG_DRV=m\n# CONFIG_OFF is not set\nCONFIG_OFF2=n\n", "CONFIG_S=\"a b\"\nCONFIG_N=42\nCONFIG_H=0X10\n"},
			deps:  deps,
		},
		{
			name:  "dropped with deps",
			cfg:   "CONFIG_KCOV=y\n# CONFIG_CC_HAS_SANCOV_TRACE_PC_GUARD is not set\n",
			frags: []string{"# c\nCONFIG_KCOV_UNIQUE=y\n"},
			deps:  deps,
			want: []Mismatch{{
				Symbol: "KCOV_UNIQUE", Fragment: "f0.config", Line: 2, Want: "y", Got: "n",
				DependsOn: "KCOV && CC_HAS_SANCOV_TRACE_PC_GUARD",
				Refs:      []SymbolValue{{"KCOV", "y"}, {"CC_HAS_SANCOV_TRACE_PC_GUARD", "n"}},
				Unmet:     []SymbolValue{{"CC_HAS_SANCOV_TRACE_PC_GUARD", "n"}},
			}},
		},
		{
			name:  "only the failing side of an or is not blamed",
			cfg:   "CONFIG_CC_HAS_SANCOV_TRACE_PC=y\n",
			frags: []string{"CONFIG_KCOV=y"},
			deps:  deps,
			want: []Mismatch{{
				Symbol: "KCOV", Fragment: "f0.config", Line: 1, Want: "y", Got: "n",
				DependsOn: deps["KCOV"],
				Refs:      []SymbolValue{{"ARCH_HAS_KCOV", "n"}, {"CC_HAS_SANCOV_TRACE_PC", "y"}, {"GCC_PLUGINS", "n"}},
				Unmet:     []SymbolValue{{"ARCH_HAS_KCOV", "n"}},
			}},
		},
		{
			name:  "wrong value limited by a module dependency",
			cfg:   "CONFIG_DRV=m\nCONFIG_MODULES_DEP=m\n",
			frags: []string{"CONFIG_DRV=y"},
			deps:  deps,
			want: []Mismatch{{
				Symbol: "DRV", Fragment: "f0.config", Line: 1, Want: "y", Got: "m",
				DependsOn: "MODULES_DEP",
				Refs:      []SymbolValue{{"MODULES_DEP", "m"}},
				Unmet:     []SymbolValue{{"MODULES_DEP", "m"}},
			}},
		},
		{
			name:  "n requested but set",
			cfg:   "CONFIG_RANDOMIZE_BASE=y\n",
			frags: []string{"CONFIG_RANDOMIZE_BASE=n"},
			deps:  deps,
			want:  []Mismatch{{Symbol: "RANDOMIZE_BASE", Fragment: "f0.config", Line: 1, Want: "n", Got: "y"}},
		},
		{
			name:  "string and number values",
			cfg:   "CONFIG_S=\"other\"\nCONFIG_N=7\nCONFIG_EMPTY=\"\"\n",
			frags: []string{"CONFIG_S=\"lab\"\nCONFIG_N=8\nCONFIG_EMPTY=\"\"\nCONFIG_GONE=\"x\""},
			deps:  nil,
			want: []Mismatch{
				{Symbol: "S", Fragment: "f0.config", Line: 1, Want: `"lab"`, Got: `"other"`},
				{Symbol: "N", Fragment: "f0.config", Line: 2, Want: "8", Got: "7"},
				{Symbol: "GONE", Fragment: "f0.config", Line: 4, Want: `"x"`, Got: "n"},
			},
		},
		{
			name:  "last assignment wins",
			cfg:   "CONFIG_B=y\n",
			frags: []string{"CONFIG_A=y\nCONFIG_B=n\n", "# CONFIG_A is not set\nCONFIG_B=y\n"},
			deps:  deps,
		},
		{
			name:  "negated symbol that is set",
			cfg:   "CONFIG_ARCH_WANTS_NO_INSTR=y\n",
			frags: []string{"CONFIG_NOINSTR=y"},
			deps:  deps,
			want: []Mismatch{{
				Symbol: "NOINSTR", Fragment: "f0.config", Line: 1, Want: "y", Got: "n",
				DependsOn: deps["NOINSTR"],
				Refs:      []SymbolValue{{"ARCH_WANTS_NO_INSTR", "y"}, {"CC_IS_CLANG", "n"}},
				Unmet:     []SymbolValue{{"ARCH_WANTS_NO_INSTR", "y"}, {"CC_IS_CLANG", "n"}},
			}},
		},
		{
			name:  "comparison and macro",
			cfg:   "CONFIG_GCC_VERSION=110000\nCONFIG_KCOV=y\n",
			frags: []string{"CONFIG_NEW_GCC=y\nCONFIG_CMP=y\nCONFIG_UNKNOWN=y\n"},
			deps:  deps,
			want: []Mismatch{
				{
					Symbol: "NEW_GCC", Fragment: "f0.config", Line: 1, Want: "y", Got: "n",
					DependsOn: deps["NEW_GCC"],
					Refs:      []SymbolValue{{"GCC_VERSION", "110000"}},
					Unmet:     []SymbolValue{{"GCC_VERSION", "110000"}},
				},
				{
					Symbol: "CMP", Fragment: "f0.config", Line: 2, Want: "y", Got: "n",
					DependsOn: deps["CMP"], Refs: []SymbolValue{{"KCOV", "y"}},
				},
				{Symbol: "UNKNOWN", Fragment: "f0.config", Line: 3, Want: "y", Got: "n"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var frags []*Fragment
			for i, body := range tt.frags {
				frags = append(frags, mustParseFragment(t, "f"+string(rune('0'+i))+".config", body))
			}
			err := Validate(mustParseConfig(t, tt.cfg), frags, tt.deps)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			if !reflect.DeepEqual(ve.Mismatches, tt.want) {
				t.Errorf("Mismatches =\n%#v\nwant\n%#v", ve.Mismatches, tt.want)
			}
		})
	}
}

// TestValidationErrorGolden checks the message a user sees, using the
// synthetic kernel tree as the dependency source.
func TestValidationErrorGolden(t *testing.T) {
	idx, err := IndexKconfig(filepath.Join("testdata", "ktree"))
	if err != nil {
		t.Fatal(err)
	}
	frags, err := LoadFragments(filepath.Join("testdata", "fragments"), "lab.config", "kcov-unique.config")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(filepath.Join("testdata", "final.config"))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(cfg, frags, idx)
	if err == nil {
		t.Fatal("Validate = nil, want mismatches")
	}
	checkGolden(t, "validation_error.golden", err.Error()+"\n")
}

func TestValidationErrorSingular(t *testing.T) {
	err := &ValidationError{Mismatches: []Mismatch{{
		Symbol: "KCOV_UNIQUE", Fragment: "kcov-unique.config", Line: 3, Want: "y", Got: "n",
		DependsOn: "KCOV && CC_HAS_SANCOV_TRACE_PC_GUARD",
		Unmet:     []SymbolValue{{"CC_HAS_SANCOV_TRACE_PC_GUARD", "n"}},
	}}}
	want := "config: 1 symbol did not land\n" +
		"  CONFIG_KCOV_UNIQUE=y (kcov-unique.config:3) is not set: " +
		"depends on KCOV && CC_HAS_SANCOV_TRACE_PC_GUARD [CC_HAS_SANCOV_TRACE_PC_GUARD=n]"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}
