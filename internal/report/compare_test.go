package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

func run(kernel string, scen ...results.Scenario) *results.Result {
	return &results.Result{Schema: results.SchemaVersion, Kernel: results.Kernel{Name: kernel}, Scenarios: scen}
}

func sc(name, verdict string, metrics map[string]float64, cases ...results.Case) results.Scenario {
	return results.Scenario{Name: name, Verdict: verdict, Metrics: metrics, Cases: cases}
}

func TestCompare(t *testing.T) {
	pass, fail := results.Pass, results.Fail
	pcs := func(v float64) map[string]float64 { return map[string]float64{"pcs": v} }
	tol := Tolerance{Relative: 0.10, Absolute: 5}
	broken := bootFailure()
	broken.Kernel.Name = "v4"
	tests := []struct {
		name      string
		prev, cur []*results.Result
		want      Diff
	}{
		{name: "unchanged", prev: []*results.Result{run("v2", sc("smoke", pass, pcs(100)))},
			cur: []*results.Result{run("v2", sc("smoke", pass, pcs(100)))}},
		{name: "new failure", prev: []*results.Result{run("v2", sc("smoke", pass, nil))},
			cur:  []*results.Result{run("v2", sc("smoke", fail, nil))},
			want: Diff{NewFailures: []Key{{"v2", "smoke"}}}},
		{name: "skip to error is a new failure", prev: []*results.Result{run("v2", sc("noise", results.Skip, nil))},
			cur:  []*results.Result{run("v2", sc("noise", results.Error, nil))},
			want: Diff{NewFailures: []Key{{"v2", "noise"}}}},
		{name: "fixed", prev: []*results.Result{run("v2", sc("unique", fail, nil))},
			cur:  []*results.Result{run("v2", sc("unique", pass, nil))},
			want: Diff{Fixed: []Key{{"v2", "unique"}}}},
		{name: "still failing", prev: []*results.Result{run("v2", sc("unique", fail, nil))},
			cur: []*results.Result{run("v2", sc("unique", results.Error, nil))}},
		{name: "moved beyond tolerance", prev: []*results.Result{run("v2", sc("smoke", pass, pcs(100)))},
			cur:  []*results.Result{run("v2", sc("smoke", pass, pcs(120)))},
			want: Diff{Moved: []MetricMove{{Key{"v2", "smoke"}, "pcs", 100, 120, 20}}}},
		{name: "moved down", prev: []*results.Result{run("v2", sc("smoke", pass, pcs(1000)))},
			cur:  []*results.Result{run("v2", sc("smoke", pass, pcs(850)))},
			want: Diff{Moved: []MetricMove{{Key{"v2", "smoke"}, "pcs", 1000, 850, -150}}}},
		{name: "within relative tolerance", prev: []*results.Result{run("v2", sc("smoke", pass, pcs(100)))},
			cur: []*results.Result{run("v2", sc("smoke", pass, pcs(109)))}},
		{name: "within absolute tolerance", prev: []*results.Result{run("v2", sc("unique", pass, map[string]float64{"duplicates": 0}))},
			cur: []*results.Result{run("v2", sc("unique", pass, map[string]float64{"duplicates": 4}))}},
		{name: "added kernel", prev: []*results.Result{run("v2", sc("smoke", pass, nil))},
			cur:  []*results.Result{run("v2", sc("smoke", pass, nil)), run("v4", sc("smoke", pass, nil), sc("unique", fail, nil))},
			want: Diff{NewFailures: []Key{{"v4", "unique"}}, Added: []Key{{"v4", "smoke"}, {"v4", "unique"}}}},
		{name: "removed kernel", prev: []*results.Result{run("v2", sc("smoke", pass, nil)), run("v4", sc("smoke", pass, nil))},
			cur:  []*results.Result{run("v2", sc("smoke", pass, nil))},
			want: Diff{Removed: []Key{{"v4", "smoke"}}}},
		{name: "kernel stopped booting", prev: []*results.Result{run("v4", sc("smoke", pass, nil))},
			cur:  []*results.Result{broken},
			want: Diff{NewFailures: []Key{{"v4", "run"}}, Added: []Key{{"v4", "run"}}, Removed: []Key{{"v4", "smoke"}}}},
		{name: "another selftest case fails",
			prev: []*results.Result{run("v2", sc("kselftest", fail, nil, results.Case{Name: "a", Status: "fail"}, results.Case{Name: "b", Status: "pass"}))},
			cur:  []*results.Result{run("v2", sc("kselftest", fail, nil, results.Case{Name: "a", Status: "fail"}, results.Case{Name: "b", Status: "fail"}))},
			want: Diff{NewFailures: []Key{{"v2", "kselftest/b"}}}},
		{name: "known defect becomes expected",
			prev: []*results.Result{run("v2", sc("kselftest", fail, nil, results.Case{Name: "a", Status: "fail"}))},
			cur:  []*results.Result{run("v2", sc("kselftest", pass, nil, results.Case{Name: "a", Status: "xfail"}))},
			want: Diff{Fixed: []Key{{"v2", "kselftest"}, {"v2", "kselftest/a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.prev, tt.cur, tol)
			if !sameDiff(got, &tt.want) {
				t.Errorf("Compare =\n%+v\nwant\n%+v", *got, tt.want)
			}
			if got.Regressed() != (len(tt.want.NewFailures) > 0) {
				t.Errorf("Regressed() = %v", got.Regressed())
			}
		})
	}
}

// sameDiff compares diffs treating nil and empty lists alike.
func sameDiff(a, b *Diff) bool {
	norm := func(d *Diff) Diff {
		n := Diff{Moved: append([]MetricMove{}, d.Moved...)}
		n.NewFailures = append([]Key{}, d.NewFailures...)
		n.Fixed = append([]Key{}, d.Fixed...)
		n.Added = append([]Key{}, d.Added...)
		n.Removed = append([]Key{}, d.Removed...)
		return n
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestCompareFixtureAndWrite(t *testing.T) {
	prev := fixture()
	cur := fixture()
	cur[0].Scenarios[0].Verdict = results.Fail                // v2 smoke breaks
	cur[0].Scenarios[1].Verdict = results.Pass                // v2 unique is fixed
	cur[1].Scenarios[0].Metrics["trace_words/read"] = 610     // doubled
	cur[1].Scenarios[0].Metrics["unique_words/write"] = 100.5 // within 10%
	d := Compare(prev, cur, Tolerance{Relative: 0.10})
	var b bytes.Buffer
	d.Write(&b)
	want := `new failures (1):
  v2 smoke
fixed (1):
  v2 unique
moved metrics (1):
  v4 smoke trace_words/read: 305 -> 610 (+305, +100.0%)
`
	if b.String() != want {
		t.Errorf("Write:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	Compare(prev, fixture(), Tolerance{}).Write(&b)
	if b.String() != "no changes\n" {
		t.Errorf("Write of an empty diff: %q", b.String())
	}
}

func TestDiffJSON(t *testing.T) {
	raw, err := json.Marshal(Compare(nil, nil, Tolerance{}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"new_failures":[],"fixed":[],"moved":[],"added":[],"removed":[],"xpass":[]}`
	if string(raw) != want {
		t.Errorf("empty diff JSON %s, want %s", raw, want)
	}
	raw, err = json.Marshal(MetricMove{Key: Key{"v2", "smoke"}, Metric: "pcs", Prev: 1, Cur: 2, Change: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"key":{"kernel":"v2","scenario":"smoke"}`, `"metric":"pcs"`, `"prev":1`, `"cur":2`, `"change":1`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("%s lacks %s", raw, field)
		}
	}
}
