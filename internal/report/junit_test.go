package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

// The schema as a CI system reads it, written independently of junit.go's
// structs so that a mistake in those does not cancel out.
type (
	ciSuites struct {
		XMLName  xml.Name  `xml:"testsuites"`
		Tests    int       `xml:"tests,attr"`
		Failures int       `xml:"failures,attr"`
		Errors   int       `xml:"errors,attr"`
		Skipped  int       `xml:"skipped,attr"`
		Suites   []ciSuite `xml:"testsuite"`
	}
	ciSuite struct {
		Name       string       `xml:"name,attr"`
		Tests      int          `xml:"tests,attr"`
		Failures   int          `xml:"failures,attr"`
		Errors     int          `xml:"errors,attr"`
		Skipped    int          `xml:"skipped,attr"`
		Time       float64      `xml:"time,attr"`
		Timestamp  string       `xml:"timestamp,attr"`
		Properties []ciProperty `xml:"properties>property"`
		Cases      []ciCase     `xml:"testcase"`
	}
	ciProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	ciCase struct {
		Classname string       `xml:"classname,attr"`
		Name      string       `xml:"name,attr"`
		Time      float64      `xml:"time,attr"`
		Props     []ciProperty `xml:"properties>property"`
		Failure   *ciMessage   `xml:"failure"`
		Error     *ciMessage   `xml:"error"`
		Skipped   *ciMessage   `xml:"skipped"`
		SystemOut string       `xml:"system-out"`
	}
	ciMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

func parseJUnit(t *testing.T, raw []byte) ciSuites {
	t.Helper()
	var doc ciSuites
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, raw)
	}
	return doc
}

func TestJUnitGolden(t *testing.T) {
	got := render(t, func(b *bytes.Buffer) error { return JUnit(b, fixture()) })
	checkGolden(t, "fixture.junit.xml", got)
}

func TestJUnitParsesBack(t *testing.T) {
	doc := parseJUnit(t, render(t, func(b *bytes.Buffer) error { return JUnit(b, fixture()) }))
	if doc.Tests != 12 || doc.Failures != 2 || doc.Errors != 0 || doc.Skipped != 1 || len(doc.Suites) != 2 {
		t.Fatalf("totals tests=%d failures=%d errors=%d skipped=%d suites=%d, want 12 2 0 1 2",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped, len(doc.Suites))
	}
	if s := doc.Suites[0]; s.Name != "v2" || s.Time != 134.75 || s.Timestamp != "2026-11-26T01:00:00" {
		t.Errorf("suite 0 = %q time %v at %q", s.Name, s.Time, s.Timestamp)
	}
	for _, s := range doc.Suites {
		var fail, errs, skip int
		for _, c := range s.Cases {
			fail += btoi(c.Failure != nil)
			errs += btoi(c.Error != nil)
			skip += btoi(c.Skipped != nil)
		}
		if len(s.Cases) != s.Tests || fail != s.Failures || errs != s.Errors || skip != s.Skipped {
			t.Errorf("%s: attributes tests=%d failures=%d errors=%d skipped=%d, elements %d %d %d %d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), fail, errs, skip)
		}
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		if props["accel"] == "" || props["compiler"] != "clang 19.1.7" || !strings.HasPrefix(props["config_hash"], "cfg-") ||
			props["kernel"] != s.Name || !strings.HasPrefix(props["kernel_key"], "k-") {
			t.Errorf("%s: properties %v", s.Name, props)
		}
	}
	byName := map[string]ciCase{}
	for _, c := range doc.Suites[0].Cases {
		if c.Classname != "kcovlab.v2" {
			t.Errorf("%s: classname %q", c.Name, c.Classname)
		}
		byName[c.Name] = c
	}
	if c := byName["unique"]; c.Failure == nil || !strings.Contains(c.Failure.Text, hostile) || c.Failure.Type != "fail" {
		t.Errorf("unique: failure %+v lost the evidence", c.Failure)
	}
	if c := byName["kselftest/kcov.unique"]; c.Failure != nil || c.SystemOut == "" ||
		!strings.Contains(c.SystemOut, "expected failure: reads a bitmap word in unique mode") {
		t.Errorf("xfail case: %+v", c)
	}
	if c := byName["kselftest/kcov.remote"]; c.Failure == nil || !strings.Contains(c.Failure.Text, "got 0 PCs") {
		t.Errorf("failing case: %+v", c)
	}
	if c := byName["noise"]; c.Skipped == nil || c.Skipped.Message != "needs 2 vCPUs" {
		t.Errorf("skipped scenario: %+v", c)
	}
	if _, ok := byName["kselftest"]; ok {
		t.Error("a selftest whose failure a case explains also got a scenario testcase")
	}
}

// A rebuilt kernel (a new cache key, compiler or accelerator) is the same
// set of tests to a CI system: suite, class and test names stay; the key
// is a property. Each scenario's metrics are its testcase's properties.
func TestJUnitStableNamesAndMetrics(t *testing.T) {
	ids := func(r *results.Result) ([]string, map[string]map[string]string) {
		doc := parseJUnit(t, render(t, func(b *bytes.Buffer) error { return JUnit(b, []*results.Result{r}) }))
		var out []string
		props := map[string]map[string]string{}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				out = append(out, s.Name+"|"+c.Classname+"|"+c.Name)
				props[c.Name] = map[string]string{}
				for _, p := range c.Props {
					props[c.Name][p.Name] = p.Value
				}
			}
		}
		return out, props
	}
	old := fixtureV2()
	rebuilt := fixtureV2()
	rebuilt.Kernel.Key, rebuilt.Kernel.Compiler, rebuilt.Accel = "k-v2-ffffff", "clang 21.1.0", "tcg"
	a, props := ids(old)
	b, _ := ids(rebuilt)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("a rebuilt kernel changed the test identities:\n%q\n%q", a, b)
	}
	for _, id := range a {
		if strings.Contains(id, old.Kernel.Key) {
			t.Errorf("test identity %q holds the cache key", id)
		}
	}
	if got := props["smoke"]["pcs"]; got != "1234" {
		t.Errorf("smoke's pcs property = %q, want 1234 (all: %v)", got, props["smoke"])
	}
	if len(props["noise"]) != 0 {
		t.Errorf("a scenario without metrics got properties %v", props["noise"])
	}
}

func TestJUnitErrors(t *testing.T) {
	incomplete := fixtureV4()
	incomplete.Scenarios[2].Verdict = results.Error
	incomplete.Scenarios[2].Error = "selftest stopped after 3 of 5 cases kcov missing"
	tests := []struct {
		name     string
		run      *results.Result
		testcase string // the testcase carrying the error
		typ      string
		message  string
		tests    int
	}{
		{"boot failure", bootFailure(), "run", "boot", "boot: no login prompt after 60s", 1},
		{"incomplete selftest", incomplete, "kselftest", "error", "selftest stopped after 3 of 5 cases kcov missing", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseJUnit(t, render(t, func(b *bytes.Buffer) error { return JUnit(b, []*results.Result{tt.run}) }))
			s := doc.Suites[0]
			if s.Tests != tt.tests || s.Errors != 1 || doc.Errors != 1 {
				t.Fatalf("tests=%d errors=%d, want %d 1", s.Tests, s.Errors, tt.tests)
			}
			for _, c := range s.Cases {
				if c.Error == nil {
					continue
				}
				if c.Name != tt.testcase || c.Error.Type != tt.typ || c.Error.Message != tt.message {
					t.Errorf("error testcase %q type %q message %q", c.Name, c.Error.Type, c.Error.Message)
				}
			}
		})
	}
}

func TestWritersRejectNilRun(t *testing.T) {
	runs := []*results.Result{fixtureV2(), nil}
	writers := map[string]func() error{
		"JUnit": func() error { return JUnit(&bytes.Buffer{}, runs) },
		"KTAP":  func() error { return KTAP(&bytes.Buffer{}, runs) },
		"HTML":  func() error { return HTML(&bytes.Buffer{}, runs, HTMLOptions{}) },
		"Dir":   func() error { return WriteRunDir(t.TempDir(), runs) },
	}
	for name, write := range writers {
		var ie *InputError
		if err := write(); !errors.As(err, &ie) || ie.Index != 1 {
			t.Errorf("%s: err %v, want an InputError for run 1", name, err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestJUnitControlCharacters(t *testing.T) {
	r := fixtureV2()
	r.Scenarios[1].Evidence = []string{"console: \x1b[31mred\x1b[0m \x00 ]]> done"}
	doc := parseJUnit(t, render(t, func(b *bytes.Buffer) error { return JUnit(b, []*results.Result{r}) }))
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "unique" && (c.Failure == nil || !strings.Contains(c.Failure.Text, "red") || !strings.Contains(c.Failure.Text, "]]> done")) {
			t.Errorf("unique failure %+v", c.Failure)
		}
	}
}
