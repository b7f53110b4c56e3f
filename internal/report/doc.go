// Package report turns kcovlab runs (result.json, see internal/results) into
// what people and CI read: JUnit XML for CI test views, KTAP for kernel
// tooling, one self-contained HTML page with inline SVG charts, a coloured
// terminal summary, and a comparison of two sets of runs for nightly jobs.
// An A/B comparison (compare.json, ABComparison) holds repeated runs of two
// kernels with per-metric statistics (CompareSamples: median, min..max and a
// Mann-Whitney U p-value from internal/stats), written as a plain-text table
// for mail and as compare.html with a strip plot per metric.
//
// A run is one kernel; its scenarios (and a kselftest's cases) become test
// cases. Every writer takes the runs in the order they should appear.
// WriteRunDir writes junit.xml, results.ktap and report.html into a run
// directory.
//
// It is plain Go (standard library plus golang.org/x/sys for IsTerminal) with
// no host requirements. go test -short ./internal/report/ checks the outputs
// against golden files in testdata/ (refresh them with -update); without
// -short, and when /usr/bin/chromium exists, a test also renders the HTML
// headless and checks that the bars were drawn.
package report
