package lab

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

// interruptOnly are instrumented functions that run only in hard or soft
// interrupt context, never on a task's behalf: the timer interrupt and its
// tick work, the timer and network softirqs, IPI and device interrupt
// handling. check_kcov_mode()'s in_task() test must keep every one of them
// out of a task's trace. Each was checked to call the coverage hook in the
// lean guest kernel (llvm-objdump of vmlinux); code that also runs in task
// context (clockevents_program_event, the SMP call queue flush) is not
// here. TestInterruptOnlyNamesAreInstrumented keeps the list honest.
var interruptOnly = map[string]string{
	"hrtimer_interrupt":                          "kernel/time/hrtimer.c",
	"__hrtimer_run_queues":                       "kernel/time/hrtimer.c",
	"hrtimer_run_queues":                         "kernel/time/hrtimer.c",
	"tick_nohz_handler":                          "kernel/time/tick-sched.c",
	"tick_handle_periodic":                       "kernel/time/tick-common.c",
	"tick_periodic":                              "kernel/time/tick-common.c",
	"update_process_times":                       "kernel/time/timer.c",
	"run_timer_softirq":                          "kernel/time/timer.c",
	"timekeeping_advance":                        "kernel/time/timekeeping.c",
	"update_wall_time":                           "kernel/time/timekeeping.c",
	"irq_work_tick":                              "kernel/irq_work.c",
	"handle_irq_event":                           "kernel/irq/handle.c",
	"__handle_irq_event_percpu":                  "kernel/irq/handle.c",
	"handle_edge_irq":                            "kernel/irq/chip.c",
	"__sysvec_call_function_single":              "arch/x86/kernel/smp.c",
	"generic_smp_call_function_single_interrupt": "kernel/smp.c",
	"net_rx_action":                              "net/core/dev.c",
}

// InterruptOnly reports whether fn runs only in interrupt context (the
// list irqnoise is judged by): in a task's trace it means the in_task()
// filter let interrupt coverage through.
func InterruptOnly(fn string) bool {
	_, ok := interruptOnly[fn]
	return ok
}

// judgeInterruptPCs fails irqnoise when a PC outside the quiet set lies in
// interrupt-only code: the in_task() filter let interrupt coverage into the
// task's trace. Without symbols it cannot judge, and says so as an error.
func judgeInterruptPCs(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table) {
	extra, sent := o.PCs["extra"]
	if !sent || res.Verdict == results.Error {
		return
	}
	if syms == nil {
		res.Verdict, res.Error = results.Error, "interrupt filter not judged: no vmlinux symbols for the extra PCs"
		return
	}
	byFn := map[string]int{}
	var first []string
	for _, pc := range extra {
		fn, _, ok := syms.Func(pc)
		if !ok {
			continue
		}
		if _, irq := interruptOnly[fn]; irq {
			if byFn[fn] == 0 {
				first = append(first, syms.Describe(pc))
			}
			byFn[fn]++
		}
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	n := 0
	for _, c := range byFn {
		n += c
	}
	res.Metrics["interrupt_only_pcs"] = float64(n)
	if n == 0 {
		res.Evidence = append(res.Evidence, fmt.Sprintf("interrupt filter: none of the %d PCs outside the quiet set is in interrupt-only code", len(extra)))
		return
	}
	sort.Strings(first)
	msg := fmt.Sprintf("interrupt-only code reached the task's trace (%d PCs in %d functions): %s", n, len(byFn), strings.Join(first, ", "))
	res.Evidence = append(res.Evidence, msg)
	if res.Verdict == results.Pass {
		res.Verdict, res.Error = results.Fail, msg
	}
}
