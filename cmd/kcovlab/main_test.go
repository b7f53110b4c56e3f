package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/scenarios"
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
		{"help lists compare", []string{"help"}, exitPass, "kcovlab compare --kernel KERNEL_A,KERNEL_B", ""},
		{"compare without kernels", []string{"compare"}, exitUsage, "", "want two kernels"},
		{"compare one kernel", []string{"compare", "vanilla", "--runs", "3"}, exitUsage, "", `got 1 ["vanilla"]`},
		{"compare three kernels", []string{"compare", "vanilla", "v2", "v4"}, exitUsage, "", "want two kernels"},
		{"compare zero runs", []string{"compare", "vanilla", "v2", "--runs", "0"}, exitUsage, "", "--runs 0"},
		{"compare runs not a number", []string{"compare", "vanilla", "v2", "--runs", "many"}, exitUsage, "", "invalid value"},
		{"compare unknown flag", []string{"compare", "vanilla", "--frob", "v2"}, exitUsage, "", "-frob"},
		{"compare usage", []string{"compare", "-h"}, exitPass, "usage: kcovlab compare --kernel KERNEL_A,KERNEL_B", ""},
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
		{"kernel-image missing", []string{"run", "--src", "../..", "--kernel-image", "/nonexistent/bzImage"}, exitUsage, "", "--kernel-image /nonexistent/bzImage"},
		{"kernel-image not a bzImage", []string{"run", "--src", "../..", "--kernel-image", "main.go"}, exitUsage, "", "not a bzImage"},
		{"vmlinux without image", []string{"run", "--src", "../..", "--vmlinux", "main.go"}, exitUsage, "", "only with --kernel-image"},
		{"put missing", []string{"run", "--src", "../..", "--put", "/nonexistent/prog"}, exitUsage, "", "--put"},
		{"append with quotes", []string{"run", "--src", "../..", "--append", `a="b`}, exitUsage, "", "--append"},
		{"shell: bad put", []string{"shell", "--src", "../..", "--put", "main.go:relative"}, exitUsage, "", "absolute"},
		{"shell: attach nothing kept", []string{"shell", "--attach", t.TempDir()}, exitUsage, "", "no guest kept there"},
		{"shell usage", []string{"shell", "-h"}, exitPass, "kcovlab shell --attach RUN_DIR", ""},
		{"stop without dir", []string{"stop"}, exitUsage, "", "usage: kcovlab stop RUN_DIR"},
		{"stop nothing kept", []string{"stop", t.TempDir()}, exitUsage, "", "no guest kept there"},
		{"help lists shell", []string{"help"}, exitPass, "kcovlab shell [run flags]", ""},
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

// Every flag is checked before anything is built or booted: each row must
// exit 2 with a message naming the flag and what to do. (None of these
// reaches the lab: a row that did would try to build and fail the test on
// its time, its exit code or its message.)
func TestFlagValidation(t *testing.T) {
	src := []string{"--src", "../..", "--results", t.TempDir(), "--cache", t.TempDir()}
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--cpus", "0"}, "--cpus 0: want 1 or more"},
		{[]string{"run", "--cpus", "-1"}, "--cpus -1"},
		{[]string{"run", "--memory", "64"}, "--memory 64: want at least"},
		{[]string{"run", "--make-jobs", "0"}, "--make-jobs 0"},
		{[]string{"run", "--scenario-timeout", "0s"}, "--scenario-timeout"},
		{[]string{"run", "--boot-timeout", "-1s"}, "--boot-timeout"},
		{[]string{"run", "--accel", "hvf"}, `--accel "hvf"`},
		{[]string{"run", "--kernel", "v9"}, `unknown kernel "v9" (known: v2, v2-debug, v2-lockdep-selftest, v2-no01`},
		{[]string{"run", "--kernel", "v2,v4"}, "run boots one kernel"},
		{[]string{"run", "--kernel", "all"}, "run boots one kernel"},
		{[]string{"run", "--scenario", "smoke,nope"}, `unknown scenario "nope" (known: `},
		{[]string{"run", "--scenario", "smoke,"}, "empty name"},
		{[]string{"run", "--exclude", "0"}, "--exclude"},
		{[]string{"run", "--fragments", "guest.config,nope.config"}, `--fragments: no fragment "nope.config"`},
		{[]string{"run", "--series", "/nonexistent.mbox"}, "--series /nonexistent.mbox: not a shipped series"},
		{[]string{"run", "--series", "v9"}, "--series v9: not a shipped series"},
		{[]string{"run", "--kernel", "v2", "--mutant", "/nonexistent.patch"}, "--mutant /nonexistent.patch: not a patch file"},
		{[]string{"nightly", "--cpus", "0"}, "--cpus 0"},
		{[]string{"nightly", "--kernel", "vanilla,v9"}, `unknown kernel "v9"`},
		{[]string{"nightly", "--kernels", "v9"}, `unknown kernel "v9"`}, // the old spelling, checked the same
		{[]string{"nightly", "--scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"nightly", "--tolerance", "-1"}, "--tolerance"},
		{[]string{"nightly", "v2"}, "kernels go in --kernel"},
		{[]string{"compare", "--kernel", "v2,v9"}, `unknown kernel "v9": not a named kernel`},
		{[]string{"compare", "--kernel", "v2"}, "want two kernels"},
		{[]string{"compare", "--kernel", "all"}, "want two kernels"},
		{[]string{"compare", "--kernel", "v2,v4", "--cpus", "0"}, "--cpus 0"},
		{[]string{"compare", "--kernel", "v2,v4", "--scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"ask", "overflow", "--cpus", "0"}, "--cpus 0"},
		{[]string{"ask", "overflow", "--kernel", "v9"}, `unknown kernel "v9"`},
		{[]string{"ask", "nosuch"}, `unknown recipe "nosuch"`},
		{[]string{"ask", "overflow", "--runs", "-1"}, "--runs -1"},
		{[]string{"bisect", "--kernel-src", ".", "--scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"bisect", "--kernel-src", ".", "--scenario", "smoke,unique"}, "judged by one scenario"},
		{[]string{"bisect", "--kernel-src", ".", "--scenario", "smoke", "--cpus", "0"}, "--cpus 0"},
		{[]string{"bisect", "--kernel-src", ".", "--scenario", "smoke", "--runs", "0"}, "--runs 0"},
		{[]string{"bisect", "--kernel-src", ".", "--scenario", "smoke", "--on-crash", "maybe"}, "--on-crash"},
		{[]string{"bisect-tree", "--kernel", "v9", "/tmp/x"}, `unknown kernel "v9"`},
		{[]string{"bisect-tree", "--kernel", "v2", "--fixture-after", "-1", "/tmp/x"}, "--fixture-after -1"},
		{[]string{"bisect-tree", "--kernel", "v2", "--memory", "1", "/tmp/x"}, "--memory 1"},
		{[]string{"mutants", "--scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"mutants", "--cpus", "0"}, "--cpus 0"},
		{[]string{"report", "--tolerance", "-0.5", "x"}, "--tolerance"},
		{[]string{"kernels", "--kernel-src", "/nonexistent/tree"}, "/nonexistent/tree"},
		{[]string{"kernels", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		args := append(append([]string(nil), tt.args...), src...)
		if tt.args[0] == "report" || tt.args[0] == "kernels" {
			args = tt.args
		}
		code := mainErr(args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 saying %q", tt.args, code, firstN(errb.String(), 300), tt.msg)
		}
	}
}

// The same names are accepted everywhere: "all", comma lists, repeated
// flags, and the old spellings.
func TestNameLists(t *testing.T) {
	tests := []struct {
		sets []string
		def  []string
		want []string
	}{
		{nil, []string{"smoke"}, []string{"smoke"}},
		{[]string{"unique"}, []string{"smoke"}, []string{"unique"}},
		{[]string{"unique,reset", "overflow"}, nil, []string{"unique", "reset", "overflow"}},
		{[]string{"unique", "unique"}, nil, []string{"unique"}},
		{[]string{"all"}, nil, scenarios.Names()},
		{[]string{"smoke", "all"}, nil, append([]string{"smoke"}, slices.DeleteFunc(scenarios.Names(), func(n string) bool { return n == "smoke" })...)},
		{[]string{" smoke , unique "}, nil, []string{"smoke", "unique"}},
	}
	for _, tt := range tests {
		l := newNameList(tt.def...)
		for _, v := range tt.sets {
			if err := l.Set(v); err != nil {
				t.Fatalf("%q: %v", tt.sets, err)
			}
		}
		got, err := scenariosOf(l)
		if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: %q %v, want %q", tt.sets, got, err, tt.want)
		}
	}
	l := newNameList()
	l.Set("all")
	ks, err := kernelsOf(l, false)
	if err != nil || len(ks) < 8 || ks[0] != "v2" {
		t.Errorf("--kernel all: %q %v", ks, err)
	}
	l = newNameList()
	l.Set("v2,host:v6.12..HEAD")
	if ks, err := kernelsOf(l, true); err != nil || len(ks) != 2 {
		t.Errorf("a series in compare's --kernel: %q %v", ks, err)
	}
	if _, err := kernelsOf(l, false); err == nil {
		t.Error("a series was taken for a named kernel")
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

// kcovlab kernels lists every kernel in the cache whatever it was built
// from, a --kernel-src tree's included, with that source.
func TestKernelsListsEveryCacheEntry(t *testing.T) {
	cache := t.TempDir()
	for key, meta := range map[string]string{
		"1111111111111111": `{"key":"1111111111111111","name":"local","source":"/home/dev/linux","source_id":"git:abc","compiler":"clang 22","built_at":"2026-11-28T10:00:00Z"}`,
		"2222222222222222": `{"key":"2222222222222222","name":"v2","source":"/usr/src/linux-source-6.12.tar.xz","source_id":"tarball:1+series:2","compiler":"clang 22","built_at":"2026-11-28T11:00:00Z"}`,
	} {
		dir := filepath.Join(cache, "kernels", key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := mainErr([]string{"kernels", "--cache", cache}, &out, &errb); code != exitPass {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"named kernels, [built] from /usr/src/linux-source-6.12.tar.xz", "1111111111111111  local", "/home/dev/linux", "2222222222222222  v2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("kernels output lacks %q:\n%s", want, out.String())
		}
	}
}
