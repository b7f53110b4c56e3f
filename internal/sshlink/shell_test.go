package sshlink

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShellOnPty opens the server's shell on a pty, as `kcovlab shell`
// does, and drives it like a user: the command's output comes back through
// the pty (which echoes and turns \n into \r\n) and the shell's exit
// status is the session's. A server without a shell refuses the request.
func TestShellOnPty(t *testing.T) {
	sh := "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/sh on this host")
	}
	tests := []struct {
		name    string
		shell   []string
		term    string
		wantErr bool
		want    string
		code    int
	}{
		{"pty", []string{sh, "-i"}, "xterm", false, "hi-from-the-pty\r\n", 3},
		{"pty, input ends without exit: ^D ends the shell", []string{sh, "-i"}, "xterm", false, "hi-from-the-pty\r\n", 0},
		{"plain streams", []string{sh}, "", false, "hi-from-the-pty\n", 3},
		{"no shell: refused", nil, "xterm", true, "", -1},
		{"no shell, no pty: refused", nil, "", true, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startShellServer(t, ExecRun, tt.shell)
			c := dial(t, f)
			var out, errOut bytes.Buffer // apart: io.Copy into a bytes.Buffer is its ReadFrom
			resize := make(chan WindowSize, 1)
			resize <- WindowSize{Rows: 40, Cols: 100}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			input := "echo hi-from-the-$(echo pty); exit 3\n"
			if tt.code == 0 {
				input = "echo hi-from-the-$(echo pty)\n"
			}
			code, err := c.Shell(ctx, Terminal{
				Stdin:  strings.NewReader(input),
				Stdout: &out, Stderr: &errOut, Term: tt.term, Rows: 24, Cols: 80, Resize: resize,
			})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Shell on a server without a shell: code %d, no error", code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("Shell = %d, output %q; want %d and %q", code, out.String(), tt.code, tt.want)
			}
		})
	}
}

// TestPut copies a file with the server's own put command: the content
// and the executable mode arrive, parent directories are made; a relative
// guest path is refused.
func TestPut(t *testing.T) {
	f := startServer(t, ExecRun)
	c := dial(t, f)
	dir := t.TempDir()
	src := filepath.Join(dir, "prog")
	os.WriteFile(src, []byte("\x7fELF binary bytes"), 0o600)
	dst := filepath.Join(dir, "guest", "bin", "prog")
	if err := c.Put(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != "\x7fELF binary bytes" || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("put wrote %q mode %v", got, fi.Mode())
	}
	if err := c.Put(context.Background(), src, "relative/prog"); err == nil {
		t.Error("put to a relative path: no error")
	}
}
