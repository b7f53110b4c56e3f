package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
)

func TestHTMLGolden(t *testing.T) {
	opts := HTMLOptions{Title: "kcovlab nightly", Generated: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
	got := render(t, func(b *bytes.Buffer) error { return HTML(b, fixture(), opts) })
	checkGolden(t, "fixture.html", got)
}

// remote matches anything that would make a browser fetch: src/href to
// another origin, CSS url() and @import.
var remote = regexp.MustCompile(`(?i)(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:|//)|url\s*\(|@import`)

func TestHTMLSelfContained(t *testing.T) {
	html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, fixture(), HTMLOptions{}) }))
	if m := remote.FindString(html); m != "" {
		t.Errorf("the page fetches something: %q", m)
	}
	for _, bad := range []string{"http://", "https://", "<script", "<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if !strings.Contains(html, "&lt;b&gt;&#34;dup&#34; &amp; &#39;PC&#39;&lt;/b&gt;") {
		t.Error("the hostile evidence is not in the page, escaped")
	}
}

func TestHTMLCharts(t *testing.T) {
	tests := []struct {
		name         string
		runs         []*results.Result
		minKernels   int
		charts, bars int
		want         []string // data-chart names that must be there
		notWant      []string
	}{
		{
			// stages: 6 stages x 2 kernels; smoke: pcs 2, trace_words 2x2,
			// unique_words 2x2; unique: duplicates, errno, pcs (bitmap_bits
			// only in v4); kselftest: pass, xfail (fail only in v2);
			// noise: only v4 reports metrics.
			name: "two kernels", runs: fixture(), charts: 9, bars: 12 + 10 + 6 + 4,
			want:    []string{"stages", "smoke:trace_words", "smoke:unique_words", "unique:pcs", "kselftest:xfail"},
			notWant: []string{"unique:bitmap_bits", "kselftest:fail", "noise:runs"},
		},
		{
			name: "single kernel charts", runs: fixture(), minKernels: 1, charts: 12, bars: 32 + 1 + 1 + 2,
			want: []string{"unique:bitmap_bits", "kselftest:fail", "noise:runs"},
		},
		// A single run's report charts its own metrics by default.
		{name: "one run, default", runs: fixture()[:1], charts: 10, bars: 17, want: []string{"stages", "smoke:trace_words"}},
		{name: "boot failure", runs: []*results.Result{bootFailure()}, charts: 1, bars: 2},
		{name: "nothing", runs: nil, charts: 0, bars: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := HTMLOptions{MinKernels: tt.minKernels}
			html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, tt.runs, opts) }))
			if n := strings.Count(html, `<svg class="chart"`); n != tt.charts {
				t.Errorf("%d charts, want %d", n, tt.charts)
			}
			if n := strings.Count(html, `<rect class="bar"`); n != tt.bars {
				t.Errorf("%d bars, want %d", n, tt.bars)
			}
			for _, name := range tt.want {
				if !strings.Contains(html, `data-chart="`+name+`"`) {
					t.Errorf("no chart %q", name)
				}
			}
			for _, name := range tt.notWant {
				if strings.Contains(html, `data-chart="`+name+`"`) {
					t.Errorf("chart %q is there; only one kernel reports it", name)
				}
			}
		})
	}
}

func TestHTMLTables(t *testing.T) {
	html := string(render(t, func(b *bytes.Buffer) error { return HTML(b, fixture(), HTMLOptions{}) }))
	for _, want := range []string{
		`<td class="v-fail" title="KCOV_UNIQUE_ENABLE(4096) on a unique kernel: success, want success">FAIL</td>`,
		`<td class="v-skip" title="needs 2 vCPUs">SKIP</td>`,
		`<code>k-v4-4d5e6f</code>`, `<td>tcg</td>`,
		`<th><code>kcov.remote</code></th>`,
		`expected: reads a bitmap word in unique mode`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestAxisTicks(t *testing.T) {
	tests := []struct {
		max   float64
		ticks []float64
	}{
		{0, []float64{0, 1}},
		{1, []float64{0, 0.5, 1}},
		{134.75, []float64{0, 50, 100, 150}},
		{1234, []float64{0, 500, 1000, 1500}},
		{3, []float64{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		got, top := axisTicks(tt.max)
		if len(got) != len(tt.ticks) || top != tt.ticks[len(tt.ticks)-1] {
			t.Errorf("axisTicks(%v) = %v, %v; want %v", tt.max, got, top, tt.ticks)
			continue
		}
		for i := range got {
			if got[i] != tt.ticks[i] {
				t.Errorf("axisTicks(%v) = %v, want %v", tt.max, got, tt.ticks)
				break
			}
		}
	}
}

func TestFormatNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{{0, "0"}, {1234, "1234"}, {134.75, "134.75"}, {0.5, "0.5"}, {0.0004567, "0.000457"}, {-3, "-3"}, {2.10, "2.1"}}
	for _, tt := range tests {
		if got := formatNum(tt.in); got != tt.want {
			t.Errorf("formatNum(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
