package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/kcovlab/kcovlab/internal/stats"
)

func numCPU() int { return runtime.NumCPU() }

// WriteText writes the report for people: one column per setup, one row
// per phase (median and min..max seconds), the totals, the ratio to the
// default, the CPUs brought up and the failures; then the build numbers.
func (r *BootReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "bench boot: kernel %s, accel %s, %d vCPUs, %d boot(s) per setup interleaved; host %d cores, 1-min load %s\n",
		r.Kernel, r.Accel, r.CPUs, r.Boots, r.Cores, spread(r.Load, "%.1f"))
	fmt.Fprintf(w, "seconds: median (min..max); ratio = median boot to SSH / %s's\n\n", r.Default)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, cell func(s *SetupReport) string) {
		cells := []string{name}
		for i := range r.Setups {
			cells = append(cells, cell(&r.Setups[i]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row("phase", func(s *SetupReport) string { return s.Name })
	for i, p := range Phases {
		row(p, func(s *SetupReport) string { return spread(s.Phases[i], "%.2f") })
	}
	for i, p := range Totals {
		row(p, func(s *SetupReport) string { return spread(s.Totals[i], "%.2f") })
	}
	row("ratio to "+r.Default, func(s *SetupReport) string {
		if s.Ratio == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", s.Ratio)
	})
	row("kernel's Run /init (guest s)", func(s *SetupReport) string {
		if s.GuestRunInit == nil {
			return "-"
		}
		return spread(*s.GuestRunInit, "%.2f")
	})
	row("CPUs brought up", func(s *SetupReport) string { return fmt.Sprint(s.CPUs) })
	row("failed boots", func(s *SetupReport) string { return fmt.Sprint(len(s.Failures)) })
	tw.Flush()
	for _, s := range r.Setups {
		for _, f := range s.Failures {
			fmt.Fprintf(w, "%s: %s\n", s.Name, f)
		}
	}
	for _, s := range r.Setups {
		if s.Machine != nil {
			fmt.Fprintf(w, "setup %s\n", s.Machine)
		}
	}
	fmt.Fprintln(w, "\nbuilds (the newest of each kind in the kernel cache, as its meta.json recorded it):")
	for _, b := range r.Builds {
		if !b.Measured() {
			fmt.Fprintf(w, "  %-28s not measured (no such build in the cache)\n", b.Kind)
			continue
		}
		fmt.Fprintf(w, "  %-28s %s: %d steps, %.0f s (built %s)\n", b.Kind, b.Kernel, b.Steps, b.Seconds, b.BuiltAt)
	}
	fmt.Fprintf(w, "consoles: %s\n", r.Dir)
}

// spread is "median (min..max)" in format f, "-" for an empty sample.
func spread(s stats.Summary, f string) string {
	if s.N == 0 {
		return "-"
	}
	if s.Min == s.Max {
		return fmt.Sprintf(f, s.Median)
	}
	return fmt.Sprintf(f+" ("+f+".."+f+")", s.Median, s.Min, s.Max)
}

// WriteJSON writes the report as JSON to path.
func (r *BootReport) WriteJSON(path string) error { return writeJSON(path, r) }

// writeJSON writes v to path as indented JSON: every report of the bench.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
