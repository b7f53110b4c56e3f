//go:build linux

// Command kselftest runs a kernel selftest binary (its first argument, found
// in PATH, e.g. the series' kcov_test) with stderr and stdout on one pipe,
// so the harness's failure messages (written to stderr by each test's
// child) sit in the KTAP stream right before the result line they belong
// to. The host reads a failure's message from there to tell a known upstream
// defect from any other failure. It exits with the selftest's exit code.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kselftest BINARY [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "kselftest:", err)
		os.Exit(127)
	}
}
