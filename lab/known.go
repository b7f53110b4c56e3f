package lab

// knownDefects are failures of a series' own selftest that upstream review
// found and a later version fixed. They are recorded as expected failures
// (xfail) with the reason, never hidden: the test is not edited.
var knownDefects = map[string]map[string]string{
	"v2": {
		"kcov_uniq.slow_rw.kcov_uniq_coverage": v2ReadsBitmapWord,
		"kcov_uniq.slow_ro.kcov_uniq_coverage": v2ReadsBitmapWord,
		"kcov_uniq.fast_rw.kcov_uniq_coverage": v2FastResetsBitmapWord,
	},
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

func knownDefect(series, testCase string) (string, bool) {
	why, ok := knownDefects[series][testCase]
	return why, ok
}
