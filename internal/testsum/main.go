// Command testsum ends a `go test` run with a summary a CI log tail shows
// whole: every failed test (package, test and subtest name, elapsed time),
// the last lines of its own output, the totals, and where the full output is.
// It reads the go test -json events gotestsum wrote (--jsonfile) and parses
// them with gotestsum's testjson package; scripts/gotest.sh runs it after
// every test target of the Makefile. It prints only; the test run's exit code
// is the script's to keep.
//
// Usage: go run ./internal/testsum -json results/test-logs/e2e.json -log results/test-logs/e2e.log
//
// Tested by its own table tests on fabricated event streams (go test -short).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gotest.tools/gotestsum/testjson"
)

func main() {
	jsonFile := flag.String("json", "", "go test -json events (gotestsum --jsonfile)")
	logFile := flag.String("log", "", "the full -v output, named in the summary and its tail shown when the events hold no failure")
	lines := flag.Int("lines", 40, "output lines shown per failed test")
	name := flag.String("name", "go test", "what ran, for the summary's header")
	exitCode := flag.Int("exit", 0, "the test command's exit code: non-zero with no failed test in the events shows the log's tail")
	flag.Parse()
	if *jsonFile == "" {
		fmt.Fprintln(os.Stderr, "testsum: -json FILE is required")
		os.Exit(2)
	}
	f, err := os.Open(*jsonFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsum: %v\n", err)
		os.Exit(1)
	}
	defer f.Close()
	exec, err := testjson.ScanTestOutput(testjson.ScanConfig{Stdout: f, IgnoreNonJSONOutputLines: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsum: read %s: %v\n", *jsonFile, err)
		os.Exit(1)
	}
	var logTail []string
	if *logFile != "" && *exitCode != 0 && len(exec.Failed()) == 0 {
		if b, err := os.ReadFile(*logFile); err == nil {
			logTail = splitLines(string(b))
		}
	}
	write(os.Stdout, summarize(exec), summaryOptions{
		Name: *name, Lines: *lines, JSONFile: *jsonFile, LogFile: *logFile,
		ExitCode: *exitCode, LogTail: logTail,
	})
}

// failure is one failed test, or a package that failed outside any test
// (Test empty: a timeout, a panic in TestMain, a build failure).
type failure struct {
	Package string
	Test    string
	Seconds float64
	Output  []string
}

// summary is what the events say, independent of the library's types.
type summary struct {
	Passed, Failed, Skipped int
	Failures                []failure
	Errors                  []string
	Seconds                 float64
}

func summarize(exec *testjson.Execution) summary {
	var s summary
	failedTests := 0
	for _, tc := range exec.Failed() {
		f := failure{Package: testjson.RelativePackagePath(tc.Package), Test: string(tc.Test), Seconds: tc.Elapsed.Seconds()}
		if tc.Test == "" {
			var b strings.Builder
			_ = exec.Package(tc.Package).WriteOutputTo(&b, tc.ID)
			f.Output = splitLines(b.String())
		} else {
			failedTests++
			// go test -json cuts long lines into several events: join first.
			f.Output = dropFraming(splitLines(strings.Join(exec.OutputLines(tc), "")), tc.Test.Name())
		}
		s.Failures = append(s.Failures, f)
	}
	s.Failed = failedTests
	s.Skipped = len(exec.Skipped())
	s.Passed = exec.Total() - failedTests - s.Skipped
	for _, e := range exec.Errors() {
		s.Errors = append(s.Errors, strings.TrimRight(e, "\n"))
	}
	s.Seconds = exec.Elapsed().Seconds()
	return s
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// dropFraming removes go test's own run/pause/cont lines and the test's
// closing --- line: the summary's header already says them.
func dropFraming(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "=== RUN "), strings.HasPrefix(t, "=== PAUSE "),
			strings.HasPrefix(t, "=== CONT "), strings.HasPrefix(t, "=== NAME "),
			strings.HasPrefix(t, "--- FAIL: "+name+" ("):
			continue
		}
		out = append(out, l)
	}
	return out
}

// excerpt is at most n lines of a failed test's output: from its first
// panic line when it panicked (a timeout's goroutine dump would otherwise
// fill the tail), else the last n. It also says how many lines were left out.
func excerpt(lines []string, n int) (shown []string, from, total int) {
	total = len(lines)
	if n <= 0 || total <= n {
		return lines, 0, total
	}
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "panic: ") {
			return lines[i:min(i+n, total)], i, total
		}
	}
	return lines[total-n:], total - n, total
}

type summaryOptions struct {
	Name              string
	Lines             int
	JSONFile, LogFile string
	ExitCode          int
	LogTail           []string
}

// write prints the summary; its last line is the totals, and just above them
// the failed tests by name, so a short tail still names them.
func write(w io.Writer, s summary, o summaryOptions) {
	status := "ok"
	if len(s.Failures) > 0 || len(s.Errors) > 0 || o.ExitCode != 0 {
		status = "FAILED"
	}
	fmt.Fprintf(w, "\n======== %s: %s (%.0f s) ========\n", o.Name, status, s.Seconds)
	where := "full output: " + o.LogFile
	if o.LogFile == "" {
		where = "full output: the lines above"
	}
	fmt.Fprintf(w, "%s; go test -json events: %s\n", where, o.JSONFile)
	for _, f := range s.Failures {
		shown, from, total := excerpt(f.Output, o.Lines)
		fmt.Fprintf(w, "\n--- FAIL: %s", label(f))
		if f.Test != "" {
			fmt.Fprintf(w, " (%s)", elapsed(f.Seconds))
		}
		switch {
		case total == 0:
			fmt.Fprint(w, ", no output of its own (see its failed subtests)\n")
		case len(shown) == total:
			fmt.Fprintf(w, ", its %d output lines:\n", total)
		default:
			fmt.Fprintf(w, ", output lines %d-%d of %d:\n", from+1, from+len(shown), total)
		}
		for _, l := range shown {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
	if len(s.Errors) > 0 {
		shown, _, total := excerpt(s.Errors, o.Lines)
		fmt.Fprintf(w, "\n--- go test errors, %d of %d lines:\n", len(shown), total)
		for _, l := range shown {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
	if len(s.Failures) == 0 && len(s.Errors) == 0 && o.ExitCode != 0 {
		shown, _, total := excerpt(o.LogTail, o.Lines)
		fmt.Fprintf(w, "\n--- exit code %d and no failed test in the events; the log's last %d of %d lines:\n", o.ExitCode, len(shown), total)
		for _, l := range shown {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
	if len(s.Failures) > 0 {
		fmt.Fprintf(w, "\nFAILED (%d):\n", len(s.Failures))
		for _, f := range s.Failures {
			fmt.Fprintf(w, "  %s\n", label(f))
		}
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", s.Passed, s.Failed, s.Skipped)
}

func label(f failure) string {
	if f.Test == "" {
		return f.Package + " (the package: a timeout, a panic outside a test, or a build failure)"
	}
	return f.Package + " " + f.Test
}

// elapsed is a test's time; a test still running when its package ended (a
// timeout, a panic) has none.
func elapsed(seconds float64) string {
	if seconds < 0 {
		return "did not finish"
	}
	return fmt.Sprintf("%.2fs", seconds)
}
