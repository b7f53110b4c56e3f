package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

// A known-defect case that passed is XPASS in every output people and CI
// read: the summary, JUnit, KTAP and the nightly comparison.
func TestXPassIsVisibleEverywhere(t *testing.T) {
	run := &results.Result{Kernel: results.Kernel{Name: "v2", Key: "k"}, Scenarios: []results.Scenario{{
		Name: "kselftest", Verdict: results.Pass,
		Cases: []results.Case{{Name: "kcov_uniq.fast_rw.kcov_uniq_coverage", Status: XPass, Known: "expected to fail (v2 fast reset) but passed"}},
	}}}
	var sum, junit, ktapOut bytes.Buffer
	Summary(&sum, []*results.Result{run}, false)
	if err := JUnit(&junit, []*results.Result{run}); err != nil {
		t.Fatal(err)
	}
	if err := KTAP(&ktapOut, []*results.Result{run}); err != nil {
		t.Fatal(err)
	}
	for what, want := range map[string]struct{ got, want string }{
		"summary": {sum.String(), "XPASS (expected to fail, passed): kcov_uniq.fast_rw.kcov_uniq_coverage"},
		"junit":   {junit.String(), "XPASS: expected to fail"},
		"ktap":    {ktapOut.String(), "kcov_uniq.fast_rw.kcov_uniq_coverage # XPASS"},
	} {
		if !strings.Contains(want.got, want.want) {
			t.Errorf("%s lacks %q:\n%s", what, want.want, want.got)
		}
	}
	prev := &results.Result{Kernel: run.Kernel, Scenarios: []results.Scenario{{Name: "kselftest", Verdict: results.Pass,
		Cases: []results.Case{{Name: "kcov_uniq.fast_rw.kcov_uniq_coverage", Status: XFail}}}}}
	d := Compare([]*results.Result{prev}, []*results.Result{run}, Tolerance{})
	if len(d.XPass) != 1 || len(d.NewFailures) != 0 || d.Empty() {
		t.Errorf("diff %+v: want one XPASS and no new failure", d)
	}
	var text bytes.Buffer
	d.Write(&text)
	if !strings.Contains(text.String(), "XPASS") {
		t.Errorf("diff text lacks XPASS:\n%s", text.String())
	}
}
