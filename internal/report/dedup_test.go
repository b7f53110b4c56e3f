package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

func TestDedup(t *testing.T) {
	overflow := map[string]float64{"corpus_programs": 200, "corpus_words/trace@4096": 462863, "corpus_words/unique@4096": 85627,
		"corpus_overflows/trace@4096": 92, "corpus_overflows/unique@4096": 0}
	unique := map[string]float64{"trace_records": 3308, "bitmap_bits": 161, "pcs": 161, "duplicates": 0, "lost_pcs": 0}
	reset := map[string]float64{"unique/full_reset_first": 128, "unique/count_only_reset": 0, "unique/reset_trace_tail": 3, "unique/reset_trace": 131,
		"unique_ro/repeat_added": 0, "unique_ro/reset_trace": 131}
	race := map[string]float64{"trials": 3, "threads": 6, "dup_records": 0, "union_unexplained": 0, "bits_union": 2434, "pcs_total": 2434, "overlap": 1, "trials_failed": 0}
	tests := []struct {
		name     string
		scen     []results.Scenario
		want     []string
		wantNone bool
	}{
		{name: "series suite", scen: []results.Scenario{
			{Name: "smoke", Verdict: results.Pass, Metrics: map[string]float64{"pcs": 9}},
			{Name: "unique", Verdict: results.Pass, Metrics: unique},
			{Name: "overflow", Verdict: results.Pass, Metrics: overflow},
			{Name: "reset", Verdict: results.Pass, Metrics: reset},
			{Name: "guardrace", Verdict: results.Pass, Metrics: race},
		}, want: []string{
			"does dedup work? kernel v2",
			"trace mode 462863 words (92 overflowed), unique mode 85627 words (0 overflowed): 5.4x fewer words",
			"recorded 3308 times in trace mode; unique mode set 161 bitmap bits for 161 distinct PCs (0 recorded twice, 0 lost)",
			"bitmap kept recorded 0 words (first time 128); KCOV_RESET_TRACE left 3 and it recorded 131 again",
			"3 fresh-boot trials, 6 racing threads: 0 PCs recorded twice, 0 lost",
		}},
		{name: "a failed scenario says so beside its numbers", scen: []results.Scenario{
			{Name: "unique", Verdict: results.Fail, Error: "bits != records", Metrics: unique},
		}, want: []string{"(FAIL: bits != records)"}},
		{name: "vanilla: guardrace skipped, unique errno only", scen: []results.Scenario{
			{Name: "smoke", Verdict: results.Pass, Metrics: map[string]float64{"pcs": 9}},
			{Name: "unique", Verdict: results.Pass, Metrics: map[string]float64{"errno": 25}},
			{Name: "guardrace", Verdict: results.Skip, Metrics: map[string]float64{"skipped": 1, "trials": 1}},
		}, wantNone: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			Dedup(&b, []*results.Result{{Kernel: results.Kernel{Name: "v2"}, Scenarios: tc.scen}})
			got := b.String()
			if tc.wantNone && got != "" {
				t.Fatalf("want no dedup lines, got:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
}
