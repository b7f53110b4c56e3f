package crash

import (
	"regexp"
	"strings"
)

// generic matches functions a report is never blamed on: the reporting
// machinery (dump_stack, __warn, report_bug, panic, the KASAN, UBSAN and
// lockdep reporters), the compiler's sanitizer and coverage hooks (KCOV's
// __sanitizer_cov_* and the notrace helpers only they call: a fault in
// one is blamed on the instrumented code that called it, like the tsc.c
// crash patch 01 fixes, blamed on sched_clock), lock and RCU helpers,
// fault, exception, interrupt and syscall entry, the scheduler and waits
// a hung task sits in, the timer and watchdog code that prints stalls,
// and the mem*/str* routines sanitizers catch on behalf of their caller.
// KCOV's own ioctl and init code (kcov_ioctl, kcov_init) is not generic:
// a WARN there is KCOV's.
var generic = regexp.MustCompile(`^(?:` + strings.Join([]string{
	// reporting
	`dump_stack\w*`, `__dump_stack`, `show_\w+`, `__warn\w*`, `warn_\w+`, `report_bug`, `handle_bug`, `fixup_bug`,
	`__report_bug`, `die`, `__die\w*`, `oops_\w+`, `do_error_trap`, `do_trap`, `do_int3\w*`, `panic`, `vpanic`, `nmi_panic`,
	`check_panic_on_warn`, `bust_spinlocks`, `__stack_chk_fail`, `print_\w+`, `printk\w*`, `_printk\w*`, `vprintk\w*`,
	// sanitizers and coverage
	`kasan_\w+`, `__kasan_\w+`, `__asan_\w+`, `__hwasan_\w+`, `check_memory_region\w*`, `kfence_\w+`, `__kfence_\w+`,
	`__ubsan_\w+`, `ubsan_\w+`, `__sanitizer_\w+`, `write_comp_data`, `check_kcov_mode`, `get_kcov_mode`,
	`canonicalize_ip`, `kcov_append_to_buffer`, `__msan_\w+`, `kmsan_\w+`, `__tsan_\w+`, `kcsan_\w+`,
	// locking, RCU, might_sleep
	`lock_acquire\w*`, `__lock_acquire`, `lock_release`, `__lock_release`, `lock_acquired`, `lock_contended`,
	`lockdep_\w+`, `debug_lockdep_\w+`, `check_\w*(?:circular|prev\w*|deadlock|irq\w*|noncircular|usage\w*|flags)`,
	`validate_chain`, `mark_lock\w*`, `mark_usage`, `valid_state`, `__lock_pin_lock`, `lock_pin_lock`,
	`_raw_\w+`, `do_raw_\w+`, `__raw_\w+`, `raw_spin_\w+`, `spin_\w+`, `queued_\w+`, `native_queued_\w+`,
	`__pv_queued_\w+`, `mutex_\w+`, `__mutex_\w+`, `down_\w+`, `__down\w*`, `up_read`, `up_write`, `rwsem_\w+`,
	`__rwsem_\w+`, `rcu_lock_\w+`, `rcu_read_\w+`, `__rcu_read_\w+`, `might_\w+`, `__might_\w+`, `___might_sleep`,
	// faults, exceptions, interrupts, syscall entry
	`page_fault_oops`, `kernelmode_fixup_or_oops`, `\w*bad_area\w*`, `do_user_addr_fault`, `do_kern_addr_fault`,
	`handle_page_fault`, `fault_in_kernel_space`, `exc_\w+`, `asm_exc_\w+`, `fixup_exception`, `ex_handler_\w+`,
	`irqentry_\w+`, `sysvec_\w+`, `__sysvec_\w+`, `asm_sysvec_\w+`, `common_interrupt`, `asm_common_interrupt`,
	`irq_exit\w*`, `__irq_exit\w*`, `do_softirq\w*`, `__do_softirq`, `handle_softirqs`, `run_ksoftirqd`,
	`do_syscall_\w+`, `x64_sys_call`, `entry_SYSCALL\w*`, `ret_from_fork\w*`, `kthread`,
	// scheduler and waits
	`__schedule`, `schedule\w*`, `io_schedule\w*`, `preempt_schedule\w*`, `context_switch`, `__switch_to\w*`,
	`finish_task_switch\w*`, `\w*wait_for_completion\w*`, `__wait_for_common`, `do_wait_for_common`,
	`wait_woken`, `__wait_event\w*`, `prepare_to_wait\w*`,
	// timers, stall and lockup printers
	`rcu_dump_\w+`, `rcu_sched_clock_irq`, `rcu_pending`, `\w*rcu_\w*stall\w*`, `update_process_times`, `tick_\w+`,
	`hrtimer_\w+`, `__hrtimer_\w+`, `watchdog_\w+`, `nmi_\w+`, `arch_trigger_\w+`, `trigger_\w+backtrace\w*`,
	`__run_timers`, `run_timer_softirq`, `call_timer_fn`,
	// memory and string routines
	`mem(?:cpy|move|set|cmp)\w*`, `__mem(?:cpy|move|set)\w*`, `str(?:n?cpy|n?cat|n?len|scpy|n?cmp)`,
}, "|") + `)$`)

// Generic tells whether a function is one a report is never blamed on.
func Generic(fn string) bool { return generic.MatchString(strings.SplitN(fn, ".", 2)[0]) }

// guilty picks the frame a report is blamed on: the first non-generic
// frame, RIP lines and reliable frames first. When the trace has reliable
// frames, "?" frames are noise; when it has none (the guess unwinder),
// a "?" frame counts if it is a plausible return address: not at the
// start of a function, and, when syms can read the code, after a call
// to a function of a frame above it (or an indirect call). Hang kinds
// skip the interrupt that printed them. With no such frame, the first
// frame with a function is returned.
func guilty(frames []Frame, hang bool, syms Symbols) Frame {
	reliable := false
	for _, f := range frames {
		if !f.RIP && !f.Unreliable {
			reliable = true
		}
	}
	checker, _ := syms.(CallChecker)
	var above []string
	for _, f := range frames {
		ok := f.Func != "" && !(hang && f.InIRQ) && !Generic(f.Func)
		if ok && f.Unreliable {
			ok = !reliable && plausibleReturn(f, above, checker, syms)
		}
		if ok {
			return f
		}
		if f.Func != "" {
			above = append(above, f.Func)
		}
	}
	for _, f := range frames {
		if f.Func != "" && !(hang && f.InIRQ) {
			return f
		}
	}
	return Frame{}
}

// plausibleReturn says whether an unreliable frame looks like a return
// address of the call chain (see guilty).
func plausibleReturn(f Frame, above []string, checker CallChecker, syms Symbols) bool {
	if f.PC != 0 && f.Off == 0 {
		return false
	}
	if checker == nil || f.PC == 0 {
		return true
	}
	target, isCall, ok := checker.CallBefore(f.PC)
	switch {
	case !ok:
		return true
	case !isCall:
		return false
	case target == 0:
		return true
	}
	name, off, known := syms.Func(target)
	if !known || off != 0 || strings.HasPrefix(name, "__x86_indirect_") {
		return true
	}
	for _, a := range above {
		if a == name {
			return true
		}
	}
	return false
}
