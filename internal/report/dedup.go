package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
)

// Dedup writes the lines that answer "does dedup work" for each run that
// ran the series' scenarios: the overflow scenario's corpus in trace mode
// against unique mode, the unique scenario's trace records against its
// bitmap bits, what KCOV_RESET_TRACE gives back, and the guard race's
// trials. It prints only numbers the
// scenarios measured; a run without them gets no lines, and a scenario
// that did not pass says so instead of its numbers.
func Dedup(w io.Writer, runs []*results.Result) {
	for _, r := range runs {
		if r == nil {
			continue
		}
		lines := dedupLines(r)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "does dedup work? kernel %s\n", printable(kernelName(r)))
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

func dedupLines(r *results.Result) []string {
	var out []string
	for _, s := range r.Scenarios {
		f, ok := dedupLine[s.Name]
		if !ok {
			continue
		}
		l := f(s.Metrics)
		if l == "" {
			continue
		}
		if s.Verdict != results.Pass {
			l = fmt.Sprintf("%s (%s: %s)", l, strings.ToUpper(s.Verdict), printable(firstOf(firstLine(s.Error), first(s.Evidence))))
		}
		out = append(out, printable(fmt.Sprintf("%-9s %s", s.Name, l)))
	}
	return out
}

// dedupLine renders one scenario's headline numbers, or "" when they are
// missing (a scenario that skipped or stopped before measuring).
var dedupLine = map[string]func(m map[string]float64) string{
	"overflow": func(m map[string]float64) string {
		const size = "4096"
		tw, okT := m["corpus_words/trace@"+size]
		uw, okU := m["corpus_words/unique@"+size]
		progs := m["corpus_programs"]
		if !okT || !okU || uw == 0 {
			return ""
		}
		return fmt.Sprintf("%.0f programs, %s-word buffer: trace mode %.0f words (%.0f overflowed), unique mode %.0f words (%.0f overflowed): %.1fx fewer words",
			progs, size, tw, m["corpus_overflows/trace@"+size], uw, m["corpus_overflows/unique@"+size], tw/uw)
	},
	"unique": func(m map[string]float64) string {
		rec, okR := m["trace_records"]
		bits, okB := m["bitmap_bits"]
		if !okR || !okB {
			return ""
		}
		return fmt.Sprintf("the same work recorded %.0f times in trace mode; unique mode set %.0f bitmap bits for %.0f distinct PCs (%.0f recorded twice, %.0f lost)",
			rec, bits, m["pcs"], m["duplicates"], m["lost_pcs"])
	},
	"reset": func(m map[string]float64) string {
		first, ok1 := m["unique/full_reset_first"]
		again, ok2 := m["unique/reset_trace"]
		if !ok1 || !ok2 {
			return ""
		}
		return fmt.Sprintf("unique mode: the same syscall with the bitmap kept recorded %.0f words (first time %.0f); KCOV_RESET_TRACE left %.0f and it recorded %.0f again (read-only mapping: %.0f added without a reset, %.0f after one)",
			m["unique/count_only_reset"], first, m["unique/reset_trace_tail"], again, m["unique_ro/repeat_added"], m["unique_ro/reset_trace"])
	},
	"guardrace": func(m map[string]float64) string {
		trials, ok := m["trials"]
		if !ok || m["skipped"] > 0 {
			return ""
		}
		return fmt.Sprintf("%.0f fresh-boot trials, %.0f racing threads: %.0f PCs recorded twice, %.0f lost outside timing-dependent code, union %.0f bits for %.0f PCs; threads overlapped in %.0f trial(s), %.0f trial(s) failed",
			trials, m["threads"], m["dup_records"], m["union_unexplained"], m["bits_union"], m["pcs_total"], m["overlap"], m["trials_failed"])
	},
}
