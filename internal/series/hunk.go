package series

import (
	"fmt"
	"strings"
)

// applyHunks applies a file's hunks, in order, to the file's lines and
// returns the new lines. There is no fuzz: a hunk's whole pre-image (its
// context and removed lines) must match exactly. Like git apply, a hunk may
// match away from its stated line; the nearest match wins, and the offset
// found carries over to the next hunk. A hunk that starts at line 1 must
// match at the start of the file, one without trailing context at its end.
func applyHunks(lines []string, hunks []*hunk) ([]string, *ApplyError) {
	var out []string
	pos := 0   // first input line not yet copied to out
	drift := 0 // offset at which the previous hunk matched
	for i, h := range hunks {
		pre, post := h.images()
		at, want := h.locate(lines, pre, pos, drift)
		if at < 0 {
			return nil, h.mismatch(lines, pre, i+1, want, pos)
		}
		drift = at - h.base()
		out = append(out, lines[pos:at]...)
		out = append(out, post...)
		pos = at + len(pre)
	}
	return append(out, lines[pos:]...), nil
}

// images returns the lines the hunk expects (context and removed lines) and
// the lines it leaves (context and added lines).
func (h *hunk) images() (pre, post []string) {
	for _, l := range h.Lines {
		if l.Op != '+' {
			pre = append(pre, l.Text)
		}
		if l.Op != '-' {
			post = append(post, l.Text)
		}
	}
	return pre, post
}

// base is the 0-based index the pre-image should start at. A hunk without
// old lines ("@@ -5,0 ...") inserts after its stated line.
func (h *hunk) base() int {
	if h.OldCount == 0 {
		return h.OldStart
	}
	return h.OldStart - 1
}

// context counts the unchanged lines before the first and after the last
// change.
func (h *hunk) context() (leading, trailing int) {
	for _, l := range h.Lines {
		if l.Op != ' ' {
			break
		}
		leading++
	}
	for i := len(h.Lines) - 1; i >= 0 && h.Lines[i].Op == ' '; i-- {
		trailing++
	}
	return leading, trailing
}

// anchors reports whether the hunk must match at the start or the end of
// the file (git apply's match_beginning and match_end).
func (h *hunk) anchors() (start, end bool) {
	_, trailing := h.context()
	start = h.OldStart == 0 || (h.OldStart == 1 && h.OldCount > 0)
	end = trailing == 0
	return start, end
}

// locate finds where pre matches in lines at or after index lo. It returns
// the match (-1 if none) and the index the hunk was expected at: its stated
// line moved by the previous hunk's offset.
func (h *hunk) locate(lines, pre []string, lo, drift int) (at, want int) {
	maxAt := len(lines) - len(pre)
	want = h.base() + drift
	start, end := h.anchors()
	if start || end {
		at = maxAt
		if start {
			at = 0
		}
		if at < lo || at < 0 || at > maxAt || (end && at != maxAt) || !matchAt(lines, pre, at, !end) {
			return -1, want
		}
		return at, want
	}
	for d := 0; ; d++ {
		fwd, back := want+d, want-d
		if fwd > maxAt && back < lo {
			return -1, want
		}
		if fwd >= lo && fwd <= maxAt && matchAt(lines, pre, fwd, !end) {
			return fwd, want
		}
		if d > 0 && back >= lo && back <= maxAt && matchAt(lines, pre, back, !end) {
			return back, want
		}
	}
}

func matchAt(lines, pre []string, at int, lenient bool) bool {
	for k, l := range pre {
		if !lineMatches(lines, at+k, l, lenient) {
			return false
		}
	}
	return true
}

// lineMatches compares lines[i] with a pre-image line. When lenient (the
// hunk has trailing context), a context line marked "\ No newline at end of
// file" also matches the file's last line if that one ends in a newline:
// git apply accepts that too.
func lineMatches(lines []string, i int, want string, lenient bool) bool {
	got := lines[i]
	return got == want || lenient && i == len(lines)-1 && got == want+"\n"
}

// mismatch explains why hunk number n did not apply by comparing its
// pre-image with the file at the expected index.
func (h *hunk) mismatch(lines, pre []string, n, want, lo int) *ApplyError {
	e := &ApplyError{Hunk: n, HunkHeader: h.Header, Line: max(want, 0) + 1, Err: ErrContextMismatch}
	at := max(want, 0)
	start, end := h.anchors()
	for k, exp := range pre {
		i := at + k
		if i >= len(lines) {
			e.Reason = fmt.Sprintf("context does not match: line %d: expected %s, found end of file (%d lines)",
				i+1, showLine(exp), len(lines))
			return e
		}
		if !lineMatches(lines, i, exp, !end) {
			e.Reason = fmt.Sprintf("context does not match: line %d: expected %s, found %s",
				i+1, showLine(exp), showLine(lines[i]))
			return e
		}
	}
	switch {
	case at < lo:
		e.Reason = "hunk overlaps the previous hunk"
	case end && at+len(pre) != len(lines):
		e.Reason = fmt.Sprintf("hunk has no trailing context, so it must end the file, but the file has %d more lines",
			len(lines)-at-len(pre))
	case start && at != 0:
		e.Reason = fmt.Sprintf("hunk starts at line %d, so it must match at the start of the file", h.OldStart)
	default:
		e.Reason = "context does not match"
	}
	return e
}

// showLine quotes a file line for an error message.
func showLine(s string) string {
	if strings.HasSuffix(s, "\n") {
		return fmt.Sprintf("%q", strings.TrimSuffix(s, "\n"))
	}
	return fmt.Sprintf("%q (no newline at end of file)", s)
}
