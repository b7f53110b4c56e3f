package mutants

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Text writes the report as a table a person reads: one row per mutant,
// what it breaks, which scenarios went red and the evidence, then the score.
func (r *Report) Text(w io.Writer) {
	base := "green"
	if !r.BaselineOK {
		base = "NOT GREEN: " + strings.Join(r.Baseline.Red, ", ") + " " + r.Baseline.Error
	}
	fmt.Fprintf(w, "mutation suite on series %s (scenarios: %s)\n", r.Series, strings.Join(r.Scenarios, ","))
	fmt.Fprintf(w, "clean kernel %s: %s\n\n", r.Series, base)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mutant\tinvariant\tjudged by\tred\tverdict\tevidence")
	for _, row := range r.Rows {
		red := strings.Join(row.Red, ",")
		if red == "" {
			red = "-"
		}
		ev := row.Evidence
		if row.Error != "" {
			ev = row.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Name, row.Invariant, strings.Join(row.KilledBy, ","), red, strings.ToUpper(row.Verdict), ev)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmutation score: %d/%d killed\n", r.Killed, r.Total)
	for _, row := range r.Rows {
		if row.Verdict != Killed {
			fmt.Fprintf(w, "  %s %s: %s\n", row.Name, strings.ToUpper(row.Verdict), row.Description)
		}
	}
	if r.Dir != "" {
		fmt.Fprintf(w, "results: %s\n", r.Dir)
	}
}
