package report

import (
	"io"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/internal/ktap"
	"github.com/kcovlab/kcovlab/internal/results"
)

// KTAP writes runs as one flat KTAP version 1 stream, one result line per
// test case named "kernel/scenario" (or "kernel/scenario/case"), with the
// evidence and diagnostics as "#" lines before it. An expected failure is
// "ok ... # XFAIL" preceded by "# expected failure: why".
func KTAP(w io.Writer, runs []*results.Result) error {
	if err := checkRuns(runs); err != nil {
		return err
	}
	rep := &ktap.Report{Version: "KTAP 1"}
	for _, r := range runs {
		kernel := kernelName(r)
		for _, it := range items(r) {
			rep.Cases = append(rep.Cases, ktapCase(kernel, it))
		}
	}
	rep.Planned = len(rep.Cases)
	return ktap.Write(w, rep)
}

func ktapCase(kernel string, it item) ktap.Case {
	c := ktap.Case{Name: ktapName(kernel + "/" + it.Name), Status: ktap.Status(it.Status)}
	switch it.Status {
	case results.Pass:
		c.Diag = it.Out
	case XFail, XPass:
		c.Diag = it.Out
	case results.Skip:
		// ktap.Write prints "# SKIP <reason>"; keep the reason on one line.
		c.Directive = "SKIP " + ktapName(firstOf(it.Message, "skipped"))
	default:
		c.Diag = it.Detail
		if !slices.Contains(it.Detail, it.Message) {
			c.Diag = append([]string{it.Message}, it.Detail...)
		}
	}
	c.Diag = ktapDiag(c.Diag)
	return c
}

// ktapName keeps a name on its result line: "#" would start a directive.
func ktapName(s string) string {
	return strings.NewReplacer("#", "_", "\n", " ", "\r", " ").Replace(s)
}

// ktapDiag splits multi-line diagnostics and drops empty ones, so each
// becomes one "# ..." line.
func ktapDiag(in []string) []string {
	var out []string
	for _, d := range in {
		for _, l := range strings.Split(d, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}
