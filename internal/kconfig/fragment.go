package kconfig

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Fragment is a parsed config fragment file: lines `CONFIG_FOO=y`,
// `CONFIG_FOO="str"`, `CONFIG_FOO=123`, `# CONFIG_FOO is not set` and
// `CONFIG_FOO=n` (also "not set"). Comments and blank lines are ignored.
type Fragment struct {
	Name    string // e.g. "kcov.config"; used in messages and Hash
	Path    string // file it was loaded from, "" when parsed from a reader
	Entries []Entry
}

// Entry is one assignment in a fragment.
type Entry struct {
	Symbol string // without the CONFIG_ prefix
	Value  string // "y", "m", "n", a number, or a quoted string as written
	Line   int    // 1-based line in the fragment
}

// ParseFragment parses a fragment. name identifies it in errors; a malformed
// line yields a *ParseError naming the fragment, line number and text.
func ParseFragment(name string, r io.Reader) (*Fragment, error) {
	f := &Fragment{Name: name}
	err := scanLines(name, r, func(sym, value string, line int) {
		f.Entries = append(f.Entries, Entry{Symbol: sym, Value: value, Line: line})
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// scanLines parses .config syntax from r and calls fn for every entry.
func scanLines(source string, r io.Reader, fn func(sym, value string, line int)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimRight(sc.Text(), "\r")
		sym, value, ok, reason := parseLine(text)
		if reason != "" {
			return &ParseError{Source: source, Line: n, Text: text, Reason: reason}
		}
		if ok {
			fn(sym, value, n)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", source, err)
	}
	return nil
}

// LoadFragments reads the named fragments (e.g. "guest.config") from dir, in
// order. A missing file is an error that names the path and wraps
// fs.ErrNotExist.
func LoadFragments(dir string, names ...string) ([]*Fragment, error) {
	frags := make([]*Fragment, 0, len(names))
	for _, name := range names {
		f, err := loadFragment(dir, name)
		if err != nil {
			return nil, err
		}
		frags = append(frags, f)
	}
	return frags, nil
}

func loadFragment(dir, name string) (*Fragment, error) {
	path := filepath.Join(dir, name)
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config fragment %q not found; check its name and the fragment directory: %w",
			name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open config fragment: %w", err)
	}
	defer file.Close()
	f, err := ParseFragment(name, file)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// Hash returns a sha256 hex digest of the fragments' names and entries in
// order. It ignores comments, blank lines, line numbers and paths, and treats
// `=n` like "is not set", so only changes that can alter the kernel change it.
func Hash(frags []*Fragment) string {
	h := sha256.New()
	for _, f := range frags {
		fmt.Fprintf(h, "fragment %s %d\n", strconv.Quote(f.Name), len(f.Entries))
		for _, e := range f.Entries {
			fmt.Fprintf(h, "%s=%s\n", e.Symbol, e.Value)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AppendFragments appends the fragments' entries, in order, to the existing
// .config at dotconfig, so that `make olddefconfig` takes the last assignment
// of each symbol. `=n` is written as "# CONFIG_X is not set".
func AppendFragments(dotconfig string, frags []*Fragment) error {
	file, err := os.OpenFile(dotconfig, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("append config fragments: %w", err)
	}
	var b strings.Builder
	nl, err := endsWithNewline(file)
	if err != nil {
		file.Close()
		return fmt.Errorf("append config fragments to %s: %w", dotconfig, err)
	}
	if !nl {
		b.WriteByte('\n')
	}
	for _, f := range frags {
		fmt.Fprintf(&b, "# kcovlab fragment %s\n", f.Name)
		for _, e := range f.Entries {
			b.WriteString(formatAssignment(e.Symbol, e.Value) + "\n")
		}
	}
	if _, err := file.WriteString(b.String()); err != nil {
		file.Close()
		return fmt.Errorf("append config fragments to %s: %w", dotconfig, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("append config fragments to %s: %w", dotconfig, err)
	}
	return nil
}

// endsWithNewline reports whether f is empty or ends with '\n'.
func endsWithNewline(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() == 0 {
		return true, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], st.Size()-1); err != nil {
		return false, err
	}
	return last[0] == '\n', nil
}
