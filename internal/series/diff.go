package series

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// fileDiff is the part of a diff that changes one file.
type fileDiff struct {
	OldName string // tree-relative; "" for /dev/null (a new file)
	NewName string // tree-relative; "" for /dev/null (a deleted file)
	NewFile bool
	Deleted bool
	Rename  bool
	Copy    bool
	Binary  bool
	NewMode uint32 // from "new file mode" or "new mode", 0 when not given
	Hunks   []*hunk
}

// name is the path errors talk about.
func (f *fileDiff) name() string {
	if f.NewName != "" {
		return f.NewName
	}
	return f.OldName
}

// hunk is one "@@ -a,b +c,d @@" section.
type hunk struct {
	Header   string // "@@ -a,b +c,d @@", without the section heading
	OldStart int
	OldCount int
	NewStart int
	NewCount int
	Lines    []hunkLine
}

// hunkLine is one line of a hunk. Text ends in "\n" unless the line was
// followed by "\ No newline at end of file".
type hunkLine struct {
	Op   byte // ' ', '-' or '+'
	Text string
}

var hunkHeaderRE = regexp.MustCompile(`^@@ -([0-9]+)(?:,([0-9]+))? \+([0-9]+)(?:,([0-9]+))? @@`)

// diffParser walks the lines of a diff.
type diffParser struct {
	lines []string // with their "\n"
	i     int      // next line
	end   int      // byte offset just past the last line that belonged to the diff
	off   int      // byte offset of lines[i]
	files []*fileDiff
	cur   *fileDiff
	// inHeader: after "diff --git" and before "---"/"@@".
	inHeader bool
}

// parseDiff parses a git or plain unified diff. It stops at a "-- " line
// outside a hunk (the mail signature) and ignores other text between file
// diffs. end is the length of the prefix of text that holds the diff.
func parseDiff(text string) (files []*fileDiff, end int, err error) {
	p := &diffParser{lines: strings.SplitAfter(text, "\n")}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l == "" {
			break
		}
		if strings.TrimRight(l, "\n") == "-- " {
			break
		}
		if err := p.line(l); err != nil {
			return nil, 0, err
		}
	}
	for _, f := range p.files {
		if err := f.check(); err != nil {
			return nil, 0, &ParseError{Reason: err.Error(), Err: ErrMalformed}
		}
	}
	return p.files, p.end, nil
}

func (p *diffParser) advance(keep bool) {
	p.off += len(p.lines[p.i])
	p.i++
	if keep {
		p.end = p.off
	}
}

func (p *diffParser) errorf(format string, args ...any) error {
	return &ParseError{Line: p.i + 1, Reason: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

// line handles the line at p.i.
func (p *diffParser) line(l string) error {
	body := strings.TrimRight(l, "\n")
	switch {
	case strings.HasPrefix(l, "diff --git "):
		f, err := parseGitHeader(body)
		if err != nil {
			return p.errorf("%v", err)
		}
		p.cur, p.inHeader = f, true
		p.files = append(p.files, f)
		p.advance(true)
	case strings.HasPrefix(l, "--- ") && p.i+1 < len(p.lines) && strings.HasPrefix(p.lines[p.i+1], "+++ "):
		return p.names(body, strings.TrimRight(p.lines[p.i+1], "\n"))
	case strings.HasPrefix(l, "@@ "):
		if p.cur == nil {
			return p.errorf("hunk %q before any file header", body)
		}
		p.inHeader = false
		return p.hunk(body)
	case p.inHeader:
		return p.extHeader(body)
	default:
		p.advance(false) // text between file diffs
	}
	return nil
}

// names handles a "--- a/X" / "+++ b/X" pair.
func (p *diffParser) names(minus, plus string) error {
	if p.cur == nil || !p.inHeader {
		p.cur = &fileDiff{}
		p.files = append(p.files, p.cur)
	}
	p.inHeader = false
	oldName, err := diffName(strings.TrimPrefix(minus, "--- "))
	if err != nil {
		return p.errorf("%v", err)
	}
	p.advance(true)
	newName, err := diffName(strings.TrimPrefix(plus, "+++ "))
	if err != nil {
		return p.errorf("%v", err)
	}
	p.advance(true)
	p.cur.OldName, p.cur.NewName = oldName, newName
	p.cur.NewFile = p.cur.NewFile || oldName == ""
	p.cur.Deleted = p.cur.Deleted || newName == ""
	return nil
}

// extHeader handles git's extended header lines after "diff --git".
func (p *diffParser) extHeader(l string) error {
	f := p.cur
	key, val := l, ""
	for _, k := range []string{"new file mode ", "deleted file mode ", "old mode ", "new mode ",
		"rename from ", "rename to ", "copy from ", "copy to ", "similarity index ",
		"dissimilarity index ", "index ", "Binary files ", "GIT binary patch"} {
		if strings.HasPrefix(l, k) {
			key, val = k, strings.TrimPrefix(l, k)
			break
		}
	}
	var err error
	switch key {
	case "new file mode ", "new mode ":
		f.NewFile = f.NewFile || key == "new file mode "
		f.NewMode, err = parseMode(val)
	case "deleted file mode ":
		f.Deleted = true
	case "rename from ", "copy from ":
		f.OldName, err = cleanPath(unquote(val))
		f.Rename, f.Copy = key == "rename from ", key == "copy from "
	case "rename to ", "copy to ":
		f.NewName, err = cleanPath(unquote(val))
	case "Binary files ", "GIT binary patch":
		f.Binary = true
	case "old mode ", "similarity index ", "dissimilarity index ", "index ":
	default:
		p.inHeader = false
		p.advance(false)
		return nil
	}
	if err != nil {
		return p.errorf("%v", err)
	}
	p.advance(true)
	return nil
}

// hunk parses a hunk header and exactly as many lines as it announces.
func (p *diffParser) hunk(header string) error {
	m := hunkHeaderRE.FindStringSubmatch(header)
	if m == nil {
		return p.errorf("bad hunk header %q", header)
	}
	num := func(s string) int {
		if s == "" {
			return 1
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	h := &hunk{Header: m[0], OldStart: num(m[1]), OldCount: num(m[2]), NewStart: num(m[3]), NewCount: num(m[4])}
	p.cur.Hunks = append(p.cur.Hunks, h)
	p.advance(true)
	oldLeft, newLeft := h.OldCount, h.NewCount
	for oldLeft > 0 || newLeft > 0 || p.noNewlineMarker() {
		if p.i >= len(p.lines) || p.lines[p.i] == "" {
			return p.errorf("hunk %s ends early: %d old and %d new lines missing", h.Header, oldLeft, newLeft)
		}
		l := p.lines[p.i]
		if p.noNewlineMarker() {
			if len(h.Lines) == 0 {
				return p.errorf("%q before any line of hunk %s", strings.TrimRight(l, "\n"), h.Header)
			}
			last := &h.Lines[len(h.Lines)-1]
			last.Text = strings.TrimSuffix(last.Text, "\n")
			p.advance(true)
			continue
		}
		op, text := l[0], strings.TrimSuffix(l[1:], "\n")+"\n"
		if l == "\n" { // an empty context line whose space a mailer dropped
			op, text = ' ', "\n"
		}
		switch op {
		case ' ':
			oldLeft--
			newLeft--
		case '-':
			oldLeft--
		case '+':
			newLeft--
		default:
			return p.errorf("unexpected line %q in hunk %s", strings.TrimRight(l, "\n"), h.Header)
		}
		if oldLeft < 0 || newLeft < 0 {
			return p.errorf("hunk %s has more lines than its header says", h.Header)
		}
		h.Lines = append(h.Lines, hunkLine{Op: op, Text: text})
		p.advance(true)
	}
	return nil
}

// noNewlineMarker reports a "\ No newline at end of file" line at p.i (the
// text after the backslash is localized, so only the backslash counts).
func (p *diffParser) noNewlineMarker() bool {
	return p.i < len(p.lines) && strings.HasPrefix(p.lines[p.i], "\\")
}

// check validates a parsed file diff.
func (f *fileDiff) check() error {
	switch {
	case f.OldName == "" && f.NewName == "":
		return fmt.Errorf("file diff without file names")
	case f.NewFile && f.Deleted:
		return fmt.Errorf("%s: both new and deleted", f.name())
	case f.NewFile && f.OldName != "" && !f.Rename && !f.Copy && f.OldName != f.NewName:
		return fmt.Errorf("%s: new file with old name %s", f.NewName, f.OldName)
	}
	if f.NewFile {
		f.OldName = ""
	}
	if f.Deleted {
		f.NewName = ""
	}
	return nil
}

// parseGitHeader reads the names of "diff --git a/X b/Y". The ---/+++ and
// rename lines that follow override them; they matter for mode-only
// changes and binary files.
func parseGitHeader(l string) (*fileDiff, error) {
	rest := strings.TrimPrefix(l, "diff --git ")
	var a, b string
	if strings.HasPrefix(rest, `"`) || strings.HasSuffix(rest, `"`) {
		fields := splitQuoted(rest)
		if len(fields) != 2 {
			return nil, fmt.Errorf("cannot read file names from %q", l)
		}
		a, b = fields[0], fields[1]
	} else {
		// "a/X b/X": without a rename both names are the same, which
		// settles where the separating space is even if X has spaces.
		for i := strings.Index(rest, " "); i >= 0; {
			if x, y := rest[:i], rest[i+1:]; stripPrefix(x) == stripPrefix(y) {
				a, b = x, y
				break
			}
			j := strings.Index(rest[i+1:], " ")
			if j < 0 {
				break
			}
			i += j + 1
		}
		if a == "" {
			a, b, _ = strings.Cut(rest, " ")
		}
	}
	oldName, err := cleanPath(stripPrefix(a))
	if err != nil {
		return nil, err
	}
	newName, err := cleanPath(stripPrefix(b))
	if err != nil {
		return nil, err
	}
	return &fileDiff{OldName: oldName, NewName: newName}, nil
}

// diffName reads the name of a "---"/"+++" line: /dev/null is "", a
// timestamp after a tab is dropped, one leading path component is stripped.
func diffName(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		s, _, _ = strings.Cut(s, "\t")
	}
	s = strings.TrimRight(unquote(s), " ")
	if s == "/dev/null" {
		return "", nil
	}
	return cleanPath(stripPrefix(s))
}

// stripPrefix drops the first path component ("a/", "b/"), like -p1.
func stripPrefix(s string) string {
	s = unquote(s)
	if _, rest, ok := strings.Cut(s, "/"); ok {
		return rest
	}
	return s
}

// cleanPath rejects names that would escape the tree.
func cleanPath(s string) (string, error) {
	c := path.Clean(s)
	if s == "" || path.IsAbs(c) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("file name %q is empty or outside the tree", s)
	}
	return c, nil
}

// unquote decodes a C-style quoted name as git writes it for unusual file
// names; anything else is returned as is.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	}
	return s
}

// splitQuoted splits `"a/x y" b/z` into its two (possibly quoted) words.
func splitQuoted(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil
			}
			out = append(out, unquote(s[:end+1]))
			s = s[end+1:]
			continue
		}
		w, rest, _ := strings.Cut(s, " ")
		out = append(out, w)
		s = rest
	}
	return out
}

func parseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	if err != nil {
		return 0, fmt.Errorf("bad file mode %q", s)
	}
	return uint32(m), nil
}
