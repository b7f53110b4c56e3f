package callsites

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/arch/x86/x86asm"
)

// tally is what one worker counted; tallies add up.
type tally struct {
	hooks     []HookSites // counts only, indexed like image.hooks
	secs      []Section   // counts only, indexed like image.secs
	decode    Decode
	guardRefs []uint64 // guard addresses loaded before trace_pc_guard calls
}

func (img *image) newTally() *tally {
	return &tally{hooks: make([]HookSites, len(img.hooks)), secs: make([]Section, len(img.secs))}
}

func (t *tally) add(o *tally) {
	for i, h := range o.hooks {
		d := &t.hooks[i]
		d.Calls += h.Calls
		d.TailCalls += h.TailCalls
		d.CondJumps += h.CondJumps
		d.Unsymbolized += h.Unsymbolized
		d.CallBytes += h.CallBytes
		d.SetupBytes += h.SetupBytes
	}
	for i, s := range o.secs {
		d := &t.secs[i]
		d.Functions += s.Functions
		d.CodeBytes += s.CodeBytes
		d.PCSites += s.PCSites
		d.PCBytes += s.PCBytes
		d.Sites += s.Sites
		d.SiteBytes += s.SiteBytes
	}
	t.decode.Functions += o.decode.Functions
	t.decode.Instructions += o.decode.Instructions
	t.decode.Bytes += o.decode.Bytes
	t.decode.GapBytes += o.decode.GapBytes
	t.decode.Errors += o.decode.Errors
	t.decode.BadBytes += o.decode.BadBytes
	t.guardRefs = append(t.guardRefs, o.guardRefs...)
}

// chunkBytes is about how much code a worker takes at a time (a variable
// so tests can split small binaries).
var chunkBytes = 256 << 10

// decodeAll walks every function with the given number of workers, each
// taking the next chunk of functions until none is left or ctx is done.
func (img *image) decodeAll(ctx context.Context, workers int) (*tally, error) {
	var chunks [][]function
	lo, n := 0, 0
	for i, fn := range img.funcs {
		n += len(fn.code)
		if n >= chunkBytes || i == len(img.funcs)-1 {
			chunks = append(chunks, img.funcs[lo:i+1])
			lo, n = i+1, 0
		}
	}
	tallies := make([]*tally, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range tallies {
		t := img.newTally()
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := int(next.Add(1)) - 1
				if c >= len(chunks) {
					return
				}
				for _, fn := range chunks[c] {
					img.walk(fn, t)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sum := img.newTally()
	for _, t := range tallies {
		sum.add(t)
	}
	return sum, nil
}

// rdiLoad is the last instruction of the current straight-line run that
// wrote rdi: the guard pointer load when it names a constant address.
type rdiLoad struct {
	len     int
	addr    uint64
	isConst bool
}

// walk decodes one function instruction by instruction. A byte that does
// not start a decodable instruction is skipped and counted. In a gap,
// padding bytes (int3, zero) between instructions are skipped silently.
func (img *image) walk(fn function, t *tally) {
	sec := &t.secs[fn.sec]
	if fn.gap {
		t.decode.GapBytes += uint64(len(fn.code))
	} else {
		sec.Functions++
		sec.CodeBytes += uint64(len(fn.code))
		t.decode.Functions++
		t.decode.Bytes += uint64(len(fn.code))
	}
	var rdi rdiLoad
	bad := false
	for off := 0; off < len(fn.code); {
		if fn.gap && (fn.code[off] == 0xcc || fn.code[off] == 0) {
			off++
			rdi = rdiLoad{}
			continue
		}
		inst, err := x86asm.Decode(fn.code[off:], 64)
		if err != nil {
			if !bad {
				t.decode.Errors++
			}
			bad = true
			t.decode.BadBytes++
			off++
			rdi = rdiLoad{}
			continue
		}
		bad = false
		t.decode.Instructions++
		pc := fn.addr + uint64(off)
		off += inst.Len
		kind := branchKind(inst.Op)
		if kind == notBranch {
			if writesRDI(inst) {
				rdi = loadOf(inst, pc)
			}
			continue
		}
		if inst.PCRel > 0 {
			if rel, ok := inst.Args[0].(x86asm.Rel); ok {
				target := pc + uint64(inst.Len) + uint64(int64(rel))
				if h, ok := img.hookAt[target]; ok {
					img.count(t, sec, h, kind, inst.Len, rdi, fn.gap)
				}
			}
		}
		rdi = rdiLoad{}
	}
}

// count records one call site of hook h.
func (img *image) count(t *tally, sec *Section, h int, kind branch, n int, rdi rdiLoad, gap bool) {
	c := &t.hooks[h]
	if gap {
		c.Unsymbolized++
	}
	switch kind {
	case callBranch:
		c.Calls++
	case jumpBranch:
		c.TailCalls++
	default:
		c.CondJumps++
	}
	bytes := uint64(n)
	if h == img.guardAt && rdi.isConst {
		bytes += uint64(rdi.len)
		c.SetupBytes += uint64(rdi.len)
		t.guardRefs = append(t.guardRefs, rdi.addr)
	}
	c.CallBytes += uint64(n)
	sec.Sites++
	sec.SiteBytes += bytes
	if isPCHook(img.hooks[h].Name) {
		sec.PCSites++
		sec.PCBytes += bytes
	}
}

type branch int

const (
	notBranch  branch = iota
	callBranch        // call
	jumpBranch        // unconditional jump
	condBranch        // conditional jump or loop
	otherFlow         // ret, ud2, int3 and the like: end of a run, no target
)

func branchKind(op x86asm.Op) branch {
	switch op {
	case x86asm.CALL:
		return callBranch
	case x86asm.JMP:
		return jumpBranch
	case x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JCXZ, x86asm.JE,
		x86asm.JECXZ, x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.JNE,
		x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO, x86asm.JP, x86asm.JRCXZ,
		x86asm.JS, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
		return condBranch
	case x86asm.RET, x86asm.LRET, x86asm.LCALL, x86asm.LJMP, x86asm.IRET,
		x86asm.IRETD, x86asm.IRETQ, x86asm.UD2, x86asm.INT, x86asm.SYSCALL,
		x86asm.SYSRET:
		return otherFlow
	}
	return notBranch
}

// writesRDI tells whether inst's destination (its first operand in Intel
// order) is rdi or a part of it.
func writesRDI(inst x86asm.Inst) bool {
	r, ok := inst.Args[0].(x86asm.Reg)
	return ok && (r == x86asm.RDI || r == x86asm.EDI || r == x86asm.DI || r == x86asm.DIB)
}

// loadOf describes an instruction that writes rdi: a constant address when
// it is mov rdi/edi, imm or lea rdi, [rip+disp].
func loadOf(inst x86asm.Inst, pc uint64) rdiLoad {
	l := rdiLoad{len: inst.Len}
	dst := inst.Args[0].(x86asm.Reg)
	switch inst.Op {
	case x86asm.MOV:
		imm, ok := inst.Args[1].(x86asm.Imm)
		switch {
		case ok && dst == x86asm.RDI:
			l.addr, l.isConst = uint64(int64(imm)), true
		case ok && dst == x86asm.EDI:
			l.addr, l.isConst = uint64(uint32(imm)), true
		}
	case x86asm.LEA:
		m, ok := inst.Args[1].(x86asm.Mem)
		if ok && dst == x86asm.RDI && m.Base == x86asm.RIP && m.Index == 0 {
			l.addr, l.isConst = pc+uint64(inst.Len)+uint64(m.Disp), true
		}
	}
	return l
}
