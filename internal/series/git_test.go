package series

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

func TestFormatPatchArgs(t *testing.T) {
	tests := []struct {
		repo, rng string
		want      []string
	}{
		{"/src/linux", "v6.12..kcov-dedup", []string{
			"git", "-C", "/src/linux", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
			"format-patch", "--stdout", "--numbered", "--no-cover-letter", "--subject-prefix=PATCH",
			"--unified=3", "--no-signature", "v6.12..kcov-dedup"}},
		{"repo with space", "HEAD~3", []string{
			"git", "-C", "repo with space", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
			"format-patch", "--stdout", "--numbered", "--no-cover-letter", "--subject-prefix=PATCH",
			"--unified=3", "--no-signature", "HEAD~3"}},
	}
	for _, tt := range tests {
		if got := formatPatchArgs(tt.repo, tt.rng); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("formatPatchArgs(%q, %q) =\n%q\nwant\n%q", tt.repo, tt.rng, got, tt.want)
		}
	}
}

// gitBase and gitHead are the trees before and after gitRepo's two commits.
var (
	gitBase = map[string]string{"src/a.c": numbered(1, 20), "README": "hello\n"}
	gitHead = map[string]string{
		"src/a.c":      strings.NewReplacer("l7\n", "L7\n", "l15\n", "L15\n").Replace(numbered(1, 20)),
		"docs/new.txt": "new\n",
	}
)

// gitRepo makes a git repository holding gitBase (tagged "base") and two
// commits that turn it into gitHead. Its config asks for output that
// formatPatchArgs must override.
func gitRepo(t *testing.T) string {
	t.Helper()
	testutil.NeedCommands(t, "git")
	dir := writeTree(t, gitBase)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.org",
			"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.org",
			"GIT_AUTHOR_DATE=2025-11-26T00:00:00Z", "GIT_COMMITTER_DATE=2025-11-26T00:00:00Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("init", "-q")
	git("config", "diff.noprefix", "true")
	git("config", "format.subjectPrefix", "RFC")
	git("add", ".")
	git("commit", "-qm", "base")
	git("tag", "base")
	for _, step := range []struct{ files map[string]string }{
		{map[string]string{"src/a.c": strings.Replace(numbered(1, 20), "l7\n", "L7\n", 1), "docs/new.txt": "new\n"}},
		{map[string]string{"src/a.c": gitHead["src/a.c"]}},
	} {
		for name, content := range step.files {
			if err := os.MkdirAll(dir+"/"+name[:strings.LastIndex(name, "/")], 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if step.files["docs/new.txt"] == "" {
			git("rm", "-q", "README")
			git("commit", "-qam", "a: change line 15\n\nAnd drop the README.")
		} else {
			git("add", ".")
			git("commit", "-qm", "a: change line 7")
		}
	}
	return dir
}

func TestFromGitRange(t *testing.T) {
	repo := gitRepo(t)
	s, err := FromGitRange(context.Background(), repo, "base..HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != repo+":base..HEAD" || len(s.Patches) != 2 {
		t.Fatalf("got %s with %d patches", s.Name, len(s.Patches))
	}
	want := []struct {
		title string
		files []string
	}{
		{"[PATCH 1/2] a: change line 7", []string{"docs/new.txt", "src/a.c"}},
		{"[PATCH 2/2] a: change line 15", []string{"README", "src/a.c"}},
	}
	for i, w := range want {
		p := s.Patches[i]
		if p.Title() != w.title || !reflect.DeepEqual(p.Files, w.files) || p.From != "Test Author <author@example.org>" {
			t.Errorf("patch %d = %q %v from %q, want %q %v", i+1, p.Title(), p.Files, p.From, w.title, w.files)
		}
	}
	if s.Patches[1].Message != "And drop the README." {
		t.Errorf("message = %q", s.Patches[1].Message)
	}
	tree := writeTree(t, gitBase) // not a git repository
	if err := s.Apply(tree); err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(readTree(t, tree), gitHead); d != "" {
		t.Errorf("applied tree differs from the repository's HEAD:\n%s", d)
	}
}

func TestFromGitRangeErrors(t *testing.T) {
	repo := gitRepo(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		rng     string
		wantErr error
		command bool // want a *CommandError
	}{
		{"empty range", context.Background(), "HEAD..HEAD", ErrNoPatches, false},
		{"option as range", context.Background(), "--output=x", ErrNoPatches, false},
		{"unknown revision", context.Background(), "nosuch..HEAD", nil, true},
		{"canceled", canceled, "base..HEAD", context.Canceled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromGitRange(tt.ctx, repo, tt.rng)
			var ce *CommandError
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.command != errors.As(err, &ce) {
				t.Fatalf("err = %v, want %v (command error: %v)", err, tt.wantErr, tt.command)
			}
			if !strings.Contains(err.Error(), tt.rng) {
				t.Errorf("err = %v, want it to name the range %q", err, tt.rng)
			}
		})
	}
}
