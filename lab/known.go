package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/proc"
)

// knownDefect is a failure of a series' own selftest that upstream review
// found and a later version fixed. It is recorded as an expected failure
// (xfail) with the reason, never hidden: the test is not edited. It applies
// only to the selftest source it was found in (its content hash, however
// the series was given: named, a copy of the directory, an mbox, commits in
// a tree), to that case, and to that failure: the case's diagnostics must
// match Failure. Any other failure of the case stays red.
type knownDefect struct {
	// Selftest is the first 16 hex digits of the SHA-256 of the selftest
	// source (tools/testing/selftests/kcov/kcov_test.c).
	Selftest string
	Case     string
	Failure  *regexp.Regexp
	Why      string
}

// v2SelftestID is v2's kcov_test.c (patch 10, "kcov: selftests: add
// kcov_test").
const v2SelftestID = "51522768ec00aabb"

// v2ReadsMapping0 matches the expectations of kcov_uniq_coverage that read
// mapping[0] as the trace count: collect_coverage_once's EXPECT_GT
// (line 198), reset_coverage's EXPECT_NE after KCOV_RESET_TRACE (215), the
// no-new-coverage EXPECT_EQ (348-350) and the before/after EXPECT_GT (359).
var v2ReadsMapping0 = regexp.MustCompile(`kcov_test\.c:(198|215|34[89]|350|359):\w+:Expected `)

var knownDefects = []knownDefect{
	{v2SelftestID, "kcov_uniq.slow_rw.kcov_uniq_coverage", v2ReadsMapping0, v2ReadsBitmapWord},
	{v2SelftestID, "kcov_uniq.slow_ro.kcov_uniq_coverage", v2ReadsMapping0, v2ReadsBitmapWord},
	{v2SelftestID, "kcov_uniq.fast_rw.kcov_uniq_coverage", v2ReadsMapping0, v2FastResetsBitmapWord},
}

// v2ReadsBitmapWord: in unique mode the v2 selftest compares mapping[0]
// before and after a reset (EXPECT_GT(before, after)), but mapping[0] is the
// first bitmap word, not trace[0]. It holds bits only when a guard this
// boot's order indexed below 64 was hit, so the case passes or fails by
// boot. Review caught it; v3 reads the trace's count instead.
const v2ReadsBitmapWord = "v2 selftest reads mapping[0], a bitmap word in unique mode, as the trace count: passes or fails with this boot's guard order (fixed in v3)"

// v2FastResetsBitmapWord: the v2 selftest's fast reset stores 0 into
// mapping[0] in unique mode too, which clears the first bitmap word instead
// of the trace count, and then compares that word before and after. The
// case passes or fails with the guard order and with what ran before it in
// this boot (seen failing when kselftest ran after the other scenarios on
// 2 CPUs). v4 adds reset_uniq_coverage, which zeroes the bitmap and the
// trace count.
const v2FastResetsBitmapWord = "v2 selftest's fast reset zeroes mapping[0], the first bitmap word in unique mode, not the trace count: passes or fails with this boot's guard order (v4 adds reset_uniq_coverage)"

// lookupDefect returns the known defect of this selftest's case, if any.
func lookupDefect(selftest, testCase string) (knownDefect, bool) {
	for _, d := range knownDefects {
		if d.Selftest == selftest && d.Case == testCase {
			return d, true
		}
	}
	return knownDefect{}, false
}

// matches is true when diag, a failing case's diagnostics, shows this
// defect's failure.
func (d knownDefect) matches(diag []string) bool {
	return d.Failure.MatchString(strings.Join(diag, "\n"))
}

// SelftestID is the identity known defects are keyed on: the first 16 hex
// digits of the SHA-256 of a selftest's source.
func SelftestID(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:8])
}

// selftestID reads the kernel's selftest source as it was built: from the
// local tree when there is no series, else from the series' branch in the
// base source's worktree. "" when the kernel has none or it cannot be read.
func (r *run) selftestID(ctx context.Context) string {
	if r.selftest == nil {
		id := ""
		if r.kernel != nil && r.kernel.Selftest != "" {
			if src, err := r.selftestSource(ctx); err != nil {
				r.log.Warn("scenario: selftest source unreadable, no known defects apply", "err", err)
			} else {
				id = SelftestID(src)
			}
		}
		r.selftest = &id
	}
	return *r.selftest
}

func (r *run) selftestSource(ctx context.Context) ([]byte, error) {
	if src, err := os.ReadFile(filepath.Join(r.kernel.Dir, kbuild.SelftestSourceName)); err == nil {
		return src, nil // kept beside the kernel (a newer build, or an import)
	}
	return r.sourceFile(ctx, kselftestSource)
}

// sourceFile reads a file of the kernel's source as it was built: from the
// local tree when there is no series, else from the series' branch in the
// base source's worktree.
func (r *run) sourceFile(ctx context.Context, path string) ([]byte, error) {
	s, err := r.def.LoadSeries(ctx, r.opts.ModuleDir)
	if err != nil {
		return nil, err
	}
	if r.opts.KernelSrc != "" && s == nil {
		return os.ReadFile(filepath.Join(r.opts.KernelSrc, path))
	}
	base, err := r.lazySource(ctx)
	if err != nil {
		return nil, err
	}
	w := kbuild.WorktreeFor(base, r.opts.CacheDir, r.log)
	ref := "kcovlab-base"
	if s != nil {
		ref = kbuild.SeriesRef(s)
	}
	argv := []string{"git", "-C", w.Dir, "show", ref + ":" + path}
	out, err := proc.Command(ctx, argv).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", proc.Quote(argv), err)
	}
	return out, nil
}
