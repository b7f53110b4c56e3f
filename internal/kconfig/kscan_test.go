package kconfig

import (
	"reflect"
	"testing"
)

func TestJoinExprs(t *testing.T) {
	tests := []struct {
		parts []string
		op    string
		want  string
	}{
		{nil, " && ", ""},
		{[]string{"", "A", ""}, " && ", "A"},
		{[]string{"A", "B", "A"}, " && ", "A && B"},
		{[]string{"A || B", "C"}, " && ", "(A || B) && C"},
		{[]string{"A && (B || C)", "D"}, " && ", "A && (B || C) && D"},
		{[]string{"(A || B)", "C"}, " && ", "(A || B) && C"},
		{[]string{"A && B", "C || D", "E"}, " || ", "(A && B) || (C || D) || E"},
		{[]string{"$(success,a || b) && A", "B"}, " && ", "$(success,a || b) && A && B"},
	}
	for _, tt := range tests {
		if got := joinExprs(tt.parts, tt.op); got != tt.want {
			t.Errorf("joinExprs(%q, %q) = %q, want %q", tt.parts, tt.op, got, tt.want)
		}
	}
}

func TestScanKconfig(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []kdef
	}{
		{
			name: "hash inside quotes is not a comment",
			text: "config A\n\tdepends on B = \"x#y\" # real comment\n",
			want: []kdef{{"A", `B = "x#y"`}},
		},
		{
			name: "depends with extra blanks",
			text: "config A\n\tdepends   on\tB  &&\t C\n",
			want: []kdef{{"A", "B && C"}},
		},
		{
			name: "dependson is not depends on",
			text: "config A\n\tdepends onion\n",
			want: []kdef{{"A", ""}},
		},
		{
			name: "help ends at unindented line",
			text: "config A\n\thelp\n\t  text\n\n\t  depends on NOPE\nconfig B\n\tdepends on C\n",
			want: []kdef{{"A", ""}, {"B", "C"}},
		},
		{
			name: "empty help",
			text: "config A\n\thelp\nconfig B\n\tdepends on C\n",
			want: []kdef{{"A", ""}, {"B", "C"}},
		},
		{
			name: "unbalanced endif is ignored",
			text: "endif\nif X\nconfig A\n\tbool\nendmenu\nconfig B\nendif\nconfig C\n",
			want: []kdef{{"A", "X"}, {"B", "X"}, {"C", ""}},
		},
		{
			name: "endmenu closes an if left open inside it",
			text: "menu \"m\"\n\tdepends on M\nif X\nconfig A\nendmenu\nconfig B\n",
			want: []kdef{{"A", "M && X"}, {"B", ""}},
		},
		{
			name: "macro assignment is not an if",
			text: "if-success = $(shell,$(1) && echo y)\nconfig A\n",
			want: []kdef{{"A", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanKconfig([]byte(tt.text)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scanKconfig =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
