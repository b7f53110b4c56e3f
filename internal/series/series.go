package series

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Series is an ordered, complete patch series: patches 1..Total of one
// version, without the cover letter.
type Series struct {
	Name    string // the input it came from: mbox path, directory or REPO:RANGE
	Version int    // the [PATCH vN ...] version shared by all patches
	Patches []Patch
	Cover   *Patch // the [PATCH 0/N] cover letter, nil if there was none
}

// ParseMbox reads an mbox (git format-patch --stdout, b4 am, a lore thread)
// and returns its patches in [PATCH vN M/T] order. Cover letters (number 0,
// or any message without a diff) and replies ("Re: ...") are skipped. It
// fails with a *SeriesError on duplicate numbers, gaps (naming the missing
// numbers), or patches of different versions or totals, and with a
// *ParseError on a malformed message or diff. name labels the input in
// errors and becomes Series.Name.
func ParseMbox(name string, r io.Reader) (*Series, error) {
	var c collector
	if err := c.addMbox(name, r, true); err != nil {
		return nil, err
	}
	return c.series(name)
}

// ParseDir reads a directory of *.patch files (git format-patch output, one
// or more messages per file) and orders them like ParseMbox does; file names
// do not matter.
func ParseDir(dir string) (*Series, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.patch"))
	if err != nil {
		return nil, fmt.Errorf("read series dir %s: %w", dir, err)
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("read series dir: %w", err)
		}
		return nil, &SeriesError{Series: dir, Err: ErrNoPatches,
			Reason: "no *.patch files in the directory (write them with git format-patch -o DIR)"}
	}
	sort.Strings(paths)
	var c collector
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read series dir %s: %w", dir, err)
		}
		err = c.addMbox(p, f, false)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return c.series(dir)
}

// Load reads the series named by spec: an mbox file, a directory of
// *.patch files, or REPO:RANGE (a git repository directory and a revision
// range such as v6.12..kcov-dedup) for FromGitRange.
func Load(ctx context.Context, spec string) (*Series, error) {
	if fi, err := os.Stat(spec); err == nil {
		if fi.IsDir() {
			return ParseDir(spec)
		}
		f, err := os.Open(spec)
		if err != nil {
			return nil, fmt.Errorf("load series: %w", err)
		}
		defer f.Close()
		return ParseMbox(spec, f)
	}
	if repo, rng, ok := splitRepoRange(spec); ok {
		return FromGitRange(ctx, repo, rng)
	}
	return nil, fmt.Errorf("load series %q: not an mbox file, a directory of .patch files or REPO:RANGE with an existing REPO: %w",
		spec, fs.ErrNotExist)
}

// splitRepoRange splits "REPO:RANGE" at the first colon whose left side is
// an existing directory.
func splitRepoRange(spec string) (repo, rng string, ok bool) {
	for i := 0; i < len(spec); i++ {
		if spec[i] != ':' || i == 0 || i == len(spec)-1 {
			continue
		}
		if fi, err := os.Stat(spec[:i]); err == nil && fi.IsDir() {
			return spec[:i], spec[i+1:], true
		}
	}
	return "", "", false
}

// Without returns a copy of the series without the patches of the given
// numbers (e.g. v2 without 01). The remaining patches keep their numbers.
func (s *Series) Without(numbers ...int) (*Series, error) {
	drop := map[int]bool{}
	for _, n := range numbers {
		if !slicesContainsNumber(s.Patches, n) {
			return nil, &SeriesError{Series: s.Name, Numbers: []int{n}, Err: ErrUnknownPatch,
				Reason: fmt.Sprintf("cannot drop patch %d: the series has %s", n, formatNumbers(numbersOf(s.Patches)))}
		}
		drop[n] = true
	}
	out := &Series{Name: s.Name, Version: s.Version, Cover: s.Cover}
	for _, p := range s.Patches {
		if !drop[p.Number] {
			out.Patches = append(out.Patches, p)
		}
	}
	return out, nil
}

func slicesContainsNumber(ps []Patch, n int) bool {
	for _, p := range ps {
		if p.Number == n {
			return true
		}
	}
	return false
}

// ID is a 16-hex-digit digest of the ordered subjects and diffs: equal for
// the same changes however they were delivered, so it can key caches.
func (s *Series) ID() string {
	h := sha256.New()
	for _, p := range s.Patches {
		fmt.Fprintf(h, "subject %d\n%s\ndiff %d\n%s\n", len(p.Subject), p.Subject, len(p.Diff), p.Diff)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// collector gathers patches from one or more inputs.
type collector struct {
	patches []Patch
	cover   *Patch
	noDiff  []string // numbered messages skipped for lack of a diff
}

// addMbox adds every message of r. indexed adds "#N" to each source.
func (c *collector) addMbox(name string, r io.Reader, indexed bool) error {
	raws, err := splitMbox(r)
	if err != nil {
		return &ParseError{Source: name, Reason: err.Error(), Err: err}
	}
	for i, raw := range raws {
		source := name
		if indexed || len(raws) > 1 {
			source = name + "#" + strconv.Itoa(i+1)
		}
		m, err := readMessage(raw)
		if err != nil {
			return &ParseError{Source: source, Reason: err.Error(), Err: errors.Join(ErrMalformed, err)}
		}
		if isReply(m.Subject) {
			continue
		}
		p, err := newPatch(source, m)
		if err != nil {
			return err
		}
		switch {
		case p.Number == 0:
			if c.cover == nil {
				c.cover = p
			}
		case p.Diff == "":
			c.noDiff = append(c.noDiff, fmt.Sprintf("%s (%s)", p.Title(), source))
		default:
			c.patches = append(c.patches, *p)
		}
	}
	return nil
}

// series orders the collected patches and checks they form one series.
func (c *collector) series(name string) (*Series, error) {
	ps := c.patches
	if len(ps) == 0 {
		return nil, &SeriesError{Series: name, Err: ErrNoPatches,
			Reason: "no message with a diff (need git format-patch or b4 am output)"}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Number < ps[j].Number })
	first := &ps[0]
	for i := range ps {
		p := &ps[i]
		if p.Version != first.Version || p.Total != first.Total {
			return nil, &SeriesError{Series: name, Numbers: []int{first.Number, p.Number}, Err: ErrMixedSeries,
				Reason: fmt.Sprintf("patches from different series: %s (%s) and %s (%s); keep one version",
					first.Title(), first.Source, p.Title(), p.Source)}
		}
		if p.Number < 1 || p.Number > p.Total {
			return nil, &SeriesError{Series: name, Numbers: []int{p.Number}, Err: ErrMixedSeries,
				Reason: fmt.Sprintf("%s (%s) is numbered outside 1..%d", p.Title(), p.Source, p.Total)}
		}
		if i > 0 && ps[i-1].Number == p.Number {
			return nil, &SeriesError{Series: name, Numbers: []int{p.Number}, Err: ErrDuplicatePatch,
				Reason: fmt.Sprintf("patch %d appears twice: %s (%s) and %s (%s); remove one",
					p.Number, ps[i-1].Title(), ps[i-1].Source, p.Title(), p.Source)}
		}
	}
	if missing := missingNumbers(ps, first.Total); len(missing) > 0 {
		reason := fmt.Sprintf("missing patches %s of %d (have %s); get the whole series, e.g. with b4 am",
			formatNumbers(missing), first.Total, formatNumbers(numbersOf(ps)))
		if len(c.noDiff) > 0 {
			reason += "; messages without a diff: " + strings.Join(c.noDiff, ", ")
		}
		return nil, &SeriesError{Series: name, Numbers: missing, Err: ErrMissingPatch, Reason: reason}
	}
	return &Series{Name: name, Version: first.Version, Patches: ps, Cover: c.cover}, nil
}

func missingNumbers(ps []Patch, total int) []int {
	have := map[int]bool{}
	for _, p := range ps {
		have[p.Number] = true
	}
	var missing []int
	for n := 1; n <= total; n++ {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

func numbersOf(ps []Patch) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Number
	}
	return out
}

// formatNumbers renders sorted numbers as ranges: "1-3, 5, 7-8".
func formatNumbers(ns []int) string {
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ns[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ns[i], ns[j]))
		}
		i = j + 1
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Plus returns a copy of the series with extra's patches after its own,
// numbered on from its last patch (a known-bad edit on top of a series, as
// the mutation suite makes). The ID changes with them.
func (s *Series) Plus(extra *Series) *Series {
	out := &Series{Name: s.Name + "+" + extra.Name, Version: s.Version, Cover: s.Cover}
	out.Patches = append(out.Patches, s.Patches...)
	next := 1
	if n := len(s.Patches); n > 0 {
		next = s.Patches[n-1].Number + 1
	}
	for i, p := range extra.Patches {
		p.Number = next + i
		out.Patches = append(out.Patches, p)
	}
	return out
}
