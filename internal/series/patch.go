package series

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Patch is one patch of a series as mailed by git format-patch.
type Patch struct {
	Subject string // without the [PATCH ...] prefix
	Prefix  string // e.g. "PATCH v2 06/11"
	// Version, Number and Total come from the prefix: "v2" and "06/11".
	// A prefix without "vN" is version 1; one without "M/T" is 1/1.
	Version, Number, Total int
	From, Date             string
	Message                string   // commit message body (above the first "---")
	Diff                   string   // unified diff, from the first "diff --git" to its last line
	Files                  []string // tree-relative paths the diff touches, in diff order
	Source                 string   // file it came from, "#N" for the Nth message of an mbox
}

// Title is the subject as mailed, "[PATCH v2 06/11] kcov: ...".
func (p *Patch) Title() string {
	if p.Prefix == "" {
		return p.Subject
	}
	return "[" + p.Prefix + "] " + p.Subject
}

var (
	versionRE = regexp.MustCompile(`^[vV]([0-9]+)$`)
	numberRE  = regexp.MustCompile(`^([0-9]+)/([0-9]+)$`)
)

// parseSubject splits "[RFC PATCH v2 06/11] title" into its parts. All
// leading bracketed groups are dropped from the title; the first one that
// mentions PATCH (or, failing that, the first one) is the prefix.
func parseSubject(s string) (title, prefix string, version, number, total int) {
	version, number, total = 1, 1, 1
	rest := strings.TrimSpace(s)
	var groups []string
	for strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			break
		}
		groups = append(groups, strings.TrimSpace(rest[1:end]))
		rest = strings.TrimSpace(rest[end+1:])
	}
	for _, g := range groups {
		if strings.Contains(strings.ToUpper(g), "PATCH") {
			prefix = g
			break
		}
	}
	if prefix == "" && len(groups) > 0 {
		prefix = groups[0]
	}
	for _, tok := range strings.Fields(prefix) {
		if m := versionRE.FindStringSubmatch(tok); m != nil {
			version, _ = strconv.Atoi(m[1])
		} else if m := numberRE.FindStringSubmatch(tok); m != nil {
			number, _ = strconv.Atoi(m[1])
			total, _ = strconv.Atoi(m[2])
		}
	}
	return rest, prefix, version, number, total
}

// isReply reports a "Re: ..." subject: review mail in a thread mbox.
func isReply(subject string) bool {
	s := strings.ToLower(strings.TrimSpace(subject))
	return strings.HasPrefix(s, "re:") || strings.HasPrefix(s, "aw:")
}

// newPatch builds a Patch from a decoded message. A message without a diff
// yields a Patch with an empty Diff.
func newPatch(source string, m *message) (*Patch, error) {
	p := &Patch{From: m.From, Date: m.Date, Source: source}
	p.Subject, p.Prefix, p.Version, p.Number, p.Total = parseSubject(m.Subject)
	lines := strings.SplitAfter(m.Body, "\n")
	start := diffStart(lines)
	msgEnd := start
	for i, l := range lines[:start] {
		// "---" ends the commit message; "-- " starts the signature of
		// a message without one (a cover letter).
		if strings.TrimRight(l, " \t\n") == "---" || l == "-- \n" {
			msgEnd = i
			break
		}
	}
	p.Message = strings.TrimSpace(strings.Join(lines[:msgEnd], ""))
	if start == len(lines) {
		return p, nil
	}
	text := strings.Join(lines[start:], "")
	files, end, err := parseDiff(text)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Source = source
		}
		return nil, err
	}
	p.Diff = text[:end]
	if !strings.HasSuffix(p.Diff, "\n") {
		p.Diff += "\n"
	}
	p.Files = touchedFiles(files)
	return p, nil
}

// diffStart returns the index of the line where the diff starts: the first
// "diff --git" line, else the first "--- " line followed by "+++ ", else
// len(lines).
func diffStart(lines []string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, "diff --git ") {
			return i
		}
	}
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "--- ") && strings.HasPrefix(lines[i+1], "+++ ") {
			return i
		}
	}
	return len(lines)
}

// touchedFiles lists the paths a diff touches, both sides of a rename.
func touchedFiles(files []*fileDiff) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, f := range files {
		add(f.OldName)
		add(f.NewName)
	}
	return out
}
