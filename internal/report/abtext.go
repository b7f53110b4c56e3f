package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/internal/stats"
)

// WriteText writes c for people, plain and fixed-width so that it can be
// pasted into a mail: both kernels' identity and run verdicts, what the
// numbers mean, one table row per metric (significant ones first, marked
// "*") and the command that reruns the comparison. Only with color are the
// significant rows bold.
func (c *ABComparison) WriteText(w io.Writer, color bool) {
	fmt.Fprintf(w, "compare: %s %s, %d run(s) per kernel, %s on one machine\n",
		plural("scenario", len(c.Scenarios)), printable(strings.Join(c.Scenarios, ",")), c.Runs, c.Order)
	width := max(utf8.RuneCountInString(c.A.Name), utf8.RuneCountInString(c.B.Name))
	if warn := c.SetupWarning(); warn != "" {
		fmt.Fprintf(w, "\n%s\n\n", warn)
	}
	writeKernel(w, "A", &c.A, width)
	writeKernel(w, "B", &c.B, width)
	fmt.Fprintf(w, "\nmedian and %s of each kernel's runs; delta = median B - median A;\n", c.Spread)
	fmt.Fprintf(w, "p = %s test, * p < %s\n", c.Test, formatNum(c.Alpha))
	if na, nb := c.A.Verdicts.data(), c.B.Verdicts.data(); na > 0 && nb > 0 && stats.MinP(na, nb) >= c.Alpha {
		fmt.Fprintf(w, "note: with %d and %d runs no p can fall below %s (the smallest is %s); use --runs 4 or more\n",
			na, nb, formatNum(c.Alpha), formatP(stats.MinP(na, nb)))
	}
	fmt.Fprintln(w)
	if len(c.Metrics) == 0 {
		fmt.Fprintln(w, "no metrics: no run of either kernel finished a scenario with pass or fail")
	} else {
		metricTable(c).write(w, color)
	}
	fmt.Fprintf(w, "\nrerun: %s\n", printable(proc.Quote(c.Command)))
}

// data is how many runs can hold metrics: those that finished with pass or fail.
func (v Verdicts) data() int { return v.Pass + v.Fail }

// writeKernel writes a kernel's identity, its verdict counts and why runs
// did not pass; width aligns the two kernels' names.
func writeKernel(w io.Writer, label string, k *ABKernel, width int) {
	id := k.Kernel
	series := firstOf(id.Series, "none")
	if len(id.Excluded) > 0 {
		series += fmt.Sprintf(" without %v", id.Excluded)
	}
	fmt.Fprintf(w, "%s  %s  key %s  series %s  accel %s\n", label, pad(printable(k.Name), width),
		printable(firstOf(id.Key, "?")), printable(series), printable(firstOf(strings.Join(k.Accel, ","), "?")))
	fmt.Fprintf(w, "   source %s\n", printable(firstOf(id.SourceID, "?")))
	fmt.Fprintf(w, "   compiler %s\n", printable(firstOf(id.Compiler, "?")))
	v := k.Verdicts
	fmt.Fprintf(w, "   runs: %d pass, %d fail, %d error, %d skip, %d unfinished\n", v.Pass, v.Fail, v.Error, v.Skip, v.Unfinished)
	for _, s := range k.Samples {
		if s.Error != "" {
			fmt.Fprintf(w, "   run #%d (round %d) %s: %s\n", s.Seq, s.Round, firstOf(s.ErrorKind, s.Verdict), printable(firstLine(s.Error)))
		}
	}
}

// metricTable lays out one row per metric.
func metricTable(c *ABComparison) *textTable {
	t := &textTable{right: []bool{false, true, false, true, false, true, true, true, false}}
	t.add(false, "metric", "A median", "A "+c.Spread, "B median", "B "+c.Spread, "delta", "delta %", "p", "")
	one := len(c.Scenarios) == 1
	for _, m := range c.Metrics {
		name := m.Label()
		if one && m.Scenario == c.Scenarios[0] {
			name = m.Metric
		}
		aMed, aSpread := sampleCells(m.A)
		bMed, bSpread := sampleCells(m.B)
		delta, pct, p, mark := "-", "-", "-", ""
		if m.Delta != nil {
			delta = signed(*m.Delta)
		}
		if m.DeltaPct != nil {
			pct = formatPct(*m.DeltaPct)
		}
		if m.P != nil {
			p = formatP(*m.P)
		}
		if m.Significant {
			mark = "*"
		}
		t.add(m.Significant, printable(name), aMed, aSpread, bMed, bSpread, delta, pct, p, mark)
	}
	return t
}

func sampleCells(s *MetricSample) (string, string) {
	if s == nil {
		return "-", "-"
	}
	return formatNum(s.Median), formatNum(s.Min) + ".." + formatNum(s.Max)
}

func signed(v float64) string {
	if v > 0 {
		return "+" + formatNum(v)
	}
	return formatNum(v)
}

// formatPct prints a change in percent with one decimal and its sign.
func formatPct(pct float64) string {
	s := fmt.Sprintf("%+.1f%%", pct)
	if s == "+0.0%" || s == "-0.0%" {
		return "0.0%"
	}
	return s
}

// formatP prints a p-value with two significant digits.
func formatP(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// textTable is a fixed-width table: a header row, a rule, then the rows.
type textTable struct {
	right []bool // right-align the column
	rows  [][]string
	bold  []bool
}

func (t *textTable) add(bold bool, cells ...string) {
	t.rows = append(t.rows, cells)
	t.bold = append(t.bold, bold)
}

func (t *textTable) write(w io.Writer, color bool) {
	width := make([]int, len(t.right))
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			fill := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				b.WriteString(fill + c)
			} else {
				b.WriteString(c + fill)
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	for i, r := range t.rows {
		l := line(r)
		if color && t.bold[i] {
			l = "\x1b[1m" + l + colorReset
		}
		fmt.Fprintln(w, l)
		if i == 0 {
			rule := make([]string, len(width))
			for j, n := range width {
				rule[j] = strings.Repeat("-", n)
			}
			fmt.Fprintln(w, line(rule))
		}
	}
}
