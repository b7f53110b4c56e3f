package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/internal/crash"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/series"
	"github.com/kcovlab/kcovlab/scenarios"
)

// bootTrial is one boot of a boot-gate scenario: it passes when the guest
// comes up to SSH, fails with the crash and its guilty frame when the
// kernel dies on the way. Kernels without CONFIG_KCOV_SELFTEST skip it.
func (r *run) bootTrial(ctx context.Context, s scenarios.Scenario, console string) (results.Scenario, error) {
	res := results.Scenario{Name: s.Name, Metrics: map[string]float64{"boots": 1}}
	if cfg, _ := os.ReadFile(r.kernel.Config); !strings.Contains(string(cfg), "\nCONFIG_KCOV_SELFTEST=y\n") {
		res.Verdict, res.Error = results.Skip, "the kernel is not built with CONFIG_KCOV_SELFTEST"
		return res, nil
	}
	g, err := r.startGuest(ctx, console)
	var be *BootError
	switch {
	case err == nil:
		r.stopGuest(ctx, g, true)
		res.Verdict = results.Pass
	case errors.As(err, &be) && be.Timeout:
		// A kernel that hung with no crash on the console: not a crash.
		res.Verdict, res.Metrics["timeouts"] = results.Fail, 1
		res.Error = be.Reason
	case errors.As(err, &be):
		res.Verdict, res.Metrics["crashes"] = results.Fail, 1
		res.Error = be.Reason
		if be.Crash != nil {
			res.Error = be.Crash.Title
			res.Evidence = r.crashEvidence(ctx, res.Metrics, be.Crash)
		}
	default:
		// The lab's failure (QEMU killed, a port clash) or a cancellation:
		// the run stops, nothing is counted against the kernel.
		return res, err
	}
	return res, nil
}

var frameLine = regexp.MustCompile(`^\s*(?:\[\s*[\d.]+\]\s*)?(?:RIP: \d+:)?\s*([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+`)

// kcovFrames are KCOV's own functions: the crash happens inside them, the
// guilty frame is the instrumented caller.
var kcovFrames = regexp.MustCompile(`^(__sanitizer_cov_|kcov_|check_kcov_mode|write_comp_data|__kcov)`)

// GuiltyFrame returns the first reliable frame of a crash report (RIP line
// first; "?" frames skipped)
// that is not KCOV itself: the instrumented code that called into KCOV.
func GuiltyFrame(report string) string {
	for _, line := range strings.Split(report, "\n") {
		m := frameLine.FindStringSubmatch(line)
		if m == nil || kcovFrames.MatchString(m[1]) {
			continue
		}
		return m[1]
	}
	return "unknown"
}

// crashEvidence names a boot-gate crash, from the console FindCrash read it
// in (not read again): its title, the guilty frame (the
// instrumented function whose coverage callback crashed, symbolized from
// vmlinux: "sched_clock+0x12 (arch/x86/kernel/tsc.c)"), the path from it to
// the interrupted code, and how it matches the trace patch 01 cites. It
// counts the crash in metrics: crashes_selftest_window (it came during
// KCOV's selftest), crashes_selftest (and KCOV's callback faulted),
// crashes_patch01 (a trace shows patch 01's path), else crashes_other.
func (r *run) crashEvidence(ctx context.Context, metrics map[string]float64, crash *KernelCrash) []string {
	console := crash.console
	report := crash.Report
	at := crash.Start
	if at < 0 || at >= len(console) {
		at = -1
	} else {
		report = firstReport(console[at:]) // a nested fault's trace is long
	}
	frames := ParseFrames(report)
	ev := []string{"crash: " + crash.Title}
	if len(frames) == 0 || !kcovCallback.MatchString(frames[0].Func) {
		// The first report can be another CPU's, hit by the memory the
		// selftest's overflowing stack corrupted: use KCOV's own if any.
		if r, ok := kcovReport(console); ok {
			report, frames = r, ParseFrames(r)
			ev = append(ev, "KCOV's report: "+strings.TrimSpace(strings.SplitN(r, "\n", 2)[0]))
		}
	}
	window := inSelftest(console, at)
	if window {
		// Inside the selftest's 300 ms, whoever's report came first.
		metrics["crashes_selftest_window"] = 1
	}
	selftest := window && len(frames) > 0 && kcovCallback.MatchString(frames[0].Func)
	if selftest {
		// KCOV's callback faulted while the selftest ran: coverage was
		// recorded for the selftest task from code it did not call.
		metrics["crashes_selftest"] = 1
		ev = append(ev, "during KCOV's selftest, in "+frames[0].Func+frames[0].Off, "console: "+excerpt(report))
	}
	if !selftest {
		metrics["crashes_other"] = 1
	}
	i, ok := KCOVCaller(frames)
	if !ok {
		why := "no KCOV frame with a caller in the trace"
		if len(frames) > 0 && !slices.ContainsFunc(frames[1:], func(f Frame) bool { return !f.RIP }) {
			why = "no call trace survived: " + frames[0].Func + " faulted again in the fault handler until the stack overflowed"
		}
		return append(ev, "guilty frame: "+GuiltyFrame(report), "patch 01 trace: no match ("+why+")")
	}
	ev = append(ev, "guilty frame: "+r.describeFrame(frames[i]))
	ref := r.patch01Frames(ctx)
	if ref == nil {
		return append(ev, "patch 01 trace: no reference (the kernel's series has no patch 01 with a trace)")
	}
	m := MatchFrames(frames, ref)
	ev = append(ev, "path: "+strings.Join(m.Path, " <- "))
	verdict := "does not match"
	if m.OK {
		metrics["crashes_patch01"] = 1
		verdict = "matches"
	}
	line := fmt.Sprintf("patch 01 trace: %s (guilty %s, patch 01's %s; %s %s); %d of %d of its frames in order: %s",
		verdict, m.Guilty, m.Want, preemptFrame, map[bool]string{true: "on the path", false: "not on the path"}[slices.Contains(m.Path, preemptFrame)],
		len(m.Matched), len(m.Matched)+len(m.Missing), strings.Join(m.Matched, ", "))
	if len(m.Missing) > 0 {
		line += "; not in this trace: " + strings.Join(m.Missing, ", ")
	}
	return append(ev, line)
}

// describeFrame symbolizes a console frame from vmlinux and the function
// index: "sched_clock+0x12 (arch/x86/kernel/tsc.c)".
func (r *run) describeFrame(f Frame) string {
	var off uint64
	if _, err := fmt.Sscanf(f.Off, "+0x%x/", &off); err != nil || r.syms == nil {
		return f.Func + f.Off
	}
	addr, ok := r.syms.Addr(f.Func)
	if !ok {
		return f.Func + f.Off
	}
	return r.syms.Describe(addr + off)
}

// patch01Frames is the trace in the message of patch 01 of the kernel's
// series, patches left out or not; nil when there is none.
func (r *run) patch01Frames(ctx context.Context) []Frame {
	def := r.def
	def.Exclude, def.Mutant = nil, ""
	s, err := def.LoadSeries(ctx, r.opts.ModuleDir)
	if err != nil || s == nil {
		return nil
	}
	return patch01Trace(s)
}

func patch01Trace(s *series.Series) []Frame {
	for _, p := range s.Patches {
		if p.Number == 1 {
			if f := ParseFrames(p.Message); len(f) > 0 {
				return f
			}
		}
	}
	return nil
}

// inSelftest tells whether the crash that starts at byte at of console
// came while KCOV's boot selftest ran: after its "running self test" line
// and before its "done".
func inSelftest(console string, at int) bool {
	start := strings.Index(console, "kcov: running self test")
	if start < 0 || at < start {
		return false
	}
	done := strings.Index(console[start:], "kcov: done running self test")
	return done < 0 || start+done > at
}

// nextReport starts another crash report: a CPU crashing after the first
// (its lines interleave with the first's), or a second oops.
var nextReport = regexp.MustCompile(`(?m)^(?:\[\s*[\d.]+\]\s*)?(?:BUG: |WARNING: |.*Oops: .*\[#[2-9]\])`)

// firstReport is report up to where another report starts.
func firstReport(report string) string {
	nl := strings.IndexByte(report, '\n')
	if nl < 0 {
		return report
	}
	if loc := nextReport.FindStringIndex(report[nl+1:]); loc != nil {
		return report[:nl+1+loc[0]]
	}
	return report
}

var excerptLine = regexp.MustCompile(`BUG: |Thread overran stack|stack guard page|RIP: |Call Trace:|double fault`)

// excerpt is a crash report's telling lines, timestamps off, one line:
// "BUG: ... | RIP: ... | Call Trace: (empty)".
func excerpt(report string) string {
	var out []string
	lines := strings.Split(report, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(regexp.MustCompile(`^\[\s*[\d.]+\]`).ReplaceAllString(l, ""))
		if !excerptLine.MatchString(l) || len(out) >= 4 {
			continue
		}
		if l == "Call Trace:" && (i+1 >= len(lines) || len(ParseFrames(lines[i+1])) == 0 && !strings.Contains(lines[i+1], "<")) {
			l += " (empty)"
		}
		out = append(out, l)
	}
	return strings.Join(out, " | ")
}

// printkStamp is a console line's printk time stamp and the space after.
var printkStamp = regexp.MustCompile(`^\[\s*[\d.]+\]\s*`)

// kcovReport is the first crash report on the console whose first frame
// is KCOV's callback.
func kcovReport(console string) (string, bool) {
	for _, rep := range crash.Parse(console, nil) {
		r := firstReport(printkStamp.ReplaceAllString(console[rep.Start:], ""))
		if f := ParseFrames(r); len(f) > 0 && kcovCallback.MatchString(f[0].Func) {
			return r, true
		}
	}
	return "", false
}
