package ask

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/stats"
	"github.com/kcovlab/kcovlab/lab"
)

// bootGateRuns is tsc-noise's default boots per kernel: the fewest for
// which half the boots crashing against none gives a two-sided Fisher p
// below 0.01 (14: 7 of 14 against 0 of 14 is p = 0.0058).
var bootGateRuns = stats.FisherRuns(0.5, 0.01, 100)

// noiseRuns are the irqnoise runs per kernel of tsc-noise's second half.
const noiseRuns = 5

// guiltyFn is patch 01's guilty frame, preemptFn the frame its path needs.
const (
	guiltyFn  = "sched_clock"
	preemptFn = "preempt_schedule_irq"
)

// gateCount is one kernel's boot gate, read from its bootgate result.
type gateCount struct {
	Kernel    string         `json:"kernel"`
	Boots     int            `json:"boots"`
	Crashes   int            `json:"crashes"`
	Patch01   int            `json:"crashes_patch01"`
	Selftest  int            `json:"crashes_selftest"`
	Timeouts  int            `json:"timeouts"`
	Guilty    map[string]int `json:"guilty_frames,omitempty"`
	Paths     map[string]int `json:"paths,omitempty"`
	Matches   []string       `json:"matches,omitempty"`
	Fragments []string       `json:"fragments,omitempty"`
	Excerpt   string         `json:"excerpt,omitempty"`
}

var (
	gateGuilty = regexp.MustCompile(`^trial \d+: guilty frame: (.+)$`)
	gatePath   = regexp.MustCompile(`^trial \d+: path: (.+)$`)
	gateMatch  = regexp.MustCompile(`^trial \d+: patch 01 trace: (.+)$`)
	// gateSelftest is the console's crash excerpt, for the answer.
	gateSelftest = regexp.MustCompile(`^trial \d+: console: (.+)$`)
)

func readGate(kernel string, res *results.Result) gateCount {
	g := gateCount{Kernel: kernel, Guilty: map[string]int{}, Paths: map[string]int{}, Fragments: res.Kernel.Fragments}
	s := findScenarioResult(res, "bootgate")
	if s == nil {
		return g
	}
	g.Boots, g.Crashes = int(s.Metrics["boots"]), int(s.Metrics["crashes"])
	g.Patch01, g.Timeouts = int(s.Metrics["crashes_patch01"]), int(s.Metrics["timeouts"])
	g.Selftest = int(s.Metrics["crashes_selftest"])
	for _, e := range s.Evidence {
		if m := gateGuilty.FindStringSubmatch(e); m != nil {
			g.Guilty[m[1]]++
		} else if m := gatePath.FindStringSubmatch(e); m != nil {
			g.Paths[m[1]]++
		} else if m := gateMatch.FindStringSubmatch(e); m != nil && len(g.Matches) < 1 {
			g.Matches = append(g.Matches, m[1])
		} else if m := gateSelftest.FindStringSubmatch(e); m != nil && g.Excerpt == "" {
			g.Excerpt = m[1]
		}
	}
	return g
}

func counted(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s x%d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func answerTSCNoise(ctx context.Context, a *asker) error {
	with, without := a.kernels[0], a.kernels[1]
	reproduced, err := a.crashGate(ctx)
	if err != nil {
		return err
	}
	// The in_task() answer rests on the gate and the built source only: it
	// is worked out now and printed last, also when the comparison fails.
	n := len(a.ans.Findings)
	a.inTaskAnswer(ctx, reproduced)
	inTask := slices.Clone(a.ans.Findings[n:])
	a.ans.Findings = a.ans.Findings[:n]
	defer func() { a.ans.Findings = append(a.ans.Findings, inTask...) }()
	cr, err := a.compareRunsN(ctx, noiseRuns, with, without, "irqnoise")
	if err != nil {
		return err
	}
	tscRuns := func(runs []*results.Result) []float64 {
		return metricValues(runs, "irqnoise", "noise_runs_by_file/"+tscFile, true)
	}
	nw, nwo := metricValues(cr.A, "irqnoise", "noise_runs", false), metricValues(cr.B, "irqnoise", "noise_runs", false)
	a.findf("Spurious coverage: noisy runs (of 6000 read(-1, NULL, 0) per boot, half of them with a spinning and a timer thread on the same CPU) whose PCs differ from the usual set: %s %s, %s %s; %s.",
		with, describe(nw), without, describe(nwo), pValue(nw, nwo))
	tw, two := tscRuns(cr.A), tscRuns(cr.B)
	a.findf("Runs with PCs in %s: %s %s, %s %s; %s. Patch 01 takes tsc.c out of instrumentation, so on %s none can appear.",
		tscFile, with, describe(tw), without, describe(two), pValue(tw, two), with)
	fA, totA, files := noisyFunctions(cr.A)
	fB, totB, filesB := noisyFunctions(cr.B)
	maps.Copy(files, filesB) // a function's file is the same in both kernels
	a.findf("Noisy functions, ranked by noisy runs summed over the runs: %s: %s. %s: %s.",
		with, rankLine(fA, totA, files, 6), without, rankLine(fB, totB, files, 8))
	var handlers []string
	for _, fn := range append(fA, fB...) {
		if lab.InterruptOnly(fn) {
			handlers = append(handlers, fn)
		}
	}
	if len(handlers) > 0 {
		a.findf("Interrupt-context functions reached a task's trace (%s): the in_task() filter let them through.", strings.Join(handlers, ", "))
	} else {
		a.findf("None of the noisy functions is an interrupt handler: every noisy PC is task-context code that ran for this task at moments it did not choose: %s.",
			byRule(append(fA, fB...)))
	}
	return nil
}

// crashGate boots the two CONFIG_KCOV_SELFTEST kernels a.runs times each
// and leads the answer with the crash rates, their Fisher p and the path.
func (a *asker) crashGate(ctx context.Context) (reproduced bool, err error) {
	a.opts.BootRuns = a.runs
	var gates []gateCount
	for _, k := range a.kernels[2:] {
		res, err := a.runOnce(ctx, k, "bootgate")
		if res == nil || res.Error != "" {
			return false, err
		}
		gates = append(gates, readGate(k, res))
	}
	with, without := gates[0], gates[1]
	// The lead counts crashes on patch 01's path when a trace shows it,
	// else crashes in KCOV's selftest whose trace did not survive.
	count := func(g gateCount) int { return g.Patch01 }
	if without.Patch01 == 0 && without.Selftest > 0 {
		count = func(g gateCount) int { return g.Selftest }
	}
	ft, err := stats.Fisher(count(without), without.Boots, count(with), with.Boots)
	if err != nil {
		return false, &lab.ScenarioError{Scenario: "bootgate", Err: err}
	}
	p := fmt.Sprintf("p = %.2g, two-sided Fisher's exact test, %d vs %d boots", ft.P, without.Boots, with.Boots)
	switch {
	case without.Patch01 > 0:
		a.findf("without patch 01: %d of %d boots crashed in %s (tsc.c) under %s; with it: %d of %d (%s). Kernels: %s and %s (CONFIG_PREEMPT, lockdep, CONFIG_KCOV_SELFTEST), %d vCPUs.",
			without.Patch01, without.Boots, guiltyFn, preemptFn, with.Patch01, with.Boots, p, without.Kernel, with.Kernel, a.opts.CPUs)
	case without.Selftest > 0:
		a.findf("without patch 01: %d of %d boots crashed in KCOV's selftest (the coverage callback ran for the selftest task and faulted on its NULL buffer); with it: %d of %d (%s). No call trace survived to name %s or %s: the callback faulted again in the page-fault handler's instrumented code until the stack overflowed (the trace is empty; scripts/first-kcov-fault.sh recovers it under gdb). Kernels: %s and %s (CONFIG_PREEMPT, lockdep, CONFIG_KCOV_SELFTEST), %d vCPUs.",
			without.Selftest, without.Boots, with.Selftest, with.Boots, p, guiltyFn, preemptFn, without.Kernel, with.Kernel, a.opts.CPUs)
		if with.Selftest == 0 && ft.P < 0.05 {
			a.findf("The two kernels differ only in tsc.c's instrumentation, so the crash needs tsc.c instrumented.")
		}
	default:
		a.findf("not reproduced: 0 of %d boots of %s (without patch 01) crashed in %s (tsc.c) under %s or in KCOV's selftest; with patch 01 (%s): %d of %d crashed that way (%s). Configs tried: fragments %s; %d vCPUs; extra kernel args %q; other crashes: %s; timeouts (hung boots) %d.",
			without.Boots, without.Kernel, guiltyFn, preemptFn, with.Kernel, with.Patch01, with.Boots, p,
			strings.Join(without.Fragments, ","), a.opts.CPUs, strings.Join(a.opts.Append, " "), orNone(counted(without.Guilty)), without.Timeouts)
	}
	for _, g := range gates {
		if g.Crashes == 0 {
			a.findf("%s: %d of %d boots crashed, %d hung.", g.Kernel, g.Crashes, g.Boots, g.Timeouts)
			continue
		}
		line := fmt.Sprintf("%s: %d of %d boots crashed (%d in KCOV's selftest, %d with patch 01's path in the trace), %d hung; guilty frames: %s; paths: %s.",
			g.Kernel, g.Crashes, g.Boots, g.Selftest, g.Patch01, g.Timeouts, orNone(counted(g.Guilty)), orNone(counted(g.Paths)))
		if len(g.Matches) > 0 {
			line += " Against patch 01's trace (first crash): " + g.Matches[0] + "."
		}
		if g.Excerpt != "" {
			line += " Console (first crash): " + g.Excerpt
		}
		a.findf("%s", line)
	}
	if with.Selftest > 0 || with.Patch01 > 0 {
		a.findf("Patch 01 does not stop the crash on %s: %d of %d boots with it crashed in KCOV's selftest too, so another instrumented function is on the same path (see the in_task() finding).",
			with.Kernel, with.Selftest, with.Boots)
	}
	a.ans.Data = map[string]any{"bootgate": gates, "fisher_p": ft.P}
	return count(without) > 0, nil
}

// source lines the in_task() answer rests on: where to find each in the
// built tree (after: the function it must be in; any of several names).
type sourceLine struct {
	key, path string
	after     []string
	want      string
	// withPatch: read from the kernel with patch 01 (the Makefile line).
	withPatch bool
}

var inTaskLines = []sourceLine{
	{key: "check", path: "kernel/kcov.c", after: []string{"bool check_kcov_mode(", "enum kcov_mode get_kcov_mode("}, want: "if (!in_task()"},
	{key: "comment", path: "kernel/kcov.c", after: []string{"bool check_kcov_mode(", "enum kcov_mode get_kcov_mode("}, want: "preempt_schedule_irq()"},
	// The !PREEMPT_RT definition (the kernels here are not RT).
	{key: "in_task", path: "include/linux/preempt.h", want: "(!(preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)))"},
	{key: "exit_count", path: "kernel/entry/common.c", after: []string{"void raw_irqentry_exit_cond_resched("}, want: "if (!preempt_count())"},
	{key: "exit_call", path: "kernel/entry/common.c", after: []string{"void raw_irqentry_exit_cond_resched("}, want: "preempt_schedule_irq();"},
	{key: "bug_on", path: "kernel/sched/core.c", after: []string{"void __sched preempt_schedule_irq("}, want: "BUG_ON(preempt_count()"},
	{key: "sched_noinstr", path: "kernel/sched/Makefile", want: "KCOV_INSTRUMENT"},
	{key: "locking_noinstr", path: "kernel/locking/Makefile", want: "KCOV_INSTRUMENT"},
	{key: "entry_noinstr", path: "kernel/entry/Makefile", want: "KCOV_INSTRUMENT"},
	{key: "pin", path: "kernel/locking/lockdep.c", after: []string{"__lock_pin_lock("}, want: "sched_clock()"},
	{key: "sched_clock", path: "arch/x86/kernel/tsc.c", want: "u64 sched_clock(void)"},
	{key: "patch01", path: "arch/x86/kernel/Makefile", want: "KCOV_INSTRUMENT_tsc.o", withPatch: true},
	{key: "pelt", path: "kernel/sched/pelt.h", after: []string{"void update_rq_clock_pelt("}, want: "arch_scale_cpu_capacity("},
	{key: "capacity", path: "arch/x86/kernel/cpu/aperfmperf.c", want: "unsigned long arch_scale_cpu_capacity(int cpu)"},
}

// citeLines reads each line from the tree its kernel was built from;
// a line not found is an error, and the answer says so.
func (a *asker) citeLines(ctx context.Context, with, without string) (map[string]citation, []string) {
	got := map[string]citation{}
	var missing []string
	files := map[string][]byte{}
	for _, l := range inTaskLines {
		k := without
		if l.withPatch {
			k = with
		}
		src, ok := files[k+":"+l.path]
		if !ok {
			var err error
			if src, err = a.opts.source(ctx, a.runOpts(k), l.path); err != nil {
				missing = append(missing, fmt.Sprintf("%s (%s): %v", l.path, k, err))
				files[k+":"+l.path] = nil
				continue
			}
			files[k+":"+l.path] = src
		}
		if src == nil {
			continue
		}
		c, err := citeAny(src, l.path, l.after, l.want)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%v (%s)", err, k))
			continue
		}
		got[l.key] = c
	}
	return got, missing
}

func citeAny(src []byte, path string, afters []string, want string) (citation, error) {
	if len(afters) == 0 {
		return cite(src, path, "", want)
	}
	var first error
	for _, after := range afters {
		c, err := cite(src, path, after, want)
		if err == nil {
			return c, nil
		}
		if _, aerr := cite(src, path, "", after); first == nil || aerr == nil {
			first = err // the function is there, the line is not: say so
		}
	}
	return citation{}, first
}

// inTaskAnswer says whether the coverage passed KCOV's in_task() test and
// how, citing the built tree's lines; without them it says what is missing
// instead of claiming anything.
func (a *asker) inTaskAnswer(ctx context.Context, reproduced bool) {
	with, without := a.kernels[2], a.kernels[3]
	c, missing := a.citeLines(ctx, with, without)
	if len(missing) > 0 {
		a.findf("in_task(): cannot cite the built source, so no claim is made: %s.", strings.Join(missing, "; "))
		return
	}
	lead := "Did it pass check_kcov_mode()'s in_task() test? Yes: the crash is KCOV recording for the selftest task, so it passed"
	if !reproduced {
		lead = "Did it pass check_kcov_mode()'s in_task() test? The crash was not reproduced here, so this rests on the source alone: a PC reaches a task's trace only past"
	}
	a.findf("%s %s. in_task() is false only with NMI, hardirq or serving-softirq bits in preempt_count (%s). An interrupt's exit calls preempt_schedule_irq() only when preempt_count() is zero, after the hardirq count was dropped (%s, then %s), and preempt_schedule_irq() insists on it (%s); it runs __schedule() with only preempt_disable()'s count, on the interrupted task's stack, with that task still current. So from KCOV's view the scheduler runs as the preempted task, in task context.",
		lead, c["check"], c["in_task"], c["exit_count"], c["exit_call"], c["bug_on"])
	a.findf("Why tsc.c: the entry code, the scheduler and lockdep are built without coverage (%s, %s, %s), but lockdep's pin cookie, taken by rq_lock() in __schedule(), reads sched_clock() (%s), and sched_clock() lives in tsc.c (%s): the first instrumented function on that path. kcov.c knows this path exists (%s). So 'spurious coverage' means PCs of the task's own involuntary scheduling, at times the syscall did not choose, not interrupt handlers leaking through in_task(); patch 01 (%s, in %s's tree) stops tsc.c producing them.",
		c["entry_noinstr"], c["sched_noinstr"], c["locking_noinstr"], c["pin"], c["sched_clock"], c["comment"], c["patch01"], with)
	if d, ok := a.ans.Data.(map[string]any); ok {
		d["citations"] = c
		if gates, ok := d["bootgate"].([]gateCount); ok && gates[0].Selftest > 0 {
			a.findf("With patch 01 the path is the same and the next arch helper on it is instrumented: __schedule() -> update_rq_clock() -> update_rq_clock_pelt() calls arch_scale_cpu_capacity() (%s), defined in %s; %s's boots still crashed in the selftest (%d of %d).",
				c["pelt"], c["capacity"], gates[0].Kernel, gates[0].Selftest, gates[0].Boots)
		}
	}
}
