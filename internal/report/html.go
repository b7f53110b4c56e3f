package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
)

// HTMLOptions configure HTML.
type HTMLOptions struct {
	// Title heads the page; empty means "kcovlab report".
	Title string
	// Generated is printed under the title when set.
	Generated time.Time
	// MinKernels is how many kernels must report a scenario's metric for it
	// to get a chart; 0 means 2 (1 for a single run), so charts compare
	// kernels side by side.
	MinKernels int
}

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(pageSource))

// page is what report.html.tmpl renders.
type page struct {
	Title, Generated string
	Totals           string
	Scenarios        []string
	Rows             []kernelRow
	Stages           *svgChart
	Metrics          []scenarioCharts
	Cases            []caseTable
	Problems         []problem
}

type kernelRow struct {
	Kernel, Key, Compiler, Accel, RunID string
	Cells                               []cell
	Error                               string // the run's own error, first line
}

type cell struct {
	Text, Class, Title string
}

type scenarioCharts struct {
	Scenario string
	Charts   []svgChart
}

type caseTable struct {
	Scenario string
	Kernels  []string
	Rows     []caseRow
}

type caseRow struct {
	Name  string
	Cells []caseCell
}

type caseCell struct {
	cell
	Known string
	Diag  []string
}

type problem struct {
	Kernel, Name, Verdict, Class string
	Lines                        []string
}

// HTML writes one self-contained page: no scripts and nothing fetched, only
// inline CSS and SVG. It holds a kernel x scenario verdict table, a chart of
// the stage timings, a chart per scenario metric that several kernels report
// (kernels side by side), the kselftest cases and the failure evidence.
func HTML(w io.Writer, runs []*results.Result, opts HTMLOptions) error {
	if err := checkRuns(runs); err != nil {
		return err
	}
	if err := pageTemplate.Execute(w, buildPage(runs, opts)); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

func buildPage(runs []*results.Result, opts HTMLOptions) *page {
	p := &page{Title: firstOf(opts.Title, "kcovlab report"), Scenarios: scenarioNames(runs)}
	if !opts.Generated.IsZero() {
		p.Generated = opts.Generated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	series := seriesLabels(runs)
	var tally [5]int // pass, fail, error, skip, other
	for i, r := range runs {
		row := kernelRow{Kernel: series[i], Key: r.Kernel.Key, Compiler: r.Kernel.Compiler,
			Accel: r.Accel, RunID: r.RunID}
		if r.Error != "" {
			row.Error = runError(r)
		}
		for _, name := range p.Scenarios {
			c := cell{Text: "—", Class: "v-none", Title: "not run"}
			if s := findScenario(r, name); s != nil {
				c = verdictCell(s.Verdict, firstOf(firstLine(s.Error), first(s.Evidence)))
				tally[verdictIndex(s.Verdict)]++
			}
			row.Cells = append(row.Cells, c)
		}
		p.Rows = append(p.Rows, row)
		p.Problems = append(p.Problems, problems(series[i], r)...)
	}
	p.Totals = fmt.Sprintf("%d kernel(s): %d pass, %d fail, %d error, %d skip",
		len(runs), tally[0], tally[1], tally[2], tally[3])
	if c := stageChart(runs, series); c != nil {
		l := layout(c)
		p.Stages = &l
	}
	minKernels := opts.MinKernels
	if minKernels <= 0 {
		// Across kernels, chart what two of them share; a single run's
		// report charts its own metrics.
		minKernels = min(2, len(runs))
	}
	for _, name := range p.Scenarios {
		sc := scenarioCharts{Scenario: name}
		for _, c := range metricCharts(name, runs, series, minKernels) {
			sc.Charts = append(sc.Charts, layout(c))
		}
		if len(sc.Charts) > 0 {
			p.Metrics = append(p.Metrics, sc)
		}
		if t, ok := buildCaseTable(name, runs, series); ok {
			p.Cases = append(p.Cases, t)
		}
	}
	return p
}

func verdictIndex(v string) int {
	switch v {
	case results.Pass:
		return 0
	case results.Fail:
		return 1
	case results.Error:
		return 2
	case results.Skip:
		return 3
	}
	return 4
}

// verdictCell colours a verdict or case status. The class comes from a fixed
// set, never from the input.
func verdictCell(v, title string) cell {
	class := map[string]string{results.Pass: "v-pass", results.Fail: "v-fail",
		results.Error: "v-error", results.Skip: "v-skip", XFail: "v-xfail", XPass: "v-xpass"}[v]
	if class == "" {
		class = "v-unknown"
	}
	return cell{Text: strings.ToUpper(firstOf(v, "?")), Class: class, Title: title}
}

// buildCaseTable lays out a selftest's cases: one row per case, one column
// per kernel.
func buildCaseTable(scenario string, runs []*results.Result, series []string) (caseTable, bool) {
	t := caseTable{Scenario: scenario, Kernels: series}
	index := map[string]int{}
	for i, r := range runs {
		s := findScenario(r, scenario)
		if s == nil {
			continue
		}
		for _, c := range s.Cases {
			row, ok := index[c.Name]
			if !ok {
				row = len(t.Rows)
				index[c.Name] = row
				cells := make([]caseCell, len(runs))
				for j := range cells {
					cells[j].cell = cell{Text: "—", Class: "v-none", Title: "not run"}
				}
				t.Rows = append(t.Rows, caseRow{Name: c.Name, Cells: cells})
			}
			t.Rows[row].Cells[i] = caseCell{cell: verdictCell(c.Status, first(c.Diag)), Known: c.Known, Diag: c.Diag}
		}
	}
	return t, len(t.Rows) > 0
}

// problems lists what a reader has to look at for one run: failing and
// erroring scenarios with their evidence, and the run's own error.
func problems(kernel string, r *results.Result) []problem {
	var out []problem
	for _, s := range r.Scenarios {
		if s.Verdict == results.Pass || s.Verdict == results.Skip {
			continue
		}
		c := verdictCell(s.Verdict, "")
		ls := append(append([]string(nil), s.Evidence...), lines(s.Error)...)
		for _, tc := range s.Cases {
			if tc.Status == results.Fail || tc.Status == results.Error {
				ls = append(ls, tc.Name+": "+strings.ToUpper(tc.Status))
				for _, d := range tc.Diag {
					ls = append(ls, "  "+d)
				}
			}
		}
		out = append(out, problem{Kernel: kernel, Name: s.Name, Verdict: c.Text, Class: c.Class, Lines: ls})
	}
	if r.Error != "" {
		out = append(out, problem{Kernel: kernel, Name: RunItem, Verdict: strings.ToUpper(firstOf(r.ErrorKind, "error")),
			Class: "v-error", Lines: lines(r.Error)})
	}
	return out
}
