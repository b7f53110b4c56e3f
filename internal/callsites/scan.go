package callsites

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

// ErrUnsupported is wrapped by Scan's error when the file is not a linked
// x86-64 ELF binary (another architecture, or an object whose call targets
// are not resolved yet).
var ErrUnsupported = errors.New("unsupported binary")

// Guard symbols and section, as the series' linker script names them.
const (
	guardSection = "__sancov_guards"
	guardStart   = "__start___sancov_guards"
	guardStop    = "__stop___sancov_guards"
	guardSize    = 4 // bytes per guard (u32)
)

// Options tune Scan.
type Options struct {
	// Workers is how many goroutines decode functions; 0 means GOMAXPROCS.
	Workers int
}

// Scan decodes the functions of the x86-64 ELF binary at path (a vmlinux)
// and counts the call sites of every coverage hook it defines. It walks
// each sized function symbol of the executable sections, then the bytes
// between them, so the count covers every site the guard array has a
// guard for. A byte that does not decode is skipped and counted.
func Scan(ctx context.Context, path string, opts Options) (*Report, error) {
	start := time.Now()
	f, err := elf.Open(path)
	if err != nil {
		var bad *elf.FormatError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("callsites: %s is not an ELF file (want a vmlinux): %w", path, err)
		}
		return nil, fmt.Errorf("callsites: %w", err)
	}
	defer f.Close()
	img, err := load(f, path)
	if err != nil {
		return nil, err
	}
	r := &Report{Path: path, Sizes: sizes(f), Guards: img.guards}
	if st, err := os.Stat(path); err == nil {
		r.Sizes.File = uint64(st.Size())
	}
	if img.guards != nil {
		r.Sizes.Guards = img.guards.Bytes
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	t, err := img.decodeAll(ctx, workers)
	if err != nil {
		return nil, fmt.Errorf("callsites: scan %s: %w", path, err)
	}
	img.fill(r, t)
	r.finish()
	r.Elapsed = time.Since(start)
	return r, nil
}

// image is what Scan needs of the binary: code, function bounds, hooks.
type image struct {
	secs    []execSection
	funcs   []function // by section and address, none inside another; gaps last
	aliases int
	hooks   []HookSites // the hooks the binary defines, in Hooks order
	hookAt  map[uint64]int
	guardAt int // index of TracePCGuard in hooks, -1 without it
	guards  *Guards
}

type execSection struct {
	name string
	size uint64
}

type function struct {
	addr uint64
	code []byte
	sec  int // index in image.secs
	// gap marks bytes no function symbol covers: padding, code of
	// assembly without symbol sizes, and dead copies of overridden weak
	// functions (which still have call sites and guards).
	gap bool
}

func load(f *elf.File, path string) (*image, error) {
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("callsites: %s is %v %v, want an x86-64 vmlinux: %w", path, f.Class, f.Machine, ErrUnsupported)
	}
	if f.Type == elf.ET_REL {
		return nil, fmt.Errorf("callsites: %s is a relocatable object, its call targets are not resolved; link it first: %w", path, ErrUnsupported)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("callsites: %s: %w (scan the vmlinux from the build tree, not a stripped copy)", path, err)
	}
	img := &image{hookAt: map[uint64]int{}, guardAt: -1}
	secOf := map[elf.SectionIndex]int{}
	var code []sectionCode
	for i, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("callsites: %s: read %s: %w", path, s.Name, err)
		}
		secOf[elf.SectionIndex(i)] = len(img.secs)
		img.secs = append(img.secs, execSection{name: s.Name, size: s.Size})
		code = append(code, sectionCode{addr: s.Addr, data: data})
	}
	img.addFuncs(syms, secOf, code)
	img.dropNested()
	img.addGaps(code)
	img.findHooks(syms, secOf)
	img.guards = findGuards(f, syms)
	return img, nil
}

type sectionCode struct {
	addr uint64
	data []byte
}

// addFuncs adds the sized function symbols of the executable sections.
func (img *image) addFuncs(syms []elf.Symbol, secOf map[elf.SectionIndex]int, code []sectionCode) {
	for _, sym := range syms {
		if elf.ST_TYPE(sym.Info) != elf.STT_FUNC || sym.Size == 0 {
			continue
		}
		sec, ok := secOf[sym.Section]
		if !ok {
			continue
		}
		c := code[sec]
		if sym.Value < c.addr || sym.Value >= c.addr+uint64(len(c.data)) {
			continue
		}
		lo := sym.Value - c.addr
		hi := min(lo+sym.Size, uint64(len(c.data)))
		img.funcs = append(img.funcs, function{addr: sym.Value, code: c.data[lo:hi:hi], sec: sec})
	}
}

// dropNested sorts the functions by section and address and keeps, of
// functions that overlap, the first (and at one address the longest), so
// no byte is decoded twice.
func (img *image) dropNested() {
	fs := img.funcs
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.sec != b.sec {
			return a.sec < b.sec
		}
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		return len(a.code) > len(b.code)
	})
	out := fs[:0]
	for _, fn := range fs {
		if n := len(out); n > 0 {
			last := out[n-1]
			if last.sec == fn.sec && fn.addr < last.addr+uint64(len(last.code)) {
				img.aliases++
				continue
			}
		}
		out = append(out, fn)
	}
	img.funcs = out
}

// displaced names the sections whose code runs somewhere else: the kernel
// copies alternative instructions over the original ones at boot, so their
// relative call targets mean nothing where they are linked. They come from
// inline assembly, which has no coverage call sites.
var displaced = map[string]bool{".altinstr_replacement": true}

// addGaps adds the bytes of each executable section that no function
// covers as gap pseudo-functions. The functions must be sorted by section
// and address.
func (img *image) addGaps(code []sectionCode) {
	var gaps []function
	fi := 0
	for sec, c := range code {
		pos := c.addr
		end := c.addr + uint64(len(c.data))
		for ; fi < len(img.funcs) && img.funcs[fi].sec == sec; fi++ {
			fn := img.funcs[fi]
			if fn.addr > pos && !displaced[img.secs[sec].name] {
				gaps = append(gaps, function{addr: pos, code: c.data[pos-c.addr : fn.addr-c.addr], sec: sec, gap: true})
			}
			pos = fn.addr + uint64(len(fn.code))
		}
		if pos < end && !displaced[img.secs[sec].name] {
			gaps = append(gaps, function{addr: pos, code: c.data[pos-c.addr:], sec: sec, gap: true})
		}
	}
	img.funcs = append(img.funcs, gaps...)
}

// findHooks records the address of every hook defined in an executable
// section.
func (img *image) findHooks(syms []elf.Symbol, secOf map[elf.SectionIndex]int) {
	addr := map[string]uint64{}
	for _, s := range syms {
		if _, exec := secOf[s.Section]; exec && s.Value != 0 {
			addr[s.Name] = s.Value
		}
	}
	for _, name := range Hooks {
		a, ok := addr[name]
		if !ok {
			continue
		}
		if name == TracePCGuard {
			img.guardAt = len(img.hooks)
		}
		img.hookAt[a] = len(img.hooks)
		img.hooks = append(img.hooks, HookSites{Name: name, Addr: a})
	}
}

// findGuards locates the guard array: between __start___sancov_guards and
// __stop___sancov_guards, or else the __sancov_guards section.
func findGuards(f *elf.File, syms []elf.Symbol) *Guards {
	var start, stop uint64
	var haveStart, haveStop bool
	for _, s := range syms {
		switch s.Name {
		case guardStart:
			start, haveStart = s.Value, true
		case guardStop:
			stop, haveStop = s.Value, true
		}
	}
	own := f.Section(guardSection)
	if !haveStart || !haveStop || stop < start {
		if own == nil {
			return nil
		}
		start, stop = own.Addr, own.Addr+own.Size
	}
	g := &Guards{Start: start, Stop: stop, Bytes: stop - start, Count: int((stop - start) / guardSize)}
	holder := own
	if holder == nil {
		for _, s := range f.Sections {
			if s.Flags&elf.SHF_ALLOC != 0 && start >= s.Addr && start < s.Addr+s.Size {
				holder = s
				break
			}
		}
	}
	if holder != nil {
		g.Section, g.NoBits = holder.Name, holder.Type == elf.SHT_NOBITS
	}
	return g
}

// sizes reads the sizes of the main output sections.
func sizes(f *elf.File) Sizes {
	size := func(name string) uint64 {
		if s := f.Section(name); s != nil {
			return s.Size
		}
		return 0
	}
	return Sizes{
		Text:     size(".text"),
		InitText: size(".init.text"),
		Rodata:   size(".rodata"),
		Data:     size(".data"),
		Bss:      size(".bss"),
	}
}

// fill copies the merged tally into the report.
func (img *image) fill(r *Report, t *tally) {
	r.Hooks = img.hooks
	for i := range r.Hooks {
		h, c := &r.Hooks[i], t.hooks[i]
		h.Calls, h.TailCalls, h.CondJumps = c.Calls, c.TailCalls, c.CondJumps
		h.CallBytes, h.SetupBytes = c.CallBytes, c.SetupBytes
		h.Unsymbolized = c.Unsymbolized
	}
	for i, s := range img.secs {
		sec := t.secs[i]
		sec.Name, sec.Size = s.name, s.size
		r.Exec = append(r.Exec, sec)
	}
	r.Decode = t.decode
	r.Decode.Aliases = img.aliases
	if g := r.Guards; g != nil {
		img.checkGuards(g, t)
	}
}

// checkGuards counts how the guard loads decoded at the call sites map
// onto the guard array.
func (img *image) checkGuards(g *Guards, t *tally) {
	seen := make([]uint8, g.Count)
	for _, a := range t.guardRefs {
		g.Loaded++
		if a < g.Start || a >= g.Start+uint64(g.Count)*guardSize || (a-g.Start)%guardSize != 0 {
			g.Outside++
			continue
		}
		i := (a - g.Start) / guardSize
		switch seen[i] {
		case 0:
			g.Distinct++
		case 1:
			g.Shared++
		}
		if seen[i] < 2 {
			seen[i]++
		}
	}
}
