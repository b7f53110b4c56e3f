package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/gotestsum/testjson"
)

// events fabricates a go test -json stream: each entry is action, test,
// output (output only for "output" events).
func events(t *testing.T, pkg string, evs ...[3]string) *testjson.Execution {
	t.Helper()
	var b bytes.Buffer
	now := time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)
	for i, e := range evs {
		ev := map[string]any{"Time": now.Add(time.Duration(i) * time.Second), "Action": e[0], "Package": pkg}
		if e[1] != "" {
			ev["Test"] = e[1]
		}
		if e[0] == "output" || e[0] == "build-output" {
			ev["Output"] = e[2] + "\n"
		}
		if e[0] == "output-part" { // a piece of a long line: no newline
			ev["Action"], ev["Output"] = "output", e[2]
		}
		if e[0] == "build-output" {
			delete(ev, "Package")
			ev["ImportPath"] = pkg
		}
		if e[0] == "pass" || e[0] == "fail" || e[0] == "skip" {
			ev["Elapsed"] = 1.5
		}
		line, _ := json.Marshal(ev)
		b.Write(append(line, '\n'))
	}
	exec, err := testjson.ScanTestOutput(testjson.ScanConfig{Stdout: &b, IgnoreNonJSONOutputLines: true})
	if err != nil {
		t.Fatal(err)
	}
	return exec
}

func names(s summary) []string {
	var out []string
	for _, f := range s.Failures {
		out = append(out, f.Package+" "+f.Test)
	}
	return out
}

func TestSummarize(t *testing.T) {
	const pkg = "github.com/kcovlab/kcovlab/e2e"
	for _, tc := range []struct {
		name                    string
		evs                     [][3]string
		passed, failed, skipped int
		failures                []string
		lastLine                string // of the first failure's output
		contains                string // a line of the first failure's output
		errors                  int
	}{
		{
			name: "all pass",
			evs: [][3]string{
				{"run", "TestA", ""}, {"output", "TestA", "=== RUN   TestA"}, {"pass", "TestA", ""},
				{"run", "TestB", ""}, {"skip", "TestB", ""}, {"pass", "", ""},
			},
			passed: 1, skipped: 1,
		},
		{
			name: "a subtest fails: it and its parent are named, the subtest with its assertion",
			evs: [][3]string{
				{"run", "TestFaults", ""},
				{"run", "TestFaults/guest_program_hangs", ""},
				{"output", "TestFaults/guest_program_hangs", "=== RUN   TestFaults/guest_program_hangs"},
				{"output", "TestFaults/guest_program_hangs", "    y_faults_test.go:99: verdict timeout, want error"},
				{"output-part", "TestFaults/guest_program_hangs", "    y_faults_test.go:100: a long line cut "},
				{"output", "TestFaults/guest_program_hangs", "by test2json"},
				{"output", "TestFaults/guest_program_hangs", "    --- FAIL: TestFaults/guest_program_hangs (12.00s)"},
				{"fail", "TestFaults/guest_program_hangs", ""},
				{"run", "TestFaults/ok", ""}, {"pass", "TestFaults/ok", ""},
				{"fail", "TestFaults", ""}, {"fail", "", ""},
			},
			passed: 1, failed: 2,
			failures: []string{"e2e TestFaults/guest_program_hangs", "e2e TestFaults"},
			lastLine: "    y_faults_test.go:100: a long line cut by test2json",
		},
		{
			name: "a timeout: the package fails and the running test did not finish",
			evs: [][3]string{
				{"run", "TestSlow", ""}, {"output", "TestSlow", "    slow_test.go:5: booting"},
				{"output", "TestSlow", "panic: test timed out after 85m0s"},
				{"output", "TestSlow", "\trunning tests:"}, {"output", "TestSlow", "\t\tTestSlow (85m0s)"},
				{"output", "TestSlow", "goroutine 1 [chan receive]:"},
				{"output", "", "FAIL\tgithub.com/kcovlab/kcovlab/e2e\t5100.004s"},
				{"fail", "", ""},
			},
			failed:   1,
			failures: []string{"e2e ", "e2e TestSlow"},
			lastLine: "FAIL\tgithub.com/kcovlab/kcovlab/e2e\t5100.004s",
			contains: "\t\tTestSlow (85m0s)",
		},
		{
			name: "a build failure",
			evs: [][3]string{
				{"build-output", "", "e2e/x_test.go:5:40: cannot use \"s\" as int value"},
				{"output", "", "FAIL\tgithub.com/kcovlab/kcovlab/e2e [build failed]"},
				{"fail", "", ""},
			},
			failures: []string{"e2e "},
			lastLine: "FAIL\tgithub.com/kcovlab/kcovlab/e2e [build failed]",
			errors:   1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(events(t, pkg, tc.evs...))
			if s.Passed != tc.passed || s.Failed != tc.failed || s.Skipped != tc.skipped {
				t.Errorf("passed/failed/skipped = %d/%d/%d, want %d/%d/%d", s.Passed, s.Failed, s.Skipped, tc.passed, tc.failed, tc.skipped)
			}
			if got := names(s); !slices.Equal(got, tc.failures) {
				t.Errorf("failures = %q, want %q", got, tc.failures)
			}
			if len(s.Errors) != tc.errors {
				t.Errorf("errors = %q, want %d", s.Errors, tc.errors)
			}
			if len(tc.failures) > 0 {
				out := s.Failures[0].Output
				if len(out) == 0 || out[len(out)-1] != tc.lastLine {
					t.Errorf("first failure's output = %q, want it to end %q", out, tc.lastLine)
				}
				if tc.contains != "" && !slices.Contains(out, tc.contains) {
					t.Errorf("first failure's output = %q, want a line %q", out, tc.contains)
				}
				for _, l := range out {
					if strings.Contains(l, "=== RUN") || strings.Contains(l, "--- FAIL: TestFaults/guest") {
						t.Errorf("framing line kept: %q", l)
					}
				}
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	lines := func(n int, panicAt int) []string {
		var out []string
		for i := range n {
			if i == panicAt {
				out = append(out, "panic: boom")
				continue
			}
			out = append(out, fmt.Sprint(i))
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		in         []string
		n          int
		first      string
		from, size int
	}{
		{"short output whole", lines(5, -1), 40, "0", 0, 5},
		{"long output: its tail", lines(100, -1), 40, "60", 60, 40},
		{"a panic: from the panic line", lines(100, 10), 40, "panic: boom", 10, 40},
		{"a panic near the end", lines(100, 90), 40, "panic: boom", 90, 10},
		{"no limit", lines(100, -1), 0, "0", 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown, from, total := excerpt(tc.in, tc.n)
			if len(shown) != tc.size || from != tc.from || total != len(tc.in) || shown[0] != tc.first {
				t.Errorf("excerpt = %d lines from %d of %d starting %q, want %d from %d starting %q", len(shown), from, total, shown[0], tc.size, tc.from, tc.first)
			}
		})
	}
}

// TestWriteEndsWithNames checks the summary's shape: the failed tests by
// name, then the totals as the very last line.
func TestWriteEndsWithNames(t *testing.T) {
	s := summary{Passed: 3, Failed: 1, Skipped: 2, Failures: []failure{{Package: "e2e", Test: "TestLoopShell", Seconds: 3, Output: []string{"    loop_test.go:1: no prompt"}}}}
	var b bytes.Buffer
	write(&b, s, summaryOptions{Name: "go test (e2e)", Lines: 40, JSONFile: "r/e2e.json", LogFile: "r/e2e.log", ExitCode: 1})
	got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	tail := got[len(got)-3:]
	want := []string{"FAILED (1):", "  e2e TestLoopShell", "tests: 3 passed, 1 failed, 2 skipped"}
	if !slices.Equal(tail, want) {
		t.Errorf("summary ends %q, want %q\n%s", tail, want, b.String())
	}
	for _, w := range []string{"FAILED (", "r/e2e.log", "r/e2e.json", "--- FAIL: e2e TestLoopShell (3.00s)", "    |     loop_test.go:1: no prompt"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, b.String())
		}
	}

	b.Reset()
	write(&b, summary{}, summaryOptions{Name: "go test", ExitCode: 2, LogTail: []string{"go: cannot find main module"}})
	if !strings.Contains(b.String(), "exit code 2 and no failed test") || !strings.Contains(b.String(), "| go: cannot find main module") || !strings.Contains(b.String(), ": FAILED") {
		t.Errorf("a failed command with no failed test does not show the log's tail:\n%s", b.String())
	}
}

const demoTest = `package demo

import (
	"fmt"
	"testing"
)

func TestPasses(t *testing.T) {}

func TestFailsAfterMuchOutput(t *testing.T) {
	for i := 1; i <= 100; i++ {
		t.Logf("progress line %d", i)
	}
	t.Fatalf("verdict: got %d, want %d", 2, 1)
}

func TestParent(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("sub_fails", func(t *testing.T) { fmt.Println("stdout of the subtest"); t.Error("subtest assertion") })
}

func TestSkipped(t *testing.T) { t.Skip("not here") }
`

// TestMakeUnitNamesFailedTests runs the Makefile's unit recipe (the script
// every test target uses) on a throwaway module with failing tests: make
// must fail, and the last lines must name each failed test, show the
// assertion and the totals; the full output must be in the log.
func TestMakeUnitNamesFailedTests(t *testing.T) {
	for _, c := range []string{"make", "go", "bash", "tee"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed", c)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	logs := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":       "module demo\n\ngo 1.26\n",
		"demo_test.go": demoTest,
	} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("make", "-f", filepath.Join(root, "Makefile"), "unit")
	cmd.Dir = mod
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAKE") || strings.HasPrefix(kv, "MFLAGS=")
	}), "TESTLOGS="+logs)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("make unit on failing tests: %v, want a non-zero exit\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	tail := strings.Join(lines[max(0, len(lines)-8):], "\n")
	for _, w := range []string{"  demo TestFailsAfterMuchOutput", "  demo TestParent/sub_fails", "tests: 2 passed, 3 failed, 1 skipped"} {
		if !strings.Contains(tail, w) {
			t.Errorf("the last lines lack %q:\n%s", w, tail)
		}
	}
	summary := string(out[bytes.LastIndex(out, []byte("========")):])
	for _, w := range []string{"demo_test.go:14: verdict: got 2, want 1", "demo_test.go:19: subtest assertion", "progress line 100", logs + "/unit.log"} {
		if !strings.Contains(summary, w) {
			t.Errorf("the summary lacks %q:\n%s", w, summary)
		}
	}
	if strings.Contains(summary, "progress line 50\n") {
		t.Errorf("the summary shows more than the last 40 lines of a failed test:\n%s", summary)
	}
	log, err := os.ReadFile(filepath.Join(logs, "unit.log"))
	if err != nil || !strings.Contains(string(log), "progress line 1\n") {
		t.Errorf("the full output is not kept in unit.log (%v)", err)
	}
	t.Logf("the end of a failing make unit:\n%s", strings.Join(lines[max(0, len(lines)-15):], "\n"))
}
