//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/kcovlab/kcovlab/scenarios"
)

// The console protocol, for labs that drive the guest over its serial
// console instead of SSH (a LAVA job's interactive test, see
// kcovlab export lava). kcovinit serves it when the kernel command line
// has kcovlab.console=1: it prints Prompt, reads a line "run NAME
// [ARGS...]", runs scenario NAME's program with ARGS, copies its output,
// and prints "KCOVLAB-RESULT NAME VERDICT" (pass, fail, skip or error:
// the program's own verdict; the host's judges do not run there).
const (
	consolePrompt = "kcovlab# "
	resultMarker  = "KCOVLAB-RESULT"
	consoleFlag   = "kcovlab.console=1"
)

// runFunc runs a guest program and returns its stdout and exit code.
type runFunc func(program string, args []string) (stdout []byte, code int, err error)

func runProgram(program string, args []string) ([]byte, int, error) {
	cmd := exec.Command(program, args...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode(), nil
	}
	return out, 0, err
}

// serveConsole answers the console protocol until in ends.
func serveConsole(in io.Reader, out io.Writer, run runFunc) {
	sc := bufio.NewScanner(in)
	fmt.Fprintf(out, "\nkcovinit: console protocol ready\n%s", consolePrompt)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" {
			consoleCommand(line, out, run)
		}
		fmt.Fprintf(out, "\n%s", consolePrompt)
	}
}

// consoleCommand runs one "run NAME [ARGS...]" line.
func consoleCommand(line string, out io.Writer, run runFunc) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "run" {
		fmt.Fprintf(out, "kcovinit: want \"run SCENARIO [ARGS...]\", got %q\n", line)
		return
	}
	name := f[1]
	s, ok := scenarios.All[name]
	if !ok || s.Format == scenarios.FormatBoot {
		fmt.Fprintf(out, "%s %s error (no such scenario program)\n", resultMarker, name)
		return
	}
	stdout, code, err := run(s.Program(), append(append([]string(nil), s.Args...), f[2:]...))
	out.Write(stdout)
	fmt.Fprintf(out, "\n%s %s %s\n", resultMarker, name, consoleVerdict(s, stdout, code, err))
}

// consoleVerdict is the program's own verdict: a JSON outcome's, or a
// KTAP selftest's exit code.
func consoleVerdict(s scenarios.Scenario, stdout []byte, code int, err error) string {
	if err != nil {
		return "error"
	}
	if s.Format == scenarios.FormatKTAP {
		if code == 0 {
			return "pass"
		}
		return "fail"
	}
	o, perr := scenarios.ParseOutcome(s.Name, stdout)
	switch {
	case perr != nil || o.Error != "":
		return "error"
	case o.Skip != "":
		return "skip"
	case o.Pass:
		return "pass"
	}
	return "fail"
}
