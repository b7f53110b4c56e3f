package kconfig

import (
	"reflect"
	"testing"
)

func TestAnalyzeDeps(t *testing.T) {
	cfg := mustParseConfig(t, `CONFIG_Y1=y
CONFIG_Y2=y
CONFIG_M1=m
CONFIG_NUM=100
CONFIG_STR="abc"
`)
	tests := []struct {
		expr  string
		want  string
		unmet []string // symbols only; values come from cfg
	}{
		{"Y1 && Y2", "y", nil},
		{"Y1 && N1", "y", []string{"N1"}},
		{"N1 || N2", "y", []string{"N1", "N2"}},
		{"N1 || Y1", "y", nil},
		{"!Y1", "y", []string{"Y1"}},
		{"!N1", "y", nil},
		{"!(Y1 && Y2)", "y", []string{"Y1", "Y2"}},
		{"!(Y1 || N1)", "y", []string{"Y1"}},
		{"Y1 && !(N1 || Y2)", "y", []string{"Y2"}},
		{"M1", "y", []string{"M1"}},
		{"M1", "m", nil},
		{"M1 && N1", "m", []string{"N1"}},
		{"NUM >= 120", "y", []string{"NUM"}},
		{"NUM < 120 && NUM != 0", "y", nil},
		{"NUM = 0x64", "y", nil},
		{`STR = "abc"`, "y", nil},
		{`STR != "abc"`, "y", []string{"STR"}},
		{"Y1 = y && M1 = m && N1 = n", "y", nil},
		{"N1 = y", "y", []string{"N1"}},
		{"64BIT && Y1", "y", []string{"64BIT"}},
		{"$(success,false) && N1", "y", []string{"N1"}},
		{"(N1 || N2) && \t Y1", "42", []string{"N1", "N2"}},
		{"Y1 && (N1", "y", []string{"N1"}},  // unparsable: blame every n
		{"Y1 && ~ N1", "y", []string{"N1"}}, // untokenizable prefix kept
	}
	for _, tt := range tests {
		t.Run(tt.expr+"/"+tt.want, func(t *testing.T) {
			_, unmet := analyzeDeps(cfg, tt.expr, tt.want)
			var got []string
			for _, u := range unmet {
				if v, _ := cfg.Value(u.Symbol); v != u.Value {
					t.Errorf("%s reported as %q, config has %q", u.Symbol, u.Value, v)
				}
				got = append(got, u.Symbol)
			}
			if !reflect.DeepEqual(got, tt.unmet) {
				t.Errorf("unmet = %v, want %v", got, tt.unmet)
			}
		})
	}
}

func TestAnalyzeDepsRefs(t *testing.T) {
	cfg := mustParseConfig(t, "CONFIG_A=y\n")
	refs, _ := analyzeDeps(cfg, `A && (B || !A) && C != "x" && D >= 10 && y && $(f,E)`, "y")
	want := []SymbolValue{{"A", "y"}, {"B", "n"}, {"C", "n"}, {"D", "n"}}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("refs = %v, want %v", refs, want)
	}
}
