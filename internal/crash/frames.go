package crash

import (
	"regexp"
	"strconv"
	"strings"
)

// Frame is one function of a report's stack: a RIP line or a call-trace
// line, as printed or as symbolized on the host.
type Frame struct {
	// Func is the function ("" for an address no symbol covers) and Off
	// the offset in it.
	Func string
	Off  uint64
	// PC is the address the console printed, 0 when it printed a symbol.
	PC uint64
	// Where is the source: "file:line" with DWARF, the file without.
	Where string
	// RIP marks the instruction pointer of a register dump (the crash
	// site, or where an interrupt or exception hit).
	RIP bool
	// Unreliable marks a "?" frame: a return address the unwinder found
	// on the stack but could not prove is part of the call chain.
	Unreliable bool
	// InIRQ marks frames between <IRQ> (or <NMI>, <SOFTIRQ>) and its end.
	InIRQ bool
}

// String renders the frame as "func+0xoff (where)".
func (f Frame) String() string {
	s := f.Func
	if s == "" {
		return "0x" + strconv.FormatUint(f.PC, 16)
	}
	if f.Off != 0 || f.PC != 0 {
		s += "+0x" + strconv.FormatUint(f.Off, 16)
	}
	if f.Where != "" {
		s += " (" + f.Where + ")"
	}
	return s
}

var (
	// ripLine: "RIP: 0010:func+0x66/0xe0 [file:line]" or "RIP: 0010:0xffffffff811356bf".
	ripLine = regexp.MustCompile(`^RIP: [0-9a-f]{4}:(?:\[<[0-9a-f]+>\] )?(.*)$`)
	// frameLine: " ? func+0x12/0x70 [module] [file:line]", " func file:line"
	// (an inlined frame, as syzkaller prints them) or " ? 0xffffffff810844c1".
	frameLine = regexp.MustCompile(`^\s*(\? )?(?:\[<[0-9a-f]+>\] )?(.*)$`)
	symText   = regexp.MustCompile(`^([A-Za-z_][\w.]*)(?:\+0x([0-9a-f]+)/0x[0-9a-f]+)?(?: \[[\w-]+\])?(?: (\S+:\d+))?\s*$`)
	addrText  = regexp.MustCompile(`^0x(ffffffff[0-9a-f]{8})\s*$`)
)

// parseFrame reads the "func+off/size" or raw-address text of a frame.
func parseFrame(text string) (Frame, bool) {
	text = strings.TrimSpace(text)
	if m := addrText.FindStringSubmatch(text); m != nil {
		pc, _ := strconv.ParseUint(m[1], 16, 64)
		return Frame{PC: pc}, true
	}
	m := symText.FindStringSubmatch(text)
	if m == nil {
		return Frame{}, false
	}
	f := Frame{Func: m[1], Where: m[3]}
	if m[2] == "" && m[3] == "" {
		// A bare word is not a frame: a frame has an offset or a source.
		return Frame{}, false
	}
	f.Off, _ = strconv.ParseUint(m[2], 16, 64)
	return f, true
}

// Symbols is what Parse needs from the kernel's vmlinux (internal/symbolize's
// Table has it): the function and offset of an address, and its source.
type Symbols interface {
	Func(pc uint64) (name string, off uint64, ok bool)
	Source(pc uint64) string
}

// CallChecker is an optional part of Symbols: whether the instruction
// before a return address is a call, and to where. A kernel built with
// the guess unwinder (no frame pointers, no ORC) prints every text
// address on the stack with "?", stale ones included; a stale return
// address is told apart by its call not reaching any function of the
// frames above it.
type CallChecker interface {
	// CallBefore reports the call instruction that ends just before ret:
	// isCall is false when there is none; target is the callee of a
	// direct call, 0 for an indirect one.
	CallBefore(ret uint64) (target uint64, isCall, ok bool)
}

// symbolizeFrame fills a raw frame's function and source from syms, and
// a printed frame's source when it has none.
func symbolizeFrame(f *Frame, syms Symbols) {
	if syms == nil || f.PC == 0 {
		return
	}
	if name, off, ok := syms.Func(f.PC); ok {
		f.Func, f.Off = name, off
		f.Where = syms.Source(f.PC)
	}
}
