package series

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"strings"
)

// formatPatchArgs is the git command FromGitRange runs. The -c settings and
// flags pin what a user's git config could otherwise change in the output
// (path prefixes, subject prefix, numbering, cover letter, context size),
// so the same commits always give the same Series.ID.
func formatPatchArgs(repo, rng string) []string {
	return []string{
		"git", "-C", repo,
		"-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
		"format-patch", "--stdout", "--numbered", "--no-cover-letter",
		"--subject-prefix=PATCH", "--unified=3", "--no-signature",
		rng,
	}
}

// FromGitRange turns the commits of rng in the git repository repo into a
// series: `git -C repo format-patch --stdout RANGE`, then ParseMbox. The
// series is named "REPO:RANGE". Cancelling ctx kills git.
func FromGitRange(ctx context.Context, repo, rng string) (*Series, error) {
	name := repo + ":" + rng
	if rng == "" || strings.HasPrefix(rng, "-") {
		return nil, &SeriesError{Series: name, Err: ErrNoPatches,
			Reason: fmt.Sprintf("bad revision range %q (want e.g. v6.12..HEAD)", rng)}
	}
	argv := formatPatchArgs(repo, rng)
	var stdout, stderr bytes.Buffer
	cmd := proc.Command(ctx, argv)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &CommandError{Argv: argv, Stderr: tail(stderr.String(), 2048), Err: err}
	}
	if stdout.Len() == 0 {
		return nil, &SeriesError{Series: name, Err: ErrNoPatches,
			Reason: fmt.Sprintf("range %s has no commits to format (a range is OLD..NEW)", rng)}
	}
	return ParseMbox(name, &stdout)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
