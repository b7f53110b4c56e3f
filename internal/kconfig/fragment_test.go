package kconfig

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFragment(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Entry
	}{
		{"bool", "CONFIG_A=y", []Entry{{"A", "y", 1}}},
		{"module", "CONFIG_A=m", []Entry{{"A", "m", 1}}},
		{"eq n", "CONFIG_A=n", []Entry{{"A", "n", 1}}},
		{"not set", "# CONFIG_A is not set", []Entry{{"A", "n", 1}}},
		{"not set with trailing text", "# CONFIG_A is not set (on purpose)", []Entry{{"A", "n", 1}}},
		{"string", `CONFIG_S="hello world"`, []Entry{{"S", `"hello world"`, 1}}},
		{"empty string", `CONFIG_S=""`, []Entry{{"S", `""`, 1}}},
		{"escaped string", `CONFIG_S="a\"b\\"`, []Entry{{"S", `"a\"b\\"`, 1}}},
		{"decimal", "CONFIG_N=123", []Entry{{"N", "123", 1}}},
		{"negative", "CONFIG_N=-1", []Entry{{"N", "-1", 1}}},
		{"hex", "CONFIG_H=0x1000", []Entry{{"H", "0x1000", 1}}},
		{"digit symbol", "CONFIG_64BIT=y", []Entry{{"64BIT", "y", 1}}},
		{"whitespace", "  CONFIG_A=y \t", []Entry{{"A", "y", 1}}},
		{"comments and blanks", "# a comment\n\n   \n#CONFIG_A=y\n# CONFIG_B is set\n", nil},
		{
			"line numbers",
			"# header\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C=m\n",
			[]Entry{{"A", "y", 2}, {"B", "n", 4}, {"C", "m", 5}},
		},
		{"duplicates kept", "CONFIG_A=y\nCONFIG_A=n", []Entry{{"A", "y", 1}, {"A", "n", 2}}},
		{"crlf", "CONFIG_A=y\r\nCONFIG_B=m\r\n", []Entry{{"A", "y", 1}, {"B", "m", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParseFragment(t, "x.config", tt.text)
			if f.Name != "x.config" || f.Path != "" {
				t.Errorf("Name, Path = %q, %q; want x.config, empty", f.Name, f.Path)
			}
			if !reflect.DeepEqual(f.Entries, tt.want) {
				t.Errorf("Entries = %+v, want %+v", f.Entries, tt.want)
			}
		})
	}
}

func TestParseFragmentErrors(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		line     int
		badLine  string
		inReason string
	}{
		{"no prefix", "FOO=y", 1, "FOO=y", "not an assignment"},
		{"no equals", "CONFIG_A=y\nCONFIG_B", 2, "CONFIG_B", `missing "="`},
		{"empty value", "CONFIG_A=", 1, "CONFIG_A=", "empty value"},
		{"word value", "# x\nCONFIG_A=yes", 2, "CONFIG_A=yes", "is not y, m, n"},
		{"trailing comment", "CONFIG_A=y # why", 1, "CONFIG_A=y # why", "own line"},
		{"unterminated string", `CONFIG_S="abc`, 1, `CONFIG_S="abc`, "bad string"},
		{"unescaped quote", `CONFIG_S="a"b"`, 1, `CONFIG_S="a"b"`, "bad string"},
		{"empty symbol", "CONFIG_=y", 1, "CONFIG_=y", "bad symbol name"},
		{"dash in symbol", "CONFIG_A-B=y", 1, "CONFIG_A-B=y", "bad symbol name"},
		{"space before value", "CONFIG_A= y", 1, "CONFIG_A= y", "is not y, m, n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFragment("bad.config", strings.NewReader(tt.text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Source != "bad.config" || pe.Line != tt.line || pe.Text != tt.badLine {
				t.Errorf("ParseError = %+v, want bad.config line %d text %q", pe, tt.line, tt.badLine)
			}
			if !strings.Contains(pe.Reason, tt.inReason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, tt.inReason)
			}
			for _, s := range []string{"bad.config", tt.badLine} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, want it to name %q", err, s)
				}
			}
		})
	}
}

func TestLoadFragments(t *testing.T) {
	dir := filepath.Join("testdata", "fragments")
	frags, err := LoadFragments(dir, "lab.config", "kcov-unique.config")
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 2 || frags[0].Name != "lab.config" || frags[1].Name != "kcov-unique.config" {
		t.Fatalf("got %d fragments, want lab.config and kcov-unique.config in order", len(frags))
	}
	if want := filepath.Join(dir, "kcov-unique.config"); frags[1].Path != want {
		t.Errorf("Path = %q, want %q", frags[1].Path, want)
	}
	if want := []Entry{{"KCOV_UNIQUE", "y", 3}}; !reflect.DeepEqual(frags[1].Entries, want) {
		t.Errorf("Entries = %+v, want %+v", frags[1].Entries, want)
	}
}

func TestLoadFragmentsErrors(t *testing.T) {
	dir := filepath.Join("testdata", "fragments")
	_, err := LoadFragments(dir, "lab.config", "missing.config")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing fragment: err = %v, want fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), filepath.Join(dir, "missing.config")) {
		t.Errorf("missing fragment: %q does not name the path", err)
	}
	_, err = LoadFragments(dir, "typo.config")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Source != "typo.config" || pe.Line != 2 {
		t.Errorf("bad fragment: err = %v, want *ParseError at typo.config:2", err)
	}
}

func TestHash(t *testing.T) {
	base := []*Fragment{mustParseFragment(t, "a.config", "CONFIG_A=y\n# CONFIG_B is not set\n")}
	tests := []struct {
		name string
		frag *Fragment
		same bool
	}{
		{"comments and blanks", mustParseFragment(t, "a.config", "# c\n\n  CONFIG_A=y  \n\n# CONFIG_B is not set\n"), true},
		{"=n spelling", mustParseFragment(t, "a.config", "CONFIG_A=y\nCONFIG_B=n\n"), true},
		{"other value", mustParseFragment(t, "a.config", "CONFIG_A=m\n# CONFIG_B is not set\n"), false},
		{"other order", mustParseFragment(t, "a.config", "# CONFIG_B is not set\nCONFIG_A=y\n"), false},
		{"other name", mustParseFragment(t, "b.config", "CONFIG_A=y\n# CONFIG_B is not set\n"), false},
	}
	h := Hash(base)
	if len(h) != 64 {
		t.Fatalf("Hash = %q, want 64 hex digits", h)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hash([]*Fragment{tt.frag}) == h; got != tt.same {
				t.Errorf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
	split := []*Fragment{mustParseFragment(t, "a.config", "CONFIG_A=y"), mustParseFragment(t, "a.config", "CONFIG_B=n")}
	if Hash(split) == h {
		t.Error("splitting a fragment in two did not change the hash")
	}
}

func TestAppendFragments(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		want     string
	}{
		{"trailing newline", "CONFIG_A=y\n", "CONFIG_A=y\n"},
		{"no trailing newline", "CONFIG_A=y", "CONFIG_A=y\n"},
		{"empty", "", ""},
	}
	frags := []*Fragment{
		mustParseFragment(t, "one.config", "# c\nCONFIG_A=n\nCONFIG_S=\"x y\"\n"),
		mustParseFragment(t, "two.config", "# CONFIG_B is not set\nCONFIG_A=m\n"),
	}
	appended := "# kcovlab fragment one.config\n# CONFIG_A is not set\nCONFIG_S=\"x y\"\n" +
		"# kcovlab fragment two.config\n# CONFIG_B is not set\nCONFIG_A=m\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".config")
			if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := AppendFragments(path, frags); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want+appended {
				t.Errorf("file =\n%s\nwant\n%s", got, tt.want+appended)
			}
			cfg, err := ReadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := cfg.Value("A"); v != "m" || !ok {
				t.Errorf("A = %q, %v; want the last assignment m", v, ok)
			}
		})
	}
}

func TestAppendFragmentsMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".config")
	err := AppendFragments(path, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want fs.ErrNotExist naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("AppendFragments created %s", path)
	}
}
