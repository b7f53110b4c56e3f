// Package crash finds the reports a Linux kernel prints on its console
// (oops, BUG, WARNING, KASAN, UBSAN, lockdep, RCU stall, hung task, soft
// lockup, general protection fault, panic) and gives each a kind, a
// title in the style kernel engineers know from syzbot ("WARNING in
// kcov_ioctl", "KASAN: slab-out-of-bounds Read in foo", "BUG: soft
// lockup in bar") and a guilty frame: the first frame of its stack that
// is not the reporting machinery, a sanitizer or KCOV hook, a lock
// helper, fault or interrupt entry, or the scheduler.
//
// Kernels without kallsyms (kcovlab's lean guests) print raw addresses
// ("? 0xffffffff810844c1"); given the kernel's symbols, Parse symbolizes
// every frame before it picks the guilty one, and the report's text
// reads "function+off (file)", or "file:line" with DWARF.
//
// The package only reads text: it needs nothing on the host, owns no
// verdict (callers decide what a report means for a run) and never
// reads files. Tests are table tests on console excerpts in testdata.
package crash

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Report is one kernel report found on a console.
type Report struct {
	Kind  Kind
	Title string
	// Guilty is the frame the report is blamed on (Func "" when no frame
	// could be read).
	Guilty Frame
	// Frames are the report's RIP lines and call-trace frames in order,
	// innermost first.
	Frames []Frame
	// Text is the report's console lines, raw addresses symbolized.
	Text string
	// Start and End are byte offsets of the report in the console.
	Start, End int
	headerLine int
}

// maxLines bounds a report that never prints its end marker.
const maxLines = 200

var (
	// timePrefix is printk's time stamp and, with CONFIG_PRINTK_CALLER,
	// the caller id: "[    1.234567] " or "[    1.234567][  T123] ".
	timePrefix = regexp.MustCompile(`^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?`)
	// subsystem prefixes some reports are printed with.
	subsystemPrefix = regexp.MustCompile(`^(?:rcu|watchdog|kernel): `)
	cutHere         = regexp.MustCompile(`^-+\[ cut here \]-+\s*$`)
	endTrace        = regexp.MustCompile(`^-+\[ end (?:trace(?: [0-9a-f]+)?|Kernel panic .*) \]-*`)
	ruler           = regexp.MustCompile(`^={20,}\s*$`)
	irqStart        = regexp.MustCompile(`^\s*<(IRQ|NMI|SOFTIRQ)>\s*$`)
	irqEnd          = regexp.MustCompile(`^\s*</(IRQ|NMI|SOFTIRQ)>\s*$`)
	callTrace       = regexp.MustCompile(`^(?:Call Trace|stack backtrace):\s*$`)
	stackMarker     = regexp.MustCompile(`^\s*</?TASK>\s*$`)
	rawAddr         = regexp.MustCompile(`0x(ffffffff[0-9a-f]{8})\b`)
)

// midStamp finds a printk time stamp after other text: a kernel line
// that began while a guest program's output to the console had no
// newline yet.
var midStamp = regexp.MustCompile(`\[\s*\d+\.\d{6}\]`)

// body is a console line without its time stamp and subsystem prefix.
func body(line string) string {
	line = strings.TrimRight(line, "\r\n")
	if loc := midStamp.FindStringIndex(line); loc != nil && loc[0] > 0 && !timePrefix.MatchString(line) {
		line = line[loc[0]:]
	}
	line = timePrefix.ReplaceAllString(line, "")
	return subsystemPrefix.ReplaceAllString(line, "")
}

// header returns the table row a line starts a report of, or nil.
func header(b string) (*spec, []string) {
	for i := range specs {
		if m := specs[i].header.FindStringSubmatch(b); m != nil {
			return &specs[i], m
		}
	}
	return nil, nil
}

// Parse returns every report in console, first first; the first is the
// one that matters (what came after may be its consequence). syms may
// be nil: frames then keep what the console printed.
func Parse(console string, syms Symbols) []*Report {
	lines := strings.SplitAfter(console, "\n")
	offs := make([]int, len(lines)+1)
	for i, l := range lines {
		offs[i+1] = offs[i] + len(l)
	}
	var reps []*Report
	for i := 0; i < len(lines); i++ {
		s, m := header(body(lines[i]))
		if s == nil {
			continue
		}
		start := i
		if i > 0 && cutHere.MatchString(body(lines[i-1])) {
			start = i - 1
		}
		end := reportEnd(lines, i, s)
		if n := len(reps); n > 0 && s.kind == Panic && start-lineOf(offs, reps[n-1].End) <= panicGap {
			// The panic an oops ends with ("Fatal exception") is printed
			// after the oops's end marker: it is the same report.
			prev := reps[n-1]
			first := lineOf(offs, prev.Start)
			s0, m0 := header(body(lines[prev.headerLine]))
			reps[n-1] = build(s0, m0, lines[first:end], syms, prev.Start, offs[end])
			reps[n-1].headerLine = prev.headerLine
		} else {
			r := build(s, m, lines[start:end], syms, offs[start], offs[end])
			r.headerLine = i
			reps = append(reps, r)
		}
		i = end - 1
	}
	return reps
}

// panicGap is how many lines after a report a panic may start and still
// be that report's end.
const panicGap = 3

// lineOf is the index of the line starting at byte offset off.
func lineOf(offs []int, off int) int {
	i, _ := slices.BinarySearch(offs, off)
	return i
}

// First returns the first report in console, or nil.
func First(console string, syms Symbols) *Report {
	if r := Parse(console, syms); len(r) > 0 {
		return r[0]
	}
	return nil
}

// reportEnd is the index of the first line after the report whose header
// is lines[i]: after its end marker, before the next report's header or
// "cut here" line, or maxLines on.
func reportEnd(lines []string, i int, s *spec) int {
	for j := i + 1; j < len(lines) && j < i+maxLines; j++ {
		b := body(lines[j])
		switch {
		case endTrace.MatchString(b), ruler.MatchString(b):
			return j + 1
		case cutHere.MatchString(b):
			return j
		}
		if next, _ := header(b); next != nil && !next.cont {
			return j
		}
	}
	return min(len(lines), i+maxLines)
}

// build reads one report's lines: its frames (symbolized), guilty frame,
// title and text.
func build(s *spec, m []string, lines []string, syms Symbols, start, end int) *Report {
	r := &Report{Kind: s.kind, Start: start, End: end}
	inTrace, inIRQ := false, false
	detail := ""
	var text strings.Builder
	for _, l := range lines {
		b := body(l)
		if s.detail != nil && detail == "" {
			if dm := s.detail.FindStringSubmatch(b); dm != nil {
				detail = dm[1]
			}
		}
		switch {
		case callTrace.MatchString(b):
			inTrace = true
		case irqStart.MatchString(b):
			inIRQ = true
		case irqEnd.MatchString(b):
			inIRQ = false
		case stackMarker.MatchString(b):
		default:
			if rm := ripLine.FindStringSubmatch(b); rm != nil {
				if f, ok := parseFrame(rm[1]); ok {
					f.RIP, f.InIRQ = true, inIRQ
					symbolizeFrame(&f, syms)
					r.Frames = append(r.Frames, f)
				}
			} else if inTrace {
				fm := frameLine.FindStringSubmatch(b)
				if f, ok := parseFrame(fm[2]); ok {
					f.Unreliable, f.InIRQ = fm[1] != "", inIRQ
					symbolizeFrame(&f, syms)
					r.Frames = append(r.Frames, f)
				}
			}
		}
		text.WriteString(symbolizeLine(l, syms))
	}
	r.Text = strings.TrimRight(text.String(), "\n")
	r.Guilty = guilty(r.Frames, s.hang, syms)
	m = append(m, detail)
	r.Title = s.title(m, r.Guilty.Func)
	return r
}

// symbolizeLine replaces the raw kernel addresses of a line by
// "func+0xoff (source)".
func symbolizeLine(l string, syms Symbols) string {
	if syms == nil {
		return l
	}
	return rawAddr.ReplaceAllStringFunc(l, func(hex string) string {
		pc, _ := strconv.ParseUint(hex[2:], 16, 64)
		f := Frame{PC: pc}
		symbolizeFrame(&f, syms)
		if f.Func == "" {
			return hex
		}
		return f.String()
	})
}
