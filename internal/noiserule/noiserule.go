// Package noiserule says which kernel functions a task's KCOV trace may
// reach for reasons other than the syscalls it made: being preempted or
// woken (the scheduler runs in the task's context), contended locks, the
// allocator refilling a cache another thread emptied, RCU bookkeeping, and
// the FPU restore on the way back to user space. KCOV records them because
// they run in task context (in_task()), but which task pays for them
// depends on timing, so two runs of the same syscalls may differ there
// and nowhere else. The Go runtime's own syscalls on a measuring thread
// (futex, signals) are set aside the same way: they are the harness, not
// the code under test.
//
// Scenarios that compare PC sets across threads or runs (guardrace's
// union against its single-thread reference) set such PCs aside by the
// symbol they fall in and judge only what is left. Each rule names its
// class and why it is timing-dependent, so a report can say what was set
// aside. Plain Go, no host tools; tests: go test -short ./internal/noiserule/
package noiserule

import (
	"regexp"
	"sort"
)

// Rule is one class of timing-dependent kernel functions.
type Rule struct {
	Class string
	Why   string
	re    *regexp.Regexp
}

// Rules are checked in order; the first match classifies a function.
var Rules = []Rule{
	{"harness", "the Go runtime's own syscalls on the measuring thread: futex waits and wakes, signals for goroutine preemption, yields",
		regexp.MustCompile(`futex|^plist_|^__x64_sys_(rt_sig|sched_yield|tgkill|nanosleep|clock_nanosleep)|^do_signal|^get_signal|^arch_do_signal|^handle_signal|^setup_rt_frame|^restore_sigcontext|^signal_|^__send_signal|^send_signal|^do_send_sig|^complete_signal|^recalc_sigpending|^dequeue_signal|^collect_signal|^do_sched_yield|^hrtimer_nanosleep|^do_nanosleep`)},
	{"irq", "interrupt, timer or clock code that reached task context (or tsc.c/timekeeping called from it)",
		regexp.MustCompile(`irq|hrtimer|^tick_|^ktime_|^read_tsc|sched_clock|^clockevents|^lapic|^apic|^x2apic|^timekeeping|^update_wall|^__run_timers|^run_timer|^timer_|^__timer|softirq|^cyc2ns|^tsc_|^timerqueue_`)},
	{"sched", "the task was preempted, blocked or woke another task: the scheduler runs in its context",
		regexp.MustCompile(`^(__)?schedule|^preempt_|^finish_task_switch|^pick_next|^put_prev|^set_next|^__pick|_fair$|_rt$|^update_(curr|load|cfs|rq|min_vruntime|se|entity)|^(en|de)queue_|^(try_to_)?wake_up|^ttwu|^select_task_rq|^wakeup_preempt|^check_preempt|^resched|^__switch_to|^context_switch|^psi_|^sched_|^account_|^cpuacct|^raw_spin_rq|^__(en|de)queue|^reweight|^place_entity|^avg_vruntime|^hrtick|^newidle|^balance_|^update_blocked|^_nohz|^nohz_|^idle_|^arch_scale_|^cpu_util|^task_h_load|^util_est|^prandom_u32_state|^__smp_call_single_queue|^smp_call_function|^send_call_function|^llist_add_batch|^llist_del_|^kthread_is_per_cpu|^can_migrate|^detach_tasks|^attach_task`)},
	{"lock", "a contended lock's slow path: taken only when another CPU held the lock (or won a lockref cmpxchg)",
		regexp.MustCompile(`slowpath|^fast_dput|^lockref_|^__mutex_lock|^mutex_spin|^mutex_optimistic|^__mutex_(add|remove)_waiter|^osq_|^rwsem_|^__down|^__up_|_contended|^queued_|^native_queued|^__pv_queued|^__wake_up|^autoremove_wake|^prepare_to_wait|^finish_wait|^wake_q|^rt_mutex`)},
	{"clock-value", "time conversions whose branches depend on the clock's value at that moment (the times getrusage, sysinfo or timerfd return)",
		regexp.MustCompile(`^ns_to_|^__msecs_to_jiffies|^__usecs_to_jiffies|^jiffies_to_|^nsecs_to_jiffies|^timespec64_|^set_normalized_timespec|^div_s64|^div_u64|^iter_div_u64`)},
	{"deferred", "deferred work and timers queued by whichever task first trips a threshold or finds them unarmed",
		regexp.MustCompile(`^(__)?queue_(delayed_)?work|^queue_work_on|^mod_delayed_work|^clear_pending_if_disabled|^insert_work|^get_work_pool|^kick_pool|^pwq_|^schedule_(delayed_)?work|^(__)?add_timer|^(__)?mod_timer|^internal_add_timer|^enqueue_timer|^calc_wheel_index|^lock_timer_base|^detach_if_pending`)},
	{"rcu", "RCU bookkeeping done at context switch or tick time",
		regexp.MustCompile(`^rcu_|^__rcu|_rcu$|^call_rcu|^kfree_rcu|^srcu_`)},
	{"alloc", "an allocator cache or per-CPU batch refill or drain (slab, pages, shmem inode numbers, the random number batches): whichever thread finds it empty or full pays for it",
		regexp.MustCompile(`^shmem_reserve_inode|^chacha_|^crng_|^_get_random_bytes|^get_random_u(8|16|32|64)$|^blake2s|^extract_entropy|^___?slab_|^allocate_slab|^new_slab|^get_partial|^get_any_partial|^__?alloc_pages|^alloc_pages|^get_page_from_freelist|^rmqueue|^__rmqueue|^prep_new_page|^post_alloc_hook|^__?free_pages|^free_unref|^free_pcppages|^discard_slab|^deactivate_slab|^put_cpu_partial|^__put_partials|^put_partials|^flush_cpu_slab|^unfreeze_partials|^pcpu_|^memcg|^obj_cgroup|^mod_objcg|^refill_obj_stock|^drain_obj_stock|^consume_obj_stock|^__mod_|^mod_(node|lruvec|zone|memcg)|^__count_vm|^zone_watermark|^should_fail|^should_failslab|^slab_(pre|post)_alloc|^setup_object|^shuffle_freelist|^inc_slabs|^dec_slabs|^add_partial|^remove_partial|^__add_partial|^__remove_partial|^__update_cpu_freelist|^get_freelist|^freeze_slab|^__folio_|^folio_|^__lruvec|^lru|^page_|^__page_`)},
	{"return", "work done on the way back to user space (FPU restore, task work, signal checks)",
		regexp.MustCompile(`fpu|fpregs|^exit_to_user|^syscall_exit|^arch_exit_to_user|^task_work|^__task_work|^fire_user_return|^mm_account|^do_notify_resume|^arch_do_signal`)},
}

// Classify returns the rule that explains fn, if one does.
func Classify(fn string) (Rule, bool) {
	for _, r := range Rules {
		if r.re.MatchString(fn) {
			return r, true
		}
	}
	return Rule{}, false
}

// Split divides functions (e.g. the symbols of PCs two runs disagree on)
// into those a rule explains, counted per class, and the rest, sorted.
func Split(fns []string) (byClass map[string]int, unexplained []string) {
	byClass = map[string]int{}
	for _, fn := range fns {
		if r, ok := Classify(fn); ok {
			byClass[r.Class]++
		} else {
			unexplained = append(unexplained, fn)
		}
	}
	sort.Strings(unexplained)
	return byClass, unexplained
}
