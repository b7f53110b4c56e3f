package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFanOutCommandLine(t *testing.T) {
	notPlan := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(notPlan, []byte(`{"schema": 9}`), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"plan without a verb", []string{"plan"}, exitUsage, "usage: kcovlab plan"},
		{"plan ask of a recipe that reads built kernels", []string{"plan", "ask", "tsc-noise", "--src", "../.."}, exitUsage, "recipe tsc-noise cannot be planned"},
		{"plan ask of a scan", []string{"plan", "ask", "guard-size", "--src", "../.."}, exitUsage, "scans the built kernels' vmlinux"},
		{"plan ask of no recipe", []string{"plan", "ask", "--src", "../.."}, exitUsage, "want one recipe"},
		{"plan ask of an unknown recipe", []string{"plan", "ask", "nope", "--src", "../.."}, exitUsage, "unknown recipe"},
		{"plan ask with a wrong kernel count", []string{"plan", "ask", "overflow", "--kernel", "v2,v4", "--src", "../.."}, exitUsage, "takes 1 kernels"},
		{"plan an unknown verb", []string{"plan", "bisect"}, exitUsage, "want nightly, compare or ask"},
		{"plan compare one kernel", []string{"plan", "compare", "vanilla", "--src", "../.."}, exitUsage, "want two kernels"},
		{"plan nightly stray argument", []string{"plan", "nightly", "v2", "--src", "../.."}, exitUsage, "unexpected argument"},
		{"plan an unknown kernel", []string{"plan", "nightly", "--kernels", "v9", "--src", "../.."}, exitUsage, "unknown kernel"},
		{"plan from no file", []string{"plan", "--from", "/nonexistent/plan.json"}, exitUsage, "kcovlab plan writes one"},
		{"plan from another schema", []string{"plan", "--from", notPlan}, exitUsage, "not a kcovlab plan"},
		{"run --job without --plan", []string{"run", "--job", "v2-smoke", "--src", "../.."}, exitUsage, "--job needs --plan"},
		{"merge without dirs", []string{"merge"}, exitUsage, "usage: kcovlab merge"},
		{"merge of no shards", []string{"merge", t.TempDir()}, exitUsage, "no run job directories"},
		{"cache without a subcommand", []string{"cache"}, exitUsage, "usage: kcovlab cache"},
		{"cache export without a file", []string{"cache", "export", "0123456789abcdef"}, exitUsage, "usage: kcovlab cache"},
		{"export without an engine", []string{"export"}, exitUsage, "usage: kcovlab export lava"},
		{"export lava without --out", []string{"export", "lava", "--src", "../..", "--results", t.TempDir()}, exitUsage, "--out DIR is needed"},
		{"export lava of a scenario with fresh boots", []string{"export", "lava", "--scenario", "guardrace", "--out", t.TempDir(), "--src", "../..", "--cache", t.TempDir()}, exitUsage, "fresh boots"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := mainErr(tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out.String(), errb.String(), tc.want)
			}
		})
	}
}
