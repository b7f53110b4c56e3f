// Package symbolize maps kernel PCs, as KCOV records them, to functions
// (from vmlinux's ELF symbol table) and, when the kernel was built with
// DWARF, to file:line; without DWARF, to the source file named by the
// build's function index (AddFuncFiles). For crash reports it also tells
// whether a stack word is a return address (CallBefore: the call before
// it, decoded with x86asm). It reads vmlinux with debug/elf and
// debug/dwarf and needs nothing else on the host. Tests build a tiny ELF
// with the Go toolchain's own output (the test binary) so they run
// anywhere.
package symbolize

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

type sym struct {
	addr, size uint64
	name       string
	// file is the basename of the STT_FILE symbol a local symbol follows
	// in the symbol table (the linker keeps each object's locals after
	// its file symbol); "" for globals.
	file string
}

// Table answers PC lookups for one binary.
type Table struct {
	syms  []sym
	dwarf *dwarf.Data
	lines map[uint64]lineInfo
	// funcFiles maps function names to source files (see AddFuncFiles).
	funcFiles map[string][]string
	// asm are the sized untyped symbols of executable sections, for
	// addresses no function covers.
	asm []sym
	// path and text locate the executable sections, for CallBefore.
	path string
	text []section
}

// section is an executable section's address range and file offset.
type section struct{ addr, size, off uint64 }

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
	t := &Table{path: path}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_PROGBITS && s.Flags&elf.SHF_EXECINSTR != 0 {
			t.text = append(t.text, section{addr: s.Addr, size: s.Size, off: s.Offset})
		}
	}
	file := ""
	for _, s := range all {
		if elf.ST_TYPE(s.Info) == elf.STT_FILE {
			file = s.Name
		}
		if elf.ST_TYPE(s.Info) == elf.STT_NOTYPE && s.Size > 0 && s.Value != 0 && int(s.Section) < len(f.Sections) &&
			f.Sections[s.Section].Flags&elf.SHF_EXECINSTR != 0 {
			// Assembly entry code (entry_SYSCALL_64, ret_from_fork_asm,
			// asm_exc_page_fault) has sized symbols of no type.
			t.asm = append(t.asm, sym{addr: s.Value, size: s.Size, name: s.Name})
			continue
		}
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value == 0 {
			continue
		}
		e := sym{addr: s.Value, size: s.Size, name: s.Name}
		if elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			e.file = file
		}
		t.syms = append(t.syms, e)
	}
	sort.Slice(t.syms, func(i, j int) bool { return t.syms[i].addr < t.syms[j].addr })
	sort.Slice(t.asm, func(i, j int) bool { return t.asm[i].addr < t.asm[j].addr })
	if d, err := f.DWARF(); err == nil {
		t.dwarf = d
	}
	return t, nil
}

// Symbol is a function for New.
type Symbol struct {
	Name       string
	Addr, Size uint64
	// File is the basename of its object's STT_FILE symbol, for locals.
	File string
}

// New makes a table from symbols, e.g. in tests of code that symbolizes.
func New(syms []Symbol) *Table {
	t := &Table{}
	for _, s := range syms {
		t.syms = append(t.syms, sym{addr: s.Addr, size: s.Size, name: s.Name, file: s.File})
	}
	sort.Slice(t.syms, func(i, j int) bool { return t.syms[i].addr < t.syms[j].addr })
	return t
}

// Len is the number of function symbols.
func (t *Table) Len() int { return len(t.syms) }

// HasDWARF tells whether file:line lookups can succeed.
func (t *Table) HasDWARF() bool { return t.dwarf != nil }

// Func returns the function containing pc and pc's offset in it.
func (t *Table) Func(pc uint64) (string, uint64, bool) {
	s, ok := t.lookup(pc)
	return s.name, pc - s.addr, ok
}

// Addr returns the address of the function named name (the first, when
// several static functions share the name), e.g. to symbolize a console
// frame "name+0x12/0x70" as Describe(Addr(name)+0x12).
func (t *Table) Addr(name string) (uint64, bool) {
	for _, s := range t.syms {
		if s.name == name {
			return s.addr, true
		}
	}
	return 0, false
}

func (t *Table) lookup(pc uint64) (sym, bool) {
	if s, ok := lookupIn(t.syms, pc); ok {
		return s, true
	}
	s, ok := lookupIn(t.asm, pc)
	return s, ok && pc < s.addr+s.size
}

func lookupIn(syms []sym, pc uint64) (sym, bool) {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > pc }) - 1
	if i < 0 {
		return sym{}, false
	}
	s := syms[i]
	if s.size != 0 && pc >= s.addr+s.size {
		return sym{}, false
	}
	return s, true
}

// AddFuncFiles reads a function-to-source index, one "name<TAB>file[,file]"
// line per function (the kernel build's funcs.tsv), so that PCs name their
// source file when the kernel has no DWARF.
func (t *Table) AddFuncFiles(r io.Reader) error {
	t.funcFiles = map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, files, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return fmt.Errorf("symbolize: function index: bad line %q", sc.Text())
		}
		t.funcFiles[name] = strings.Split(files, ",")
	}
	return sc.Err()
}

// File returns the source file of pc's function: from DWARF when the
// kernel has it, else from the function index, where a static function
// defined in several files is told apart by its STT_FILE basename.
func (t *Table) File(pc uint64) (string, bool) {
	if file, _, ok := t.Line(pc); ok {
		return file, true
	}
	s, ok := t.lookup(pc)
	if !ok {
		return "", false
	}
	var match []string
	for _, f := range t.funcFiles[s.name] {
		if len(t.funcFiles[s.name]) == 1 || s.file == "" || path.Base(f) == s.file {
			match = append(match, f)
		}
	}
	switch {
	case len(match) > 0:
		return strings.Join(match, ","), true
	case s.file != "":
		return s.file, true
	}
	return "", false
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

// Source is pc's source for a report: "file:line" with DWARF, the file
// without, "" when unknown.
func (t *Table) Source(pc uint64) string {
	if file, line, ok := t.Line(pc); ok {
		return fmt.Sprintf("%s:%d", file, line)
	}
	file, _ := t.File(pc)
	return file
}

// CallBefore reads the instruction that ends just before ret, an x86-64
// return address: isCall is true for a call (a direct one, E8 rel32,
// with its target; an indirect one, FF /2, with target 0). ok is false
// when the code cannot be read (a table made by New, an address outside
// the executable sections).
func (t *Table) CallBefore(ret uint64) (target uint64, isCall, ok bool) {
	var b [7]byte
	if !t.readText(ret-uint64(len(b)), b[:]) {
		return 0, false, false
	}
	target, isCall = callBefore(b, ret)
	return target, isCall, true
}

// callBefore decodes the call instruction, if any, that ends at the end
// of b, the bytes just before the return address ret: a direct call
// (E8 rel32, 5 bytes) first, then indirect ones of 2 to 7 bytes.
func callBefore(b [7]byte, ret uint64) (target uint64, isCall bool) {
	for _, n := range []int{5, 2, 3, 4, 6, 7} {
		inst, err := x86asm.Decode(b[len(b)-n:], 64)
		if err != nil || inst.Len != n || inst.Op != x86asm.CALL {
			continue
		}
		if rel, ok := inst.Args[0].(x86asm.Rel); ok {
			return uint64(int64(ret) + int64(rel)), true
		}
		return 0, true
	}
	return 0, false
}

func (t *Table) readText(addr uint64, b []byte) bool {
	for _, s := range t.text {
		if addr < s.addr || addr+uint64(len(b)) > s.addr+s.size {
			continue
		}
		f, err := os.Open(t.path)
		if err != nil {
			return false
		}
		defer f.Close()
		_, err = f.ReadAt(b, int64(s.off+addr-s.addr))
		return err == nil
	}
	return false
}

// Describe renders pc as "func+0xoff (file:line)", "func+0xoff (file)"
// without DWARF, or the bare address.
func (t *Table) Describe(pc uint64) string {
	name, off, ok := t.Func(pc)
	if !ok {
		return fmt.Sprintf("%#x", pc)
	}
	s := fmt.Sprintf("%s+%#x", name, off)
	if file, line, ok := t.Line(pc); ok {
		s += fmt.Sprintf(" (%s:%d)", file, line)
	} else if file, ok := t.File(pc); ok {
		s += fmt.Sprintf(" (%s)", file)
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
