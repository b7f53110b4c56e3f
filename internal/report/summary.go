package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kcovlab/kcovlab/internal/results"
)

// summaryMetrics is how many metrics a summary line shows before "+N more".
const summaryMetrics = 8

// ANSI colours of the verdicts.
var verdictColor = map[string]string{
	results.Pass:  "\x1b[32m",   // green
	results.Fail:  "\x1b[1;31m", // bold red
	results.Error: "\x1b[1;35m", // bold magenta
	results.Skip:  "\x1b[33m",   // yellow
}

const colorReset = "\x1b[0m"

// Summary writes one line per kernel and scenario: kernel, scenario, verdict,
// then why it did not pass and its metrics; a run that stopped early gets a
// "run" line with its error. Verdicts are coloured only when color is true
// (see IsTerminal). Nil runs are skipped.
func Summary(w io.Writer, runs []*results.Result, color bool) {
	type line struct{ kernel, name, verdict, detail string }
	var ls []line
	kw, nw := 0, 0
	for _, r := range runs {
		if r == nil {
			continue
		}
		k := printable(kernelName(r))
		for _, s := range r.Scenarios {
			ls = append(ls, line{k, printable(s.Name), s.Verdict, printable(summaryDetail(s))})
		}
		if r.Error != "" {
			ls = append(ls, line{k, RunItem, results.Error, printable(runError(r))})
		}
	}
	for _, l := range ls {
		kw, nw = max(kw, utf8.RuneCountInString(l.kernel)), max(nw, utf8.RuneCountInString(l.name))
	}
	for _, l := range ls {
		v := fmt.Sprintf("%-5s", printable(strings.ToUpper(l.verdict)))
		if c, ok := verdictColor[l.verdict]; ok && color {
			v = c + v + colorReset
		}
		out := pad(l.kernel, kw) + "  " + pad(l.name, nw) + "  " + v + "  " + l.detail
		fmt.Fprintln(w, strings.TrimRight(out, " "))
	}
}

// summaryDetail is why a scenario did not pass, then its metrics.
func summaryDetail(s results.Scenario) string {
	var parts []string
	var xpass []string
	for _, c := range s.Cases {
		if c.Status == XPass {
			xpass = append(xpass, c.Name)
		}
	}
	if len(xpass) > 0 {
		parts = append(parts, "XPASS (expected to fail, passed): "+strings.Join(xpass, ", "))
	}
	if s.Verdict != results.Pass {
		if why := firstOf(firstLine(s.Error), first(s.Evidence)); why != "" {
			parts = append(parts, why)
		}
	}
	m := metricLines(s.Metrics)
	if len(m) > summaryMetrics {
		m = append(m[:summaryMetrics], fmt.Sprintf("+%d more", len(m)-summaryMetrics))
	}
	if len(m) > 0 {
		parts = append(parts, strings.Join(m, " "))
	}
	return strings.Join(parts, "; ")
}

// printable replaces control characters (escape sequences from a guest's
// output) so that only Summary's own colours reach the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
}
