package callsites

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteText renders the report as fixed-width plain text, ready to paste
// into a mail.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s, %s, scanned in %s\n\n", r.Label(), r.Path, r.Instrumentation, r.Elapsed.Round(time.Millisecond))
	r.writeHooks(&b)
	b.WriteString("\n")
	r.writeSections(&b)
	b.WriteString("\n")
	r.writeSummary(&b)
	return writeTrimmed(w, &b)
}

func (r *Report) writeHooks(b *bytes.Buffer) {
	const row = "%-34s %10s %10s %6s %6s %10s\n"
	fmt.Fprintf(b, row, "hook", "sites", "calls", "jumps", "unsym", "bytes/site")
	for _, h := range r.Hooks {
		fmt.Fprintf(b, row, h.Name, num(h.Sites), num(h.Calls), num(h.TailCalls+h.CondJumps),
			num(h.Unsymbolized), dec(h.BytesPerSite))
	}
	fmt.Fprintf(b, row, "PC hooks", num(r.Cost.PCSites), "", "", "", dec(r.Cost.PCBytesPerSite))
	fmt.Fprintf(b, row, "comparison hooks", num(r.Cost.CmpSites), "", "", "", "")
	b.WriteString("(jumps: tail calls, jmp or jcc to the hook; unsym: sites outside every function symbol)\n")
}

func (r *Report) writeSections(b *bytes.Buffer) {
	const row = "%-26s %12s %12s %10s %12s %8s\n"
	fmt.Fprintf(b, row, "section", "bytes", "code", "PC sites", "PC bytes", "% size")
	for _, s := range r.Exec {
		fmt.Fprintf(b, row, s.Name, num(s.Size), num(s.CodeBytes), num(s.PCSites), num(s.PCBytes),
			pct(percent(s.PCBytes, s.Size)))
	}
	for _, s := range []struct {
		name string
		size uint64
	}{{".rodata", r.Sizes.Rodata}, {".data", r.Sizes.Data}, {".bss", r.Sizes.Bss}} {
		fmt.Fprintf(b, row, s.name, num(s.size), "", "", "", "")
	}
	if g := r.Guards; g != nil {
		fmt.Fprintf(b, row, "guards in "+g.Section, num(g.Bytes), "", "", "", "")
	}
	fmt.Fprintf(b, row, "file", num(r.Sizes.File), "", "", "", "")
}

func (r *Report) writeSummary(b *bytes.Buffer) {
	if g := r.Guards; g != nil {
		verdict := "match"
		if !g.Match {
			verdict = "MISMATCH"
		}
		room := "taking file space"
		if g.NoBits {
			room = "no file space"
		}
		fmt.Fprintf(b, "guards: %s (%s bytes in %s, %s); trace_pc_guard sites %s: %s\n",
			num(g.Count), num(g.Bytes), g.Section, room, num(g.Sites), verdict)
		one := "one guard per site"
		if !g.OneToOne {
			one = "NOT one guard per site"
		}
		fmt.Fprintf(b, "        guard loads decoded %s, distinct %s, outside %s, shared %s: %s\n",
			num(g.Loaded), num(g.Distinct), num(g.Outside), num(g.Shared), one)
	}
	c := r.Cost
	fmt.Fprintf(b, "cost:   %s bytes per PC site", dec(c.PCBytesPerSite))
	if g := r.Hook(TracePCGuard); g.Sites > 0 {
		fmt.Fprintf(b, " (call %s + guard load %s), %s guard bytes per site",
			dec(ratio(g.CallBytes, g.Sites)), dec(ratio(g.SetupBytes, g.Sites)), dec(c.GuardBytesPerSite))
	}
	fmt.Fprintf(b, "\n        of .text: PC sites %s, all sites %s", pct(c.PCTextPercent), pct(c.SiteTextPercent))
	if r.Guards != nil {
		fmt.Fprintf(b, ", guards %s", pct(c.GuardTextPercent))
	}
	fmt.Fprintf(b, "; of function code: PC sites %s", pct(c.PCCodePercent))
	d := r.Decode
	fmt.Fprintf(b, "\ndecode: %s functions (%s aliases skipped), %s bytes, %s bytes between functions, %s instructions\n",
		num(d.Functions), num(d.Aliases), num(d.Bytes), num(d.GapBytes), num(d.Instructions))
	fmt.Fprintf(b, "        %s bytes not decodable in %s places\n", num(d.BadBytes), num(d.Errors))
}

// WriteText renders the comparison as a fixed-width table.
func (d *Diff) WriteText(w io.Writer) error {
	var b bytes.Buffer
	const row = "%-34s %14s %14s %12s %9s\n"
	fmt.Fprintf(&b, row, "", d.A, d.B, "delta", "%")
	for _, r := range d.Rows {
		p := "n/a"
		if r.Percent != nil {
			p = signed(strconv.FormatFloat(*r.Percent, 'f', 2, 64)) + "%"
		}
		fmt.Fprintf(&b, row, r.Name, num(r.A), num(r.B), signed(num(r.Delta)), p)
	}
	return writeTrimmed(w, &b)
}

// writeTrimmed writes b without the blanks that empty table cells leave at
// the end of lines.
func writeTrimmed(w io.Writer, b *bytes.Buffer) error {
	var out bytes.Buffer
	for line := range strings.Lines(b.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}

// num formats an integer with thousands separators: 1,234,567.
func num[T int | int64 | uint64](v T) string {
	s := strconv.FormatInt(int64(v), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func signed(s string) string {
	if strings.HasPrefix(s, "-") || s == "0" || s == "0.00" {
		return s
	}
	return "+" + s
}

func dec(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }
