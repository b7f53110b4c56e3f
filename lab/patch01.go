package lab

import (
	"regexp"
	"slices"
	"strings"
)

// This file matches a boot-gate crash against the trace patch 01 ("x86:
// kcov: disable instrumentation of arch/x86/kernel/tsc.c") cites in its
// message. It is a small local matcher over the console's frames; a shared
// crash-report parser may replace ParseFrames and KCOVCaller later.

// Frame is one stack frame as the console (or a commit message) prints it.
type Frame struct {
	Func string
	// Off is "+0x12/0x70"; "" for a frame the message names without an
	// offset (an inlined function, printed with file:line only).
	Off string
	// RIP is set for "RIP: 0010:fn+off" lines: the start of a context
	// (the interrupted code, or the faulting instruction).
	RIP bool
	// Unreliable frames are printed with "? " by the unwinder.
	Unreliable bool
}

var frameRe = regexp.MustCompile(`^\s*(?:\[\s*[\d.]+\]\s*)?(\? )?(RIP: [0-9a-f]{4}:)?\s*([A-Za-z_][\w.]*)(\+0x[0-9a-f]+/0x[0-9a-f]+)?(\s+\S+\.\w+:\d+)?\s*$`)

// ParseFrames returns the frames of a console report or a commit message's
// trace, in printed order (innermost context first). A line counts as a
// frame when it carries an offset ("fn+0x1/0x2") or, without one, a
// file:line (an inlined frame in a symbolized trace).
func ParseFrames(text string) []Frame {
	var out []Frame
	for _, line := range strings.Split(text, "\n") {
		m := frameRe.FindStringSubmatch(line)
		if m == nil || m[4] == "" && m[5] == "" {
			continue
		}
		out = append(out, Frame{Func: m[3], Off: m[4], RIP: m[2] != "", Unreliable: m[1] != ""})
	}
	return out
}

// kcovCallback are the coverage callback and the helpers it inlines or
// calls: a frame of one of them is KCOV recording a PC (kcov_init and the
// ioctl handlers are not).
var kcovCallback = regexp.MustCompile(`^(__sanitizer_cov_\w+|write_comp_data|check_kcov_mode|get_kcov_mode|kcov_append_to_buffer)$`)

// KCOVCaller is the instrumented function whose coverage callback started
// the crash: the first reliable frame after the last KCOV frame. Where the
// fault handler's own instrumented code faulted again (the nested RIPs of
// patch 01's trace), the last KCOV frame is the outermost fault's, so its
// caller is the original culprit, not the fault handler. ok is false when
// the trace has no KCOV frame followed by a caller.
func KCOVCaller(frames []Frame) (caller int, ok bool) {
	last := -1
	for i, f := range frames {
		if kcovCallback.MatchString(f.Func) {
			last = i
		}
	}
	if last < 0 {
		return 0, false
	}
	for i := last + 1; i < len(frames); i++ {
		if !frames[i].Unreliable && !kcovCallback.MatchString(frames[i].Func) {
			return i, true
		}
	}
	return 0, false
}

// FrameMatch is a crash's trace held against a reference trace (patch 01's).
type FrameMatch struct {
	// Guilty is the crash's KCOV caller, Want the reference's.
	Guilty, Want string
	// Path are the crash's frames from the guilty frame to the next
	// context (the interrupted code's RIP), the path that reached KCOV.
	Path []string
	// Matched are the reference's frames found in the crash's path, in
	// order; Missing the reference's real (not inlined) frames that were not.
	Matched, Missing []string
	// OK: the guilty frame is the reference's and the path went through
	// preempt_schedule_irq, i.e. the task was preempted from an interrupt's
	// exit and the scheduler's clock read reached KCOV in task context.
	OK bool
}

// preemptFrame is the frame patch 01's path cannot do without: an interrupt
// ending in preemption, which runs __schedule with the interrupted task
// still current and the hardirq count already dropped.
const preemptFrame = "preempt_schedule_irq"

// MatchFrames holds a crash's frames against a reference's.
func MatchFrames(crash, ref []Frame) FrameMatch {
	var m FrameMatch
	cPath, cOK := callerPath(crash)
	rPath, rOK := callerPath(ref)
	if rOK {
		m.Want = rPath[0].Func
	}
	if !cOK {
		return m
	}
	m.Guilty = cPath[0].Func
	for _, f := range cPath {
		if !f.Unreliable {
			m.Path = append(m.Path, f.Func)
		}
	}
	j := 0
	for _, f := range rPath {
		if k := slices.Index(m.Path[j:], f.Func); k >= 0 {
			m.Matched = append(m.Matched, f.Func)
			j += k + 1
		} else if f.Off != "" || f.RIP {
			m.Missing = append(m.Missing, f.Func)
		}
	}
	m.OK = rOK && m.Guilty == m.Want && slices.Contains(m.Path, preemptFrame)
	return m
}

// callerPath is the frames from the KCOV caller through the next RIP line
// (the context the path interrupted), inclusive.
func callerPath(frames []Frame) ([]Frame, bool) {
	i, ok := KCOVCaller(frames)
	if !ok {
		return nil, false
	}
	end := len(frames)
	for k := i + 1; k < len(frames); k++ {
		if frames[k].RIP {
			end = k + 1
			break
		}
	}
	return frames[i:end], true
}
