package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/internal/proc"
)

// Files WriteABDir writes.
const (
	ABJSONFile = "compare.json"
	ABHTMLFile = "compare.html"
)

// WriteABDir writes compare.json and compare.html into dir (created if
// missing), each through a temporary file and a rename.
func WriteABDir(dir string, c *ABComparison) error {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("report: compare.json: %w", err)
	}
	var page bytes.Buffer
	if err := ABHTML(&page, c); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &FileError{Path: dir, Err: err}
	}
	if err := writeFileAtomic(filepath.Join(dir, ABJSONFile), append(raw, '\n')); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ABHTMLFile), page.Bytes())
}

//go:embed compare.html.tmpl
var abPageSource string

var abPageTemplate = template.Must(template.New("compare").Parse(abPageSource))

// abPage is what compare.html.tmpl renders.
type abPage struct {
	Title, Subtitle, Legend, Note string
	Kernels                       []abKernelRow
	Header                        []string
	Rows                          []abMetricRow
	Charts                        []stripChart
	Samples                       []abSampleRow
	Command                       string
}

type abKernelRow struct {
	Side, Name, Key, Series, Source, Compiler, Accel string
	Verdicts                                         Verdicts
	Color                                            string
}

type abMetricRow struct {
	Cells       []string
	Significant bool
}

type abSampleRow struct {
	Seq, Round      int
	Side, Kernel    string
	RunID, Link     string
	Verdict, Detail string
	Class           string
	Data            bool
}

// ABHTML writes compare.html: one self-contained page (inline CSS and SVG,
// no scripts) with both kernels' identity, the metric table, each metric's
// two distributions as a strip plot (every run a dot, the median a bar)
// and every sample linked to its run's report.
func ABHTML(w io.Writer, c *ABComparison) error {
	p := abPage{
		Title: fmt.Sprintf("kcovlab compare: %s vs %s", c.A.Name, c.B.Name),
		Subtitle: fmt.Sprintf("%s %s, %d run(s) per kernel, %s; started %s", plural("scenario", len(c.Scenarios)),
			strings.Join(c.Scenarios, ","), c.Runs, c.Order, c.Started.UTC().Format("2006-01-02 15:04:05 UTC")),
		Legend: fmt.Sprintf("median and %s of each kernel's runs; delta = median B - median A; p = %s test; "+
			"significant (p < %s) rows first", c.Spread, c.Test, formatNum(c.Alpha)),
		Command: proc.Quote(c.Command),
	}
	for i, side := range []struct {
		label string
		k     *ABKernel
	}{{"A", &c.A}, {"B", &c.B}} {
		p.Kernels = append(p.Kernels, kernelRowOf(side.label, side.k, palette[i]))
		p.Samples = append(p.Samples, sampleRows(side.label, side.k)...)
	}
	slices.SortFunc(p.Samples, func(x, y abSampleRow) int { return cmp.Compare(x.Seq, y.Seq) })
	t := metricTable(c)
	p.Header = t.rows[0]
	for i, r := range t.rows[1:] {
		p.Rows = append(p.Rows, abMetricRow{Cells: r, Significant: t.bold[i+1]})
	}
	for _, m := range c.Metrics {
		if m.Both() {
			p.Charts = append(p.Charts, layoutStrip(m, c.A.Name, c.B.Name))
		}
	}
	if err := abPageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("compare html: %w", err)
	}
	return nil
}

func kernelRowOf(side string, k *ABKernel, color string) abKernelRow {
	series := firstOf(k.Kernel.Series, "none")
	if len(k.Kernel.Excluded) > 0 {
		series += fmt.Sprintf(" without %v", k.Kernel.Excluded)
	}
	return abKernelRow{Side: side, Name: k.Name, Key: k.Kernel.Key, Series: series, Source: k.Kernel.SourceID,
		Compiler: k.Kernel.Compiler, Accel: strings.Join(k.Accel, ","), Verdicts: k.Verdicts, Color: color}
}

func sampleRows(side string, k *ABKernel) []abSampleRow {
	var out []abSampleRow
	for _, s := range k.Samples {
		r := abSampleRow{Seq: s.Seq, Round: s.Round, Side: side, Kernel: k.Name, RunID: s.RunID,
			Verdict: strings.ToUpper(s.Verdict), Detail: firstLine(s.Error), Data: s.Data}
		r.Class = verdictCell(s.Verdict, "").Class
		if s.Verdict == Unfinished {
			r.Class, r.Verdict = "v-error", strings.ToUpper(firstOf(s.ErrorKind, Unfinished))
		}
		if s.Dir != "" {
			r.Link = path.Join(filepath.ToSlash(s.Dir), HTMLFile)
		}
		out = append(out, r)
	}
	return out
}

// stripChart is a laid out strip plot of one metric: a row per kernel,
// a dot per run, the median as a bar across the row.
type stripChart struct {
	Name, Title   string
	Width, Height float64
	Lines         []svgLine
	Dots          []svgDot
	Texts         []svgText
}

type svgDot struct {
	X, Y, R float64
	Fill    string
	Title   string
}

// Layout of a strip plot, in pixels.
const (
	stripLabel  = 140 // kernel names left of the plot
	stripValues = 170 // the median and n right of the plot
	stripPlot   = chartWidth - stripLabel - stripValues
	stripRow    = 34
	stripDot    = 4
)

func layoutStrip(m MetricStat, nameA, nameB string) stripChart {
	lo, hi, ticks := stripAxis(math.Min(m.A.Min, m.B.Min), math.Max(m.A.Max, m.B.Max))
	x := func(v float64) float64 { return round1(stripLabel + (v-lo)/(hi-lo)*stripPlot) }
	title := m.Label()
	if m.P != nil {
		title += fmt.Sprintf(" (p = %s, delta %s)", formatP(*m.P), signed(*m.Delta))
	}
	out := stripChart{Name: m.Label(), Title: title, Width: chartWidth}
	out.Texts = append(out.Texts, svgText{X: 8, Y: 18, Anchor: "start", Class: "title", Text: title})
	top := float64(chartTop)
	for i, s := range []*MetricSample{m.A, m.B} {
		name := []string{"A " + nameA, "B " + nameB}[i]
		y := top + float64(i)*stripRow + stripRow/2
		fill := palette[i]
		out.Texts = append(out.Texts, svgText{X: stripLabel - 8, Y: y + 4, Anchor: "end", Class: "series", Text: name})
		out.Lines = append(out.Lines,
			svgLine{X1: x(s.Min), Y1: y, X2: x(s.Max), Y2: y, Class: "range"},
			svgLine{X1: x(s.Median), Y1: y - stripRow/2 + 3, X2: x(s.Median), Y2: y + stripRow/2 - 3, Class: "median"})
		seen := map[float64]int{}
		for j, v := range s.Values {
			k := seen[x(v)]
			seen[x(v)]++
			// Equal values stack: 0, -1, +1, -2, +2 dot radii off the row.
			off := float64((k+1)/2) * stripDot * 1.2
			if k%2 == 1 {
				off = -off
			}
			out.Dots = append(out.Dots, svgDot{X: x(v), Y: y + math.Max(-12, math.Min(12, off)), R: stripDot,
				Fill: fill, Title: fmt.Sprintf("%s run %s: %s", name, firstOf(s.RunIDs[j], "?"), formatNum(v))})
		}
		out.Texts = append(out.Texts, svgText{X: stripLabel + stripPlot + 10, Y: y + 4, Anchor: "start", Class: "value",
			Text: fmt.Sprintf("median %s, n=%d", formatNum(s.Median), s.N)})
	}
	bottom := top + 2*stripRow
	out.Lines = append(out.Lines, svgLine{X1: stripLabel, Y1: bottom, X2: stripLabel + stripPlot, Y2: bottom, Class: "axis"})
	for _, t := range ticks {
		out.Lines = append(out.Lines, svgLine{X1: x(t), Y1: top, X2: x(t), Y2: bottom + 4, Class: "grid"})
		out.Texts = append(out.Texts, svgText{X: x(t), Y: bottom + 16, Anchor: "middle", Class: "tick", Text: formatNum(t)})
	}
	out.Height = bottom + 26
	return out
}

// stripAxis widens [lo, hi] to round ticks at both ends; a single value
// gets room around it.
func stripAxis(lo, hi float64) (float64, float64, []float64) {
	if hi <= lo {
		pad := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-pad, hi+pad
	}
	step := niceStep((hi - lo) / 4)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	var ticks []float64
	for i := 0; i <= 12; i++ {
		t := lo + float64(i)*step
		if t > hi+step/2 {
			break
		}
		ticks = append(ticks, t)
	}
	return lo, hi, ticks
}
