package sshlink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"
)

// PutCommand is the command the server answers itself, without running a
// program: "kcovlab-put PATH" writes the session's stdin to PATH (mode
// 0755, parent directories made), so the host can copy a file into a guest
// that has no scp or sftp. Client.Put sends it.
const PutCommand = "kcovlab-put"

// ptyRequest is RFC 4254's "pty-req" payload.
type ptyRequest struct {
	Term          string
	Columns, Rows uint32
	Width, Height uint32
	Modes         string
}

// windowChange is RFC 4254's "window-change" payload.
type windowChange struct {
	Columns, Rows uint32
	Width, Height uint32
}

// session is what one SSH session asked for before its exec or shell.
type session struct {
	pty  *ptyRequest
	env  []string
	size chan windowChange // window-change requests, once a pty runs
}

// put writes stdin to path for PutCommand.
func put(argv []string, stdin io.Reader, stderr io.Writer) int {
	if len(argv) != 2 || !filepath.IsAbs(argv[1]) {
		fmt.Fprintf(stderr, "usage: %s /ABSOLUTE/PATH < file\n", PutCommand)
		return 2
	}
	path := argv[1]
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tmp := path + ".kcovlab-put"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	_, err = io.Copy(f, stdin)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// runShell runs the server's shell for a "shell" request: on a pty when
// the session asked for one (window changes passed on), else on the
// channel's plain streams. It returns the shell's exit code.
func (s *Server) runShell(ctx context.Context, ch ssh.Channel, sess *session) int {
	cmd := exec.CommandContext(ctx, s.Shell[0], s.Shell[1:]...)
	cmd.Env = append(os.Environ(), sess.env...)
	cmd.WaitDelay = 2 * time.Second
	if sess.pty == nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		return exitCode(cmd.Run(), ch.Stderr())
	}
	cmd.Env = append(cmd.Env, "TERM="+sess.pty.Term)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: uint16(sess.pty.Rows), Cols: uint16(sess.pty.Columns)})
	if err != nil {
		fmt.Fprintln(ch.Stderr(), err)
		return 127
	}
	defer f.Close()
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case wc := <-sess.size:
				pty.Setsize(f, &pty.Winsize{Rows: uint16(wc.Rows), Cols: uint16(wc.Columns)})
			case <-done:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		io.Copy(ch, f) // ends with EIO once the shell and its children closed the pty
	}()
	go func() {
		// The client's input ended (its side closed): a pty cannot be
		// half-closed, so the shell gets the terminal's end of file, ^D.
		if _, err := io.Copy(f, ch); err == nil {
			f.Write([]byte{4})
		}
	}()
	err = cmd.Wait()
	close(done)
	wg.Wait()
	return exitCode(err, ch.Stderr())
}

// exitCode turns a command's error into a shell-style exit code.
func exitCode(err error, stderr io.Writer) int {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if exitErr.ExitCode() < 0 {
			return 128 + 9
		}
		return exitErr.ExitCode()
	default:
		fmt.Fprintln(stderr, err)
		return 127
	}
}

// Terminal is the user's side of an interactive shell. With Term set the
// shell runs on a pty of Rows x Cols, resized from Resize; without, on
// plain streams.
type Terminal struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Term           string
	Rows, Cols     int
	Resize         <-chan WindowSize
}

// WindowSize is a terminal's size in characters.
type WindowSize struct{ Rows, Cols int }

// Shell opens the guest's shell and returns its exit code once it ends.
// err is non-nil when the shell could not run (the server refused it) or
// the connection was lost. Cancelling ctx closes the session.
func (c *Client) Shell(ctx context.Context, t Terminal) (int, error) {
	s, err := c.c.NewSession()
	if err != nil {
		return -1, c.wrap(fmt.Errorf("ssh session: %w", err))
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = t.Stdin, t.Stdout, t.Stderr
	if t.Term != "" {
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := s.RequestPty(t.Term, t.Rows, t.Cols, modes); err != nil {
			return -1, c.wrap(fmt.Errorf("ssh pty: %w", err))
		}
	}
	if err := s.Shell(); err != nil {
		return -1, c.wrap(fmt.Errorf("ssh shell: %w", err))
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Wait() }()
	for {
		select {
		case ws := <-t.Resize:
			s.WindowChange(ws.Rows, ws.Cols)
			continue
		case err = <-ran:
		case <-ctx.Done():
			return -1, fmt.Errorf("ssh shell: %w", ctx.Err())
		}
		break
	}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitStatus(), nil
	default:
		return -1, c.wrap(fmt.Errorf("ssh shell: %w", err))
	}
}

// Put copies the host file local to guest (an absolute path) with
// PutCommand, mode 0755.
func (c *Client) Put(ctx context.Context, local, guest string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	var stderr bytes.Buffer
	code, err := c.Run(ctx, PutCommand+" "+shellQuote(guest), f, io.Discard, &stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("put %s to %s: exit %d: %s", local, guest, code, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// shellQuote quotes a word for the server's command-line splitting.
func shellQuote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
