package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// The JUnit schema CI systems read (Jenkins' junit.xsd, Surefire, GitLab,
// GitHub test reporters): element order inside testsuite and testcase matters.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		ID         int             `xml:"id,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Classname  string          `xml:"classname,attr"`
		Name       string          `xml:"name,attr"`
		Time       string          `xml:"time,attr"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Skipped    *junitMessage   `xml:"skipped"`
		Error      *junitMessage   `xml:"error"`
		Failure    *junitMessage   `xml:"failure"`
		SystemOut  string          `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr,omitempty"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// JUnit writes runs as JUnit XML: one testsuite per run, named by its
// kernel alone (CI systems key a test on suite, class and name, so a
// rebuilt kernel must not look like a new set of tests; the cache key,
// compiler and accelerator are the suite's properties), one testcase per
// scenario, or per case for a kselftest scenario ("scenario/case"), and a
// testcase "run" carrying the run's own error. A scenario's metrics are its
// testcase's properties (and in system-out). Failures carry the evidence,
// error and diagnostic lines; an expected kselftest failure (xfail) passes
// and says why in system-out.
func JUnit(w io.Writer, runs []*results.Result) error {
	if err := checkRuns(runs); err != nil {
		return err
	}
	doc := junitSuites{Name: "kcovlab"}
	var total float64
	for i, r := range runs {
		s := junitSuiteOf(r, i)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += runSeconds(r)
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(r *results.Result, id int) junitSuite {
	name := kernelName(r)
	its := items(r)
	c := countItems(its)
	s := junitSuite{
		Name:  name,
		Tests: c.Tests, Failures: c.Failures, Errors: c.Errors, Skipped: c.Skipped,
		Time: seconds(runSeconds(r)), ID: id, Properties: junitProperties(r),
	}
	if !r.Started.IsZero() {
		// Ant's schema wants a local ISO 8601 time without a zone: UTC.
		s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	// Dots would split the class name into Java-style packages in Jenkins.
	class := "kcovlab." + strings.ReplaceAll(name, ".", "_")
	for _, it := range its {
		s.Cases = append(s.Cases, junitCaseOf(class, it))
	}
	return s
}

func junitProperties(r *results.Result) []junitProperty {
	all := []junitProperty{
		{"accel", r.Accel},
		{"compiler", r.Kernel.Compiler},
		{"config_hash", r.Kernel.ConfigHash},
		{"kernel", r.Kernel.Name},
		{"kernel_key", r.Kernel.Key},
		{"source_id", r.Kernel.SourceID},
		{"series", r.Kernel.Series},
		{"run_id", r.RunID},
		{"lab_version", r.LabVersion},
	}
	var out []junitProperty
	for _, p := range all {
		if p.Value != "" {
			out = append(out, p)
		}
	}
	return out
}

func junitCaseOf(class string, it item) junitCase {
	tc := junitCase{Classname: class, Name: it.Name, Time: seconds(it.Seconds)}
	for _, k := range sortedKeys(it.Metrics) {
		tc.Properties = append(tc.Properties, junitProperty{k, formatNum(it.Metrics[k])})
	}
	msg := &junitMessage{Message: it.Message, Type: it.Kind, Text: text(it.Detail)}
	switch it.Status {
	case results.Fail:
		tc.Failure = msg
	case results.Error:
		tc.Error = msg
	case results.Skip:
		tc.Skipped = &junitMessage{Message: it.Message}
	}
	tc.SystemOut = text(it.Out)
	return tc
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

func text(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n")
}
