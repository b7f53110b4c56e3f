package main

import (
	"bytes"
	"flag"
	"io"
	"reflect"
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
		{"help lists compare", []string{"help"}, exitPass, "kcovlab compare KERNEL_A KERNEL_B", ""},
		{"compare without kernels", []string{"compare"}, exitUsage, "", "want two kernels"},
		{"compare one kernel", []string{"compare", "vanilla", "--runs", "3"}, exitUsage, "", `got 1 ["vanilla"]`},
		{"compare three kernels", []string{"compare", "vanilla", "v2", "v4"}, exitUsage, "", "want two kernels"},
		{"compare zero runs", []string{"compare", "vanilla", "v2", "--runs", "0"}, exitUsage, "", "--runs 0"},
		{"compare runs not a number", []string{"compare", "vanilla", "v2", "--runs", "many"}, exitUsage, "", "invalid value"},
		{"compare unknown flag", []string{"compare", "vanilla", "--frob", "v2"}, exitUsage, "", "-frob"},
		{"compare usage", []string{"compare", "-h"}, exitPass, "usage: kcovlab compare KERNEL_A KERNEL_B", ""},
		{"compare unknown kernel", []string{"compare", "vanilla", "v9", "--src", "../..", "--results", t.TempDir()}, exitUsage, "", "unknown kernel"},
		{"compare unknown scenario", []string{"compare", "--scenario", "nope", "vanilla", "v2", "--src", "../..", "--results", t.TempDir()}, exitUsage, "", "unknown scenario"},
		{"compare bad accel", []string{"compare", "vanilla", "v2", "--accel", "hvf", "--src", "../.."}, exitUsage, "", "hvf"},
		{"help lists bisect", []string{"help"}, exitPass, "kcovlab bisect-step", ""},
		{"bisect-tree without dir", []string{"bisect-tree", "--series", "v2"}, exitUsage, "", "directory to create"},
		{"bisect-tree bad exclude", []string{"bisect-tree", "--exclude", "x", "/tmp/x"}, exitUsage, "", "--exclude"},
		{"nightly negative jobs", []string{"nightly", "--jobs", "-1"}, exitUsage, "", "--jobs -1"},
		{"compare negative jobs", []string{"compare", "vanilla", "v2", "--jobs", "-2"}, exitUsage, "", "--jobs -2"},
		{"mutants negative jobs", []string{"mutants", "--jobs", "-1"}, exitUsage, "", "--jobs -1"},
		{"bench without a benchmark", []string{"bench"}, exitUsage, "", "benchmarks:"},
		{"bench unknown benchmark", []string{"bench", "boot2"}, exitUsage, "", `unknown benchmark "boot2"`},
		{"bench pool negative jobs", []string{"bench", "pool", "--jobs", "-1"}, exitUsage, "", "--jobs -1"},
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

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args     []string
		pos      []string
		runs     int
		scenario string
		err      bool
	}{
		{args: []string{"a", "b", "--runs", "3"}, pos: []string{"a", "b"}, runs: 3, scenario: "smoke"},
		{args: []string{"--runs", "3", "a", "b"}, pos: []string{"a", "b"}, runs: 3, scenario: "smoke"},
		{args: []string{"a", "--scenario=x", "b", "-runs=7"}, pos: []string{"a", "b"}, runs: 7, scenario: "x"},
		{args: []string{"a", "--", "--runs", "b"}, pos: []string{"a", "--runs", "b"}, runs: 5, scenario: "smoke"},
		{args: nil, pos: nil, runs: 5, scenario: "smoke"},
		{args: []string{"a", "--nope"}, err: true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		runs := fs.Int("runs", 5, "")
		scen := fs.String("scenario", "smoke", "")
		pos, err := parseArgs(fs, tt.args)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v", tt.args, err)
			continue
		}
		if !tt.err && (!reflect.DeepEqual(pos, tt.pos) || *runs != tt.runs || *scen != tt.scenario) {
			t.Errorf("%q: positional %q runs %d scenario %q, want %q %d %q", tt.args, pos, *runs, *scen, tt.pos, tt.runs, tt.scenario)
		}
	}
}

// Every subcommand's -h/--help, and `kcovlab help CMD`, print its usage on
// stdout and exit 0; an unknown command's help is a usage error.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range commands {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			var out, errb bytes.Buffer
			code := mainErr(args, &out, &errb)
			if code != exitPass || errb.Len() != 0 || !strings.Contains(strings.ToLower(out.String()), "usage") || strings.Contains(out.String(), "unknown command") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, firstN(out.String(), 80), firstN(errb.String(), 80))
			}
		}
	}
	var out, errb bytes.Buffer
	if code := mainErr([]string{"nosuch", "--help"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("help of an unknown command: exit %d", code)
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainErr([]string{"version"}, &out, &errb); code != exitPass || !strings.HasPrefix(out.String(), "kcovlab ") || len(strings.TrimSpace(out.String())) <= len("kcovlab ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
}
