package gitbisect

import (
	"context"
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestArgv(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"start", StartArgv("/k", DefaultTerms, "B", "G"), "git -C /k bisect start B G"},
		{"start fix", StartArgv("/k", FixTerms, "G", "B"), "git -C /k bisect start --term-old broken --term-new fixed G B"},
		{"mark", MarkArgv("/k", "fixed", "abc"), "git -C /k bisect fixed abc"},
		{"skip", MarkArgv("/k", Skip, "abc"), "git -C /k bisect skip abc"},
		{"run", RunArgv("/k", []string{"kcovlab", "bisect-step", "--runs", "3"}), "git -C /k bisect run kcovlab bisect-step --runs 3"},
		{"reset", ResetArgv("/k"), "git -C /k bisect reset"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.got, " "); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestParseProgress(t *testing.T) {
	h1, h2 := strings.Repeat("a", 40), strings.Repeat("b", 40)
	tests := []struct {
		name  string
		out   string
		terms Terms
		want  Progress
		err   bool
	}{
		{"more to test", "Bisecting: 2 revisions left to test after this (roughly 1 step)\n[" + h1 + "] c6", DefaultTerms, Progress{}, false},
		{"found", h1 + " is the first bad commit\ncommit " + h1 + "\nAuthor: a\n\n    c6\n", DefaultTerms, Progress{Done: true, First: h1}, false},
		{"found fixed", h2 + " is the first fixed commit\n", FixTerms, Progress{Done: true, First: h2}, false},
		{"wrong term", h2 + " is the first good commit\n", DefaultTerms, Progress{}, true},
		{"only skipped", "There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n" + h1 + "\n" + h2 + "\nWe cannot bisect more!\n",
			DefaultTerms, Progress{Done: true, Candidates: []string{h1, h2}}, false},
		{"only skipped, none listed", "The first bad commit could be any of:\nWe cannot bisect more!\n", DefaultTerms, Progress{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProgress(tt.out, tt.terms)
			if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

// testRepo makes a repository with commits c0..c(n-1), each writing its
// number to the file n, and returns it with the hashes in order.
func testRepo(t *testing.T, n int) (*Repo, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		return testutil.Git(t, dir, args...)
	}
	git("init", "-q", "-b", "main")
	var hashes []string
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "n"), []byte(strconv.Itoa(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "n")
		git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", fmt.Sprintf("c%d", i))
		hashes = append(hashes, git("rev-parse", "HEAD"))
	}
	r, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, hashes
}

// drive bisects r with judge until git is done.
func drive(t *testing.T, r *Repo, terms Terms, newRev, oldRev string, judge func(n int) string) Progress {
	t.Helper()
	ctx := context.Background()
	p, err := r.Start(ctx, terms, newRev, oldRev)
	for i := 0; err == nil && !p.Done; i++ {
		if i > 20 {
			t.Fatal("bisect does not end")
		}
		raw, rerr := os.ReadFile(filepath.Join(r.Dir, "n"))
		if rerr != nil {
			t.Fatal(rerr)
		}
		n, _ := strconv.Atoi(string(raw))
		head, herr := r.Head(ctx)
		if herr != nil {
			t.Fatal(herr)
		}
		p, err = r.Mark(ctx, terms, judge(n), head)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBisectOnARepo(t *testing.T) {
	ctx := context.Background()
	r, h := testRepo(t, 10)
	tests := []struct {
		name           string
		terms          Terms
		newRev, oldRev string
		judge          func(n int) string
		want           Progress
	}{
		{"first bad", DefaultTerms, h[9], h[0], func(n int) string {
			if n >= 6 {
				return "bad"
			}
			return "good"
		}, Progress{Done: true, First: h[6]}},
		{"first fixed", FixTerms, h[9], h[0], func(n int) string {
			if n >= 3 {
				return "fixed"
			}
			return "broken"
		}, Progress{Done: true, First: h[3]}},
		{"skipped next to the change", DefaultTerms, h[9], h[0], func(n int) string {
			switch {
			case n == 4 || n == 5:
				return Skip
			case n >= 6:
				return "bad"
			}
			return "good"
		}, Progress{Done: true, Candidates: []string{h[4], h[5], h[6]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drive(t, r, tt.terms, tt.newRev, tt.oldRev, tt.judge)
			if err := r.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if got.First != tt.want.First || !sameSet(got.Candidates, tt.want.Candidates) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if head, _ := r.Head(ctx); head != h[9] || r.Bisecting(ctx) {
				t.Errorf("after reset: HEAD %s (want %s), bisecting %v", head, h[9], r.Bisecting(ctx))
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestReady(t *testing.T) {
	ctx := context.Background()
	r, h := testRepo(t, 3)
	if err := r.Ready(ctx); err != nil {
		t.Fatalf("clean tree: %v", err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "untracked"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Ready(ctx); err != nil {
		t.Errorf("an untracked file refused the tree: %v", err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "n"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Ready(ctx); !errors.Is(err, ErrDirty) || !strings.Contains(err.Error(), r.Dir) {
		t.Errorf("dirty tree: %v, want ErrDirty naming %s", err, r.Dir)
	}
	if _, err := r.run(ctx, []string{"git", "-C", r.Dir, "checkout", "-q", "--", "n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, DefaultTerms, h[2], h[0]); err != nil {
		t.Fatal(err)
	}
	if err := r.Ready(ctx); !errors.Is(err, ErrBisecting) || !strings.Contains(err.Error(), "bisect reset") {
		t.Errorf("mid-bisect tree: %v, want ErrBisecting with the way out", err)
	}
	if err := r.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Errorf("plain directory: %v, want ErrNotRepo", err)
	}
	if _, err := r.Resolve(ctx, "no-such-rev"); err == nil || !strings.Contains(err.Error(), "no-such-rev") {
		t.Errorf("Resolve of a bad revision: %v", err)
	}
	if ok, err := r.IsAncestor(ctx, h[0], h[2]); !ok || err != nil {
		t.Errorf("IsAncestor(c0, c2) = %v, %v", ok, err)
	}
	if ok, err := r.IsAncestor(ctx, h[2], h[0]); ok || err != nil {
		t.Errorf("IsAncestor(c2, c0) = %v, %v", ok, err)
	}
	if cs, err := r.Commits(ctx, h[2], h[0]); err != nil || !reflect.DeepEqual(cs, []string{h[2], h[1]}) {
		t.Errorf("Commits = %v, %v", cs, err)
	}
}

// TestInsertFixture: the fixture and its revert land right after the
// chosen commit, the later commits follow unchanged (content and author),
// and two clones of one history get the same hashes.
func TestInsertFixture(t *testing.T) {
	ctx := context.Background()
	f := Fixture{Subject: "fixture: break n", Path: "n", Append: "\nbroken\n"}
	orig, h := testRepo(t, 5)
	var heads []string
	for range 2 {
		dir := t.TempDir()
		if out, err := exec.Command("git", "clone", "-q", orig.Dir, dir).CombinedOutput(); err != nil {
			t.Fatalf("clone: %v: %s", err, out)
		}
		r, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		fix, rev, head, err := r.InsertFixture(ctx, h[2], f)
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, head)
		log, err := r.git(ctx, "log", "--format=%H %an %s", "--reverse", h[2]+"..HEAD")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(log, "\n")
		want := []string{fix + " kcovlab fixture: break n", rev + ` kcovlab Revert "fixture: break n"`, " t c3", " t c4"}
		if len(lines) != 4 || lines[0] != want[0] || lines[1] != want[1] ||
			!strings.HasSuffix(lines[2], want[2]) || !strings.HasSuffix(lines[3], want[3]) {
			t.Errorf("history after c2:\n%s\nwant %q", log, want)
		}
		if b, _ := os.ReadFile(filepath.Join(r.Dir, "n")); string(b) != "4" {
			t.Errorf("head content %q, want 4", b)
		}
		if broken, _ := r.git(ctx, "show", fix+":n"); broken != "2\nbroken" {
			t.Errorf("fixture content %q", broken)
		}
		if ref, _ := r.git(ctx, "symbolic-ref", "--short", "HEAD"); ref != "main" {
			t.Errorf("HEAD on %q, want main", ref)
		}
	}
	if heads[0] != heads[1] {
		t.Errorf("the same fixture on the same history gave two heads: %s, %s", heads[0], heads[1])
	}
}
