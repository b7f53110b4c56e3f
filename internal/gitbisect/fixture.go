package gitbisect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Fixture is a deliberately broken commit for testing a bisect: it appends
// Append to the file Path. InsertFixture puts it into a history together
// with its revert, so every commit but the fixture itself stays testable.
type Fixture struct {
	Subject string
	Path    string
	Append  string
}

// fixedIdentity makes the commits InsertFixture writes (and replays) the
// same for the same input, whoever runs it and whenever: a kernel cache keyed
// by commit then finds them again. The user's git config is not read.
var fixedIdentity = []string{
	"GIT_AUTHOR_NAME=kcovlab", "GIT_AUTHOR_EMAIL=kcovlab@localhost", "GIT_AUTHOR_DATE=2000-01-01T00:00:00Z",
	"GIT_COMMITTER_NAME=kcovlab", "GIT_COMMITTER_EMAIL=kcovlab@localhost", "GIT_COMMITTER_DATE=2000-01-01T00:00:00Z",
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
}

// InsertFixture rewrites the checked-out branch: after the commit after
// come the fixture and its revert, then the commits that followed after,
// replayed with their authors. It returns the fixture's and the revert's
// hashes and the new HEAD. The tree must be clean.
func (r *Repo) InsertFixture(ctx context.Context, after string, f Fixture) (fixture, revert, head string, err error) {
	if err := r.Ready(ctx); err != nil {
		return "", "", "", err
	}
	old, err := r.Head(ctx)
	if err != nil {
		return "", "", "", err
	}
	if ok, err := r.IsAncestor(ctx, after, old); err != nil || !ok {
		return "", "", "", fmt.Errorf("insert fixture after %s: not an ancestor of HEAD (%v)", after, err)
	}
	branch, err := r.git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", "", "", fmt.Errorf("insert fixture: HEAD is not on a branch: %w", err)
	}
	if _, err := r.fixed(ctx, "checkout", "-q", "-B", branch, after); err != nil {
		return "", "", "", err
	}
	if err := appendFile(filepath.Join(r.Dir, f.Path), f.Append); err != nil {
		return "", "", "", err
	}
	steps := [][]string{
		{"add", "-f", "--", f.Path}, // -f: the kernel's .gitignore files match some source paths
		{"commit", "-q", "--no-verify", "-m", f.Subject},
		{"revert", "--no-edit", "HEAD"},
	}
	if after != old {
		steps = append(steps, []string{"cherry-pick", "--allow-empty", after + ".." + old})
	}
	for i, s := range steps {
		if _, err := r.fixed(ctx, s...); err != nil {
			return "", "", "", err
		}
		if i == 1 {
			fixture, _ = r.Head(ctx)
		}
		if i == 2 {
			revert, _ = r.Head(ctx)
		}
	}
	head, err = r.Head(ctx)
	return fixture, revert, head, err
}

// fixed runs a git command with fixedIdentity.
func (r *Repo) fixed(ctx context.Context, args ...string) (string, error) {
	return r.runEnv(ctx, append([]string{"git", "-C", r.Dir}, args...), fixedIdentity)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("insert fixture: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
