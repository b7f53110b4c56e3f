package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no args", nil, exitUsage, "", "usage:"},
		{"help", []string{"help"}, exitPass, "exit codes", ""},
		{"unknown command", []string{"frob"}, exitUsage, "", `unknown command "frob"`},
		{"scenarios", []string{"scenarios"}, exitPass, "kselftest", ""},
		{"kernels", []string{"kernels", "-cache", t.TempDir()}, exitPass, "v2-no01", ""},
		{"bad exclude", []string{"run", "--exclude", "x"}, exitUsage, "", "--exclude"},
		{"stray argument", []string{"run", "extra"}, exitUsage, "", "unexpected argument"},
		{"unknown scenario", []string{"run", "--scenario", "nope", "--src", "../.."}, exitUsage, "", "unknown scenario"},
		{"unknown kernel", []string{"run", "--kernel", "v9", "--src", "../..", "--results", t.TempDir()}, exitUsage, "", "unknown kernel"},
		{"kernel and series", []string{"run", "--kernel", "v2", "--series", "v4", "--src", "../..", "--results", t.TempDir()}, exitUsage, "", "give one"},
		{"bad accel", []string{"run", "--accel", "hvf", "--src", "../.."}, exitUsage, "", "hvf"},
		{"report without dir", []string{"report"}, exitUsage, "", "RUN_DIR"},
		{"help lists bisect", []string{"help"}, exitPass, "kcovlab bisect-step", ""},
		{"bisect-tree without dir", []string{"bisect-tree", "--series", "v2"}, exitUsage, "", "directory to create"},
		{"bisect-tree bad exclude", []string{"bisect-tree", "--exclude", "x", "/tmp/x"}, exitUsage, "", "--exclude"},
		{"bisect without tree", []string{"bisect", "--src", "../..", "--scenario", "unique"}, exitUsage, "", "--kernel-src"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := mainErr(tt.args, &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout %q / stderr %q, want %q / %q", out.String(), errb.String(), tt.stdout, tt.stderr)
			}
		})
	}
}
