// Package ktap reads the KTAP/TAP output of kernel selftests (kselftest.h and
// kselftest_harness.h print it) into one result per test case, and writes
// kcovlab's own results back as KTAP for tools that read it. Plain Go, no
// host requirements; go test -short ./internal/ktap/ covers it.
package ktap

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Status of one test case.
type Status string

// Statuses, from the result line and its directive.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Skip  Status = "skip"
	XFail Status = "xfail"
	// XPass is a case recorded as an expected failure that passed: the
	// defect it was expected for did not show (or is fixed). It is set by
	// whoever knows the expectation, never by Parse.
	XPass Status = "xpass"
	Todo  Status = "todo"
	Error Status = "error" // "Bail out!" or a plan that was not met
)

// Case is one top-level result line with the diagnostics printed before it.
type Case struct {
	Number    int      `json:"number"`
	Name      string   `json:"name"`
	Status    Status   `json:"status"`
	Directive string   `json:"directive,omitempty"`
	Diag      []string `json:"diag,omitempty"`
}

// Report is a parsed KTAP stream.
type Report struct {
	Version string `json:"version"`
	Planned int    `json:"planned"`
	// HasPlan is set when the stream printed a plan line ("1..N").
	HasPlan bool   `json:"has_plan"`
	Cases   []Case `json:"cases"`
	// Bailout holds the reason of a "Bail out!" line.
	Bailout string `json:"bailout,omitempty"`
}

var (
	versionRe = regexp.MustCompile(`^(K?TAP) version (\d+)`)
	planRe    = regexp.MustCompile(`^1\.\.(\d+)`)
	resultRe  = regexp.MustCompile(`^(not ok|ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$`)
)

// Parse reads a KTAP/TAP stream. Lines it does not know are kept as the next
// case's diagnostics; indented lines (subtests) count as diagnostics too.
func Parse(r io.Reader) (*Report, error) {
	rep := &Report{}
	var diag []string
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := strings.TrimRight(s.Text(), "\r")
		switch {
		case versionRe.MatchString(line) && rep.Version == "":
			m := versionRe.FindStringSubmatch(line)
			rep.Version = m[1] + " " + m[2]
		case planRe.MatchString(line) && !rep.HasPlan:
			rep.Planned, _ = strconv.Atoi(planRe.FindStringSubmatch(line)[1])
			rep.HasPlan = true
		case strings.HasPrefix(line, "Bail out!"):
			rep.Bailout = strings.TrimSpace(strings.TrimPrefix(line, "Bail out!"))
		case resultRe.MatchString(line):
			rep.Cases = append(rep.Cases, parseResult(line, diag))
			diag = nil
		default:
			if d := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#")); d != "" {
				diag = append(diag, d)
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if rep.Version == "" && len(rep.Cases) == 0 {
		return nil, fmt.Errorf("ktap: no TAP version line and no results")
	}
	return rep, nil
}

func parseResult(line string, diag []string) Case {
	m := resultRe.FindStringSubmatch(line)
	n, _ := strconv.Atoi(m[2])
	c := Case{Number: n, Name: strings.TrimSpace(m[3]), Directive: strings.TrimSpace(m[4]), Diag: diag}
	ok := m[1] == "ok"
	dir := strings.ToUpper(c.Directive)
	switch {
	case strings.HasPrefix(dir, "SKIP"):
		c.Status = Skip
	case strings.HasPrefix(dir, "XFAIL"):
		c.Status = XFail
	case strings.HasPrefix(dir, "TODO"):
		c.Status = Todo
	case ok:
		c.Status = Pass
	default:
		c.Status = Fail
	}
	return c
}

// Counts tallies the cases by status.
func (r *Report) Counts() map[Status]int {
	c := map[Status]int{}
	for _, tc := range r.Cases {
		c[tc.Status]++
	}
	return c
}

// Complete is true when the stream printed its plan and ran exactly the
// cases it planned, without bailing out. A stream with no plan is not
// complete: it may have stopped anywhere.
func (r *Report) Complete() bool {
	return r.Bailout == "" && r.HasPlan && len(r.Cases) == r.Planned
}

// Write emits r as KTAP version 1.
func Write(w io.Writer, r *Report) error {
	var b strings.Builder
	b.WriteString("KTAP version 1\n")
	fmt.Fprintf(&b, "1..%d\n", len(r.Cases))
	for i, c := range r.Cases {
		for _, d := range c.Diag {
			fmt.Fprintf(&b, "# %s\n", d)
		}
		word := "ok"
		if c.Status == Fail || c.Status == Error {
			word = "not ok"
		}
		fmt.Fprintf(&b, "%s %d %s", word, i+1, c.Name)
		switch {
		case c.Status == Skip:
			fmt.Fprintf(&b, " # SKIP %s", strings.TrimSpace(strings.TrimPrefix(c.Directive, "SKIP")))
		case c.Status == XFail:
			b.WriteString(" # XFAIL")
		case c.Status == XPass:
			b.WriteString(" # XPASS")
		case c.Status == Todo:
			b.WriteString(" # TODO")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
