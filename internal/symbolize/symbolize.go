// Package symbolize maps kernel PCs, as KCOV records them, to functions
// (from vmlinux's ELF symbol table) and, when the kernel was built with
// DWARF, to file:line. It reads vmlinux with debug/elf and debug/dwarf and
// needs nothing else on the host. Tests build a tiny ELF with the Go
// toolchain's own output (the test binary) so they run anywhere.
package symbolize

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

type sym struct {
	addr, size uint64
	name       string
}

// Table answers PC lookups for one binary.
type Table struct {
	syms  []sym
	dwarf *dwarf.Data
	lines map[uint64]lineInfo
}

type lineInfo struct {
	file string
	line int
}

// Open reads the function symbols (and DWARF, when present) of an ELF file.
func Open(path string) (*Table, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbolize: %w", err)
	}
	defer f.Close()
	all, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbolize %s: %w", path, err)
	}
	t := &Table{}
	for _, s := range all {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value == 0 {
			continue
		}
		t.syms = append(t.syms, sym{addr: s.Value, size: s.Size, name: s.Name})
	}
	sort.Slice(t.syms, func(i, j int) bool { return t.syms[i].addr < t.syms[j].addr })
	if d, err := f.DWARF(); err == nil {
		t.dwarf = d
	}
	return t, nil
}

// Len is the number of function symbols.
func (t *Table) Len() int { return len(t.syms) }

// HasDWARF tells whether file:line lookups can succeed.
func (t *Table) HasDWARF() bool { return t.dwarf != nil }

// Func returns the function containing pc and pc's offset in it.
func (t *Table) Func(pc uint64) (string, uint64, bool) {
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].addr > pc }) - 1
	if i < 0 {
		return "", 0, false
	}
	s := t.syms[i]
	if s.size != 0 && pc >= s.addr+s.size {
		return "", 0, false
	}
	return s.name, pc - s.addr, true
}

// Line returns the source line of pc from DWARF.
func (t *Table) Line(pc uint64) (string, int, bool) {
	if t.dwarf == nil {
		return "", 0, false
	}
	if t.lines == nil {
		t.lines = map[uint64]lineInfo{}
	}
	if li, ok := t.lines[pc]; ok {
		return li.file, li.line, li.file != ""
	}
	li := t.lookupLine(pc)
	t.lines[pc] = li
	return li.file, li.line, li.file != ""
}

func (t *Table) lookupLine(pc uint64) lineInfo {
	r := t.dwarf.Reader()
	cu, err := r.SeekPC(pc)
	if err != nil || cu == nil {
		return lineInfo{}
	}
	lr, err := t.dwarf.LineReader(cu)
	if err != nil || lr == nil {
		return lineInfo{}
	}
	var entry dwarf.LineEntry
	if err := lr.SeekPC(pc, &entry); err != nil || entry.File == nil {
		return lineInfo{}
	}
	return lineInfo{file: entry.File.Name, line: entry.Line}
}

// Describe renders pc as "func+0xoff (file:line)", or the bare address.
func (t *Table) Describe(pc uint64) string {
	name, off, ok := t.Func(pc)
	if !ok {
		return fmt.Sprintf("%#x", pc)
	}
	s := fmt.Sprintf("%s+%#x", name, off)
	if file, line, ok := t.Line(pc); ok {
		s += fmt.Sprintf(" (%s:%d)", file, line)
	}
	return s
}

var kernelPC = regexp.MustCompile(`0xffffffff[0-9a-f]{8}`)

// Text replaces every kernel address in s by its description.
func (t *Table) Text(s string) string {
	return kernelPC.ReplaceAllStringFunc(s, func(hex string) string {
		var pc uint64
		fmt.Sscanf(strings.TrimPrefix(hex, "0x"), "%x", &pc)
		if _, _, ok := t.Func(pc); !ok {
			return hex
		}
		return t.Describe(pc)
	})
}
