package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// palette colours the kernels, the same kernel the same colour in every chart.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// chartData is a horizontal bar chart before layout: for each group (a stage,
// a metric's suffix) one bar per series (kernel).
type chartData struct {
	Name   string // data-chart: "stages" or "scenario:metric"
	Title  string
	Axis   string // the x axis label
	Unit   string // appended to the values
	Series []string
	Groups []chartGroup
}

type chartGroup struct {
	Label  string
	Values []float64 // one per series
	Has    []bool    // whether the series reported the value
}

// stageChart charts every stage of every run, in the order they first appear.
func stageChart(runs []*results.Result, series []string) *chartData {
	var names []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, s := range r.Stages {
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	c := &chartData{Name: "stages", Title: "stage timings", Axis: "seconds", Unit: " s", Series: series}
	for _, n := range names {
		g := newGroup(n, len(runs))
		for i, r := range runs {
			v, ok := r.Stage(n)
			g.set(i, v, ok)
		}
		c.Groups = append(c.Groups, g)
	}
	return c
}

// metricCharts makes, for one scenario, a chart per metric reported by at
// least minKernels runs. Metrics named "prefix/suffix" share the prefix's
// chart, one group per suffix.
func metricCharts(scenario string, runs []*results.Result, series []string, minKernels int) []*chartData {
	metrics := make([]map[string]float64, len(runs))
	prefixes := map[string]map[string]bool{} // prefix -> suffixes
	reporters := map[string]int{}            // prefix -> runs that report it
	for i, r := range runs {
		s := findScenario(r, scenario)
		if s == nil {
			continue
		}
		metrics[i] = s.Metrics
		mine := map[string]bool{}
		for k, v := range s.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			p, suffix, _ := strings.Cut(k, "/")
			if prefixes[p] == nil {
				prefixes[p] = map[string]bool{}
			}
			prefixes[p][suffix] = true
			if !mine[p] {
				mine[p] = true
				reporters[p]++
			}
		}
	}
	var out []*chartData
	for _, p := range sortedKeys(prefixes) {
		if reporters[p] < minKernels {
			continue
		}
		c := &chartData{Name: scenario + ":" + p, Title: scenario + ": " + p, Axis: p, Series: series}
		suffixes := sortedKeys(prefixes[p]) // "" (the bare metric) sorts first
		for _, suffix := range suffixes {
			key, label := p, ""
			if suffix != "" {
				key, label = p+"/"+suffix, suffix
			} else if len(suffixes) > 1 {
				label = p
			}
			g := newGroup(label, len(runs))
			for i, m := range metrics {
				v, ok := m[key]
				g.set(i, v, ok && !math.IsNaN(v) && !math.IsInf(v, 0))
			}
			c.Groups = append(c.Groups, g)
		}
		out = append(out, c)
	}
	return out
}

func newGroup(label string, n int) chartGroup {
	return chartGroup{Label: label, Values: make([]float64, n), Has: make([]bool, n)}
}

func (g chartGroup) set(i int, v float64, ok bool) { g.Values[i], g.Has[i] = v, ok }

func findScenario(r *results.Result, name string) *results.Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// svgChart is a laid out chart: everything the template draws, in pixels.
type svgChart struct {
	Name, Title   string
	Width, Height float64
	Lines         []svgLine
	Bars          []svgBar
	Texts         []svgText
}

type svgLine struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

type svgBar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type svgText struct {
	X, Y   float64
	Anchor string // start, middle, end
	Class  string
	Text   string
}

// Layout of a chart, in pixels.
const (
	chartWidth  = 760
	labelWidth  = 170 // group and kernel labels left of the bars
	valueRoom   = 80  // value text right of the longest bar
	plotWidth   = chartWidth - labelWidth - valueRoom
	chartTop    = 30
	barHeight   = 16
	barGap      = 4
	groupGap    = 10
	groupHeader = 18
)

// layout places the bars, labels, values and the x axis of c.
func layout(c *chartData) svgChart {
	ticks, top := axisTicks(c.max())
	out := svgChart{Name: c.Name, Title: c.Title, Width: chartWidth}
	out.Texts = append(out.Texts, svgText{X: 8, Y: 18, Anchor: "start", Class: "title", Text: c.Title})
	y := float64(chartTop)
	for _, g := range c.Groups {
		if g.Label != "" {
			out.Texts = append(out.Texts, svgText{X: 8, Y: y + 13, Anchor: "start", Class: "group", Text: g.Label})
			y += groupHeader
		}
		for i, name := range c.Series {
			out.Texts = append(out.Texts, svgText{X: labelWidth - 6, Y: y + 12, Anchor: "end", Class: "series", Text: name})
			value := "n/a"
			w := 0.0
			if g.Has[i] {
				w = round1(math.Abs(g.Values[i]) / top * plotWidth)
				value = formatNum(g.Values[i]) + c.Unit
				out.Bars = append(out.Bars, svgBar{X: labelWidth, Y: y, W: w, H: barHeight,
					Fill: palette[i%len(palette)], Title: name + " " + strings.TrimSpace(g.Label+" "+value)})
			}
			out.Texts = append(out.Texts, svgText{X: labelWidth + w + 4, Y: y + 12, Anchor: "start", Class: "value", Text: value})
			y += barHeight + barGap
		}
		y += groupGap
	}
	out.Lines = append(out.Lines, svgLine{X1: labelWidth, Y1: chartTop - 4, X2: labelWidth, Y2: y, Class: "axis"},
		svgLine{X1: labelWidth, Y1: y, X2: labelWidth + plotWidth, Y2: y, Class: "axis"})
	for _, t := range ticks {
		x := round1(labelWidth + t/top*plotWidth)
		out.Lines = append(out.Lines, svgLine{X1: x, Y1: chartTop - 4, X2: x, Y2: y + 4, Class: "grid"})
		out.Texts = append(out.Texts, svgText{X: x, Y: y + 16, Anchor: "middle", Class: "tick", Text: formatNum(t)})
	}
	out.Texts = append(out.Texts, svgText{X: labelWidth + plotWidth/2, Y: y + 34, Anchor: "middle", Class: "axis-label", Text: c.Axis})
	out.Height = y + 42
	return out
}

func (c *chartData) max() float64 {
	m := 0.0
	for _, g := range c.Groups {
		for i, v := range g.Values {
			if g.Has[i] {
				m = math.Max(m, math.Abs(v))
			}
		}
	}
	return m
}

// axisTicks returns round tick values from 0 to at least max, and the last
// one, which the bars are scaled to.
func axisTicks(max float64) ([]float64, float64) {
	if max <= 0 {
		return []float64{0, 1}, 1
	}
	step := niceStep(max / 4)
	var ticks []float64
	for i := 0; ; i++ {
		t := float64(i) * step
		ticks = append(ticks, t)
		if t >= max || i >= 10 {
			return ticks, t
		}
	}
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// seriesLabels names each run's kernel, made unique for runs of the same
// kernel by their run id.
func seriesLabels(runs []*results.Result) []string {
	n := map[string]int{}
	for _, r := range runs {
		n[kernelName(r)]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = kernelName(r)
		if n[out[i]] > 1 {
			out[i] += " (" + firstOf(r.RunID, "run "+strconv.Itoa(i+1)) + ")"
		}
	}
	return out
}

// scenarioNames lists the scenarios of all runs in the order they first appear.
func scenarioNames(runs []*results.Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, s := range r.Scenarios {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s.Name)
			}
		}
	}
	return out
}
