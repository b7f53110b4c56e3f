package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

func TestWriteRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	runs := fixture()
	if err := WriteRunDir(dir, runs); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if want := []string{JUnitFile, HTMLFile, KTAPFile}; !equal(names, want) {
		t.Errorf("files %v, want %v (a temporary file left behind?)", names, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := render(t, func(b *bytes.Buffer) error { return JUnit(b, runs) }); !bytes.Equal(got, want) {
		t.Error("junit.xml differs from JUnit's output")
	}
	if st, err := os.Stat(filepath.Join(dir, HTMLFile)); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("report.html: %v %v", st, err)
	}
	// A second write replaces the files in place.
	if err := WriteRunDir(dir, runs[:1]); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunDir(dir, nil); !errors.Is(err, ErrNoRuns) {
		t.Errorf("no runs: %v, want ErrNoRuns", err)
	}
}

func TestWriteRunDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var fe *FileError
	if err := WriteRunDir(filepath.Join(file, "sub"), fixture()); !errors.As(err, &fe) {
		t.Errorf("err %v, want a FileError", err)
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	testutil.CheckResultsUnder(t, root)
	for _, r := range fixture() {
		dir := filepath.Join(root, r.RunID)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	v2 := filepath.Join(root, fixtureV2().RunID)
	tests := []struct {
		name    string
		paths   []string
		kernels []string
	}{
		{"results tree", []string{root}, []string{"v2", "v4"}},
		{"run dir", []string{v2}, []string{"v2"}},
		{"result.json", []string{filepath.Join(v2, "result.json")}, []string{"v2"}},
		{"several", []string{v2, root}, []string{"v2", "v2", "v4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := Load(tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range runs {
				got = append(got, r.Kernel.Name)
			}
			if !equal(got, tt.kernels) {
				t.Errorf("kernels %v, want %v", got, tt.kernels)
			}
		})
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoRuns) {
		t.Errorf("empty dir: %v, want ErrNoRuns", err)
	}
	var fe *FileError
	if _, err := Load(filepath.Join(root, "missing")); !errors.As(err, &fe) {
		t.Errorf("missing dir: %v, want a FileError", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
