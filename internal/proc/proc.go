// Package proc runs kcovlab's external processes (make, clang, git, tar)
// and prints command lines people can paste to reproduce them. Plain Go;
// go test -short ./internal/proc/ covers it.
package proc

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// termGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL.
const termGrace = 3 * time.Second

// Command runs argv in its own process group. Cancelling ctx sends SIGTERM
// to the whole group, then SIGKILL after termGrace, so no child (a compiler
// under make) outlives it. SIGTERM first lets make delete the target it was
// writing and git remove its index.lock. If kcovlab itself dies (even by
// SIGKILL), the command gets SIGTERM (Pdeathsig) and make passes it on to
// the compilers it runs.
func Command(ctx context.Context, argv []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Pdeathsig fires when the thread that forked exits; Go keeps its
	// threads unless a goroutine exits while locked to one, which kcovlab
	// never does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		err := syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(termGrace, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
		return err
	}
	cmd.WaitDelay = 2 * termGrace
	return cmd
}

// Quote renders argv as one shell command line.
func Quote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

func quote(s string) string {
	if s == "" {
		return "''"
	}
	for _, r := range s {
		if !safe(r) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

func safe(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-_./:,=+@%", r)
}
