package series

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWithout(t *testing.T) {
	tests := []struct {
		name    string
		drop    []int
		want    []int
		wantErr string
	}{
		{"first", []int{1}, []int{2, 3, 4}, ""},
		{"several", []int{4, 2}, []int{1, 3}, ""},
		{"none", nil, []int{1, 2, 3, 4}, ""},
		{"unknown", []int{1, 5}, nil, "series test: cannot drop patch 5: the series has 1-4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mkSeries(tinyDiff, tinyDiff, tinyDiff, tinyDiff)
			got, err := s.Without(tt.drop...)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnknownPatch) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q wrapping ErrUnknownPatch", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := numbersOf(got.Patches); !reflect.DeepEqual(n, tt.want) {
				t.Errorf("numbers = %v, want %v", n, tt.want)
			}
			if len(s.Patches) != 4 {
				t.Errorf("Without changed its receiver: %d patches", len(s.Patches))
			}
		})
	}
}

func TestWithoutRealSeries(t *testing.T) {
	s := mustParseMboxFile(t, realMbox(t, 2))
	w, err := s.Without(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Patches) != 10 || w.Patches[0].Number != 2 || w.Version != 2 || w.Cover != s.Cover {
		t.Fatalf("v2 without 01: %d patches starting at %d, want 10 starting at 2", len(w.Patches), w.Patches[0].Number)
	}
	if w.ID() == s.ID() {
		t.Errorf("ID did not change when dropping a patch: %s", w.ID())
	}
}

func TestID(t *testing.T) {
	base := mkSeries(tinyDiff, strings.Replace(tinyDiff, "a=2", "a=3", 1))
	id := base.ID()
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("ID() = %q, want 16 hex digits", id)
	}
	tests := []struct {
		name   string
		change func(s *Series)
		same   bool
	}{
		{"delivery details", func(s *Series) {
			s.Name, s.Patches[0].From, s.Patches[0].Source, s.Patches[0].Message = "other", "X <x@y>", "elsewhere", "msg"
		}, true},
		{"subject", func(s *Series) { s.Patches[1].Subject += "!" }, false},
		{"diff", func(s *Series) { s.Patches[0].Diff += " \n" }, false},
		{"order", func(s *Series) { s.Patches[0], s.Patches[1] = s.Patches[1], s.Patches[0] }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mkSeries(tinyDiff, strings.Replace(tinyDiff, "a=2", "a=3", 1))
			tt.change(s)
			if got := s.ID(); (got == id) != tt.same {
				t.Errorf("ID() = %s, base %s, want same=%v", got, id, tt.same)
			}
		})
	}
}

// writePatchDir writes format-patch style files, named so that sorting by
// name would put them in the wrong order.
func writePatchDir(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"0000-cover-letter.patch": "From 0000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] the cover\n\n*** BLURB HERE ***\n",
		"b-first.patch":           mboxMessage("[PATCH 1/2] first", "a.txt"),
		"a-second.patch":          mboxMessage("[PATCH 2/2] second", "b.txt"),
		"notes.txt":               "not a patch",
	})
}

func TestParseDir(t *testing.T) {
	dir := writePatchDir(t)
	s, err := ParseDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 2 || s.Name != dir || s.Cover == nil || s.Cover.Subject != "the cover" {
		t.Fatalf("got %+v", s)
	}
	for i, want := range []struct{ subject, file, source string }{
		{"first", "a.txt", "b-first.patch"},
		{"second", "b.txt", "a-second.patch"},
	} {
		p := s.Patches[i]
		if p.Number != i+1 || p.Subject != want.subject || !reflect.DeepEqual(p.Files, []string{want.file}) ||
			p.Source != filepath.Join(dir, want.source) {
			t.Errorf("patch %d = %d %q %v from %s, want %q %s from %s", i, p.Number, p.Subject, p.Files, p.Source,
				want.subject, want.file, want.source)
		}
	}
}

func TestParseDirErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := ParseDir(empty); !errors.Is(err, ErrNoPatches) || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty dir: err = %v, want ErrNoPatches naming %s", err, empty)
	}
	missing := filepath.Join(empty, "nope")
	if _, err := ParseDir(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoad(t *testing.T) {
	dir := writePatchDir(t)
	mbox := filepath.Join(t.TempDir(), "s.mbox")
	text := mboxMessage("[PATCH v2 2/2] second", "b.txt") + mboxMessage("[PATCH v2 1/2] first", "a.txt")
	if err := os.WriteFile(mbox, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		spec    func(t *testing.T) string
		version int
		wantErr error
	}{
		{"mbox file", func(*testing.T) string { return mbox }, 2, nil},
		{"patch dir", func(*testing.T) string { return dir }, 1, nil},
		{"repo:range", func(t *testing.T) string { return gitRepo(t) + ":base..HEAD" }, 1, nil},
		{"missing", func(*testing.T) string { return filepath.Join(dir, "missing.mbox") }, 0, fs.ErrNotExist},
		{"missing repo", func(*testing.T) string { return "/nonexistent/repo:a..b" }, 0, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec(t)
			s, err := Load(context.Background(), spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), spec) {
					t.Fatalf("err = %v, want %v naming %q", err, tt.wantErr, spec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != spec || s.Version != tt.version || len(s.Patches) != 2 {
				t.Errorf("Load(%q) = %s v%d with %d patches", spec, s.Name, s.Version, len(s.Patches))
			}
		})
	}
}

func TestPlus(t *testing.T) {
	base := &Series{Name: "v2", Version: 2, Patches: []Patch{{Subject: "a", Number: 1, Diff: "x"}, {Subject: "b", Number: 3, Diff: "y"}}}
	extra := &Series{Name: "m.patch", Version: 1, Patches: []Patch{{Subject: "mutant", Number: 1, Diff: "z"}}}
	got := base.Plus(extra)
	if len(got.Patches) != 3 || got.Patches[2].Number != 4 || got.Patches[2].Subject != "mutant" {
		t.Fatalf("Plus: %+v", got.Patches)
	}
	if got.ID() == base.ID() {
		t.Error("Plus kept the base's ID: a mutant would be served the clean kernel from the cache")
	}
	if len(base.Patches) != 2 || extra.Patches[0].Number != 1 {
		t.Error("Plus changed its inputs")
	}
}
