package filecopy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("kernel bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		existing string // dst's content before, "" for none
		new      bool   // CopyNew
		perm     os.FileMode
		want     string // dst's content after
		wantErr  error
	}{
		{name: "to a new file", perm: 0o600, want: "kernel bytes"},
		{name: "over a longer file: truncated", existing: "an older and longer kernel", perm: 0o644, want: "kernel bytes"},
		{name: "new, to a new file", new: true, perm: 0o640, want: "kernel bytes"},
		{name: "new, over a file: refused, left as it was", existing: "keep me", new: true, perm: 0o600, want: "keep me", wantErr: os.ErrExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			if tc.existing != "" {
				if err := os.WriteFile(dst, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			copyFn := Copy
			if tc.new {
				copyFn = CopyNew
			}
			err := copyFn(dst, src, tc.perm)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, _ := os.ReadFile(dst)
			if string(got) != tc.want {
				t.Errorf("dst holds %q, want %q", got, tc.want)
			}
			if tc.existing == "" {
				fi, _ := os.Stat(dst)
				if fi.Mode().Perm() != tc.perm&^umask(t) {
					t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
				}
			}
		})
	}
	if err := Copy(filepath.Join(dir, "dst"), filepath.Join(dir, "missing"), 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing src: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dst")); err == nil {
		t.Error("a missing src left a dst")
	}
}

// umask is the process's umask, read by creating a file.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(p)
	return 0o777 &^ fi.Mode().Perm()
}
