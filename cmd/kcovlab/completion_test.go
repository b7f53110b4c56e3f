package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/lab"
)

// completionScript writes `kcovlab completion SHELL` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := mainErr([]string{"completion", shell}, &out, &errb); code != exitPass {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
	}
	path := filepath.Join(t.TempDir(), "kcovlab."+shell)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The bash script parses (bash -n), and its completion function, run in
// bash as the shell runs it on TAB, offers what each line wants.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	tests := []struct {
		words []string // the command line, the last word being completed
		want  string   // COMPREPLY joined by spaces
	}{
		{[]string{"kcovlab", "ru"}, "run"},
		{[]string{"kcovlab", "bisect-"}, "bisect-step bisect-tree"},
		{[]string{"kcovlab", "run", "--ker"}, "--kernel --kernel-image --kernel-src"},
		{[]string{"kcovlab", "run", "--kernel", "v2-n"}, kernelsWith("v2-n")},
		{[]string{"kcovlab", "run", "-kernel", "v4-"}, kernelsWith("v4-")},
		{[]string{"kcovlab", "run", "--kernel", "=", "v4-"}, kernelsWith("v4-")}, // --kernel=v4-, split at "="
		{[]string{"kcovlab", "nightly", "--kernel", "al"}, "all"},
		{[]string{"kcovlab", "nightly", "--kernels", "vani"}, "vanilla"}, // the old spelling
		{[]string{"kcovlab", "run", "--scenario", "smoke,gu"}, "smoke,guardrace"},
		{[]string{"kcovlab", "compare", "v2", "v4-"}, kernelsWith("v4-")},
		{[]string{"kcovlab", "ask", "ov"}, "overflow"},
		{[]string{"kcovlab", "run", "--accel", "t"}, "tcg"},
		{[]string{"kcovlab", "bisect", "--on-crash", "ab"}, "abort"},
		{[]string{"kcovlab", "mutants", "--ju"}, "--judges-only"},
		{[]string{"kcovlab", "nightly", "--kernels"}, ""}, // hidden: not offered
		{[]string{"kcovlab", "completion", "z"}, "zsh"},
		{[]string{"kcovlab", "help", "nig"}, "nightly"},
	}
	for _, tt := range tests {
		cmd := exec.Command("bash", "-c", `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kcovlab; echo "${COMPREPLY[*]}"`, script)
		cmd.Args = append(cmd.Args, tt.words...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", tt.words, err)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("%s<TAB>: %q, want %q", strings.Join(tt.words, " "), got, tt.want)
		}
	}
}

// kernelsWith is the named kernels starting with prefix, as bash lists them.
func kernelsWith(prefix string) string {
	var out []string
	for _, k := range lab.KernelNames() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return strings.Join(out, " ")
}

func TestZshCompletionParses(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh not installed")
	}
	script := completionScript(t, "zsh")
	if out, err := exec.Command("zsh", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(script)
	for _, want := range []string{"#compdef kcovlab", "guardrace", "v2-no01", "--kernel"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("zsh script lacks %q", want)
		}
	}
}

func TestCompletionNeedsShell(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "fish"}} {
		var out, errb bytes.Buffer
		if code := mainErr(args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "want bash or zsh") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
