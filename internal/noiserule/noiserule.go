// Package noiserule names the kernel functions whose coverage in a task's
// KCOV trace depends on timing, not on the syscalls the task made: the
// fallback a lockref takes when another CPU changed the count between
// its read and its cmpxchg, a per-CPU batch (inode numbers, random bytes)
// refilled by whichever task finds it empty, the FPU restore on the way
// back to user space after a context switch, time conversions whose
// branches depend on the clock's value. KCOV records them because they run
// in task context (in_task()), but which task runs them, and which of
// their blocks, depends on timing, so two runs of the same syscalls may
// differ there.
//
// Every rule names single functions, never a subsystem: a rule that set a
// whole subsystem aside (every hrtimer_* or folio_* function) would also
// hide the coverage a syscall records there deterministically, and with
// it the loss a scenario exists to catch. Code the kernel does not
// instrument needs no rule: kernel/sched, kernel/rcu, kernel/locking,
// kernel/entry, kernel/softirq.c, arch/x86/entry, arch/x86/kernel/apic,
// arch/x86/kernel/tsc.c (patch 01 of the series), mm/slub.c,
// mm/page_alloc.c, mm/memcontrol.c and mm/vmstat.c are built with
// KCOV_INSTRUMENT := n, so their PCs never reach a trace. Each rule says
// why its functions are timing-dependent and where a run showed it (Seen,
// with the count), and a test checks every function a rule names against
// testdata/instrumented.txt.gz, the instrumented functions of the v2
// kernel built from kernel-configs/guest.config, kcov.config and
// kcov-unique.config: a rule that can match nothing on this config fails
// it.
//
// Scenarios that compare PC sets across threads or runs (guardrace, each
// thread against its single-thread reference) set such PCs aside by the
// function they fall in and judge only what is left; the report says
// which rule took how many. Plain Go, no host tools; tests: go test
// -short ./internal/noiserule/ (refresh the fixture from a built kernel
// with -update -kernel DIR).
package noiserule

import (
	"sort"
	"strings"
)

// Rule is one group of timing-dependent kernel functions.
type Rule struct {
	// Class is what makes the functions timing-dependent, e.g.
	// "clock-value", "return".
	Class string
	// Funcs are the functions' names, exact (as vmlinux's symbol table
	// spells them, without a compiler suffix such as ".cold").
	Funcs []string
	// Why is the mechanism, in one sentence.
	Why string
	// Seen is where runs showed the functions' PCs differ between
	// sessions of the same syscalls (a racing thread and the references,
	// or the references among themselves), in how many trials, and how
	// often as a judged difference: a thread's loss, or an extra PC in
	// every thread.
	Seen string
	// ExtraOnly rules explain only PCs racing threads recorded beyond the
	// references (contention between the threads adds slow paths); they
	// never set aside a PC a thread lost, which a guard race would cause.
	ExtraOnly bool
}

// Rules set PCs aside by the function they fall in; no function is in two.
var Rules = []Rule{
	{Class: "clock-value", Funcs: []string{"ns_to_kernel_old_timeval"},
		Why:  "getrusage converts the thread's user and system time; whether each is zero yet (ns_to_timespec64's nsec > 0 block, inlined here) depends on whether a tick has charged the thread so far",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 142 of 165 trials; a thread's loss in 6"},
	{Class: "timer-queue", Funcs: []string{"timerqueue_add"},
		Why:  "timerfd's hrtimer goes into the CPU's timer rbtree: the walk's left and right branches depend on the timers pending on that CPU at that moment",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 100 of 165 trials; a thread's loss in 24"},
	{Class: "return", Funcs: []string{"switch_fpu_return", "restore_fpregs_from_fpstate"},
		Why:  "the return to user space restores the FPU registers only when the task was switched out during the syscall (TIF_NEED_FPU_LOAD)",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 95 of 165 trials; extra in every thread in 10"},
	{Class: "batch", Funcs: []string{"get_random_u32"},
		Why:  "memfd's shmem inode takes its generation from the CPU's batch of random words: the task that finds the batch used up skips the generation check and refills it",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 6 of 165 trials; a thread's loss in 5"},
	{Class: "batch-refill", Funcs: []string{"_get_random_bytes", "crng_make_state", "chacha_block_generic", "chacha_permute"},
		Why:  "the refill of a CPU's batch of random words, run by whichever task finds it used up",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 6 of 165 trials; listed beside get_random_u32's losses"},
	{Class: "batch", Funcs: []string{"shmem_reserve_inode"},
		Why:  "memfd's inode number comes from the CPU's batch for the kernel's shmem mount: a task that is the first on its CPU to need one (the batch starts empty), or the 1024th, refills it under stat_lock instead of taking the plain path",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 4 of 165 trials; a thread's loss in 4"},
	{Class: "lock", Funcs: []string{"fast_dput"},
		Why:  "statx drops its references to dentries the threads share (/proc/self's): whether the count reaches zero, and whether lockref_put_return's cmpxchg lost to another CPU (then fast_dput takes the d_lock path), depends on the other threads' timing",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 17 of 165 trials; a thread's loss in 17"},
	{Class: "contention", Funcs: []string{"lockref_get", "lockref_get_not_dead", "lockref_put_return", "lockref_get_not_zero", "lockref_put_or_lock"},
		Why:       "the racing threads take and drop references to the dentries they share (/proc/self's): a lockref's cmpxchg loop falls back to its spinlock (or gives up) when another thread holds the lock or changed the count meanwhile, which a lone reference never meets; only such extra PCs are set aside, never a thread's loss",
		Seen:      "v2 guardrace, CI dry run on 2026-11-29: extra in every thread in 2 of 3 trials (lockref_get_not_dead+0xaa, lockref_get+0x7e, lockref_put_return+0x97)",
		ExtraOnly: true},
	{Class: "last-reference", Funcs: []string{"pid_delete_dentry", "lock_for_kill"},
		Why:  "the threads share /proc/self's dentries: only the task that drops the last reference asks /proc whether to keep the dentry (pid_delete_dentry, retain_dentry's d_delete) and, when it is not kept, locks it for killing (lock_for_kill); which task that is depends on timing",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 15 of 165 trials; a thread's loss in 15"},
	{Class: "harness", Funcs: []string{"__x64_sys_futex", "do_futex", "futex_wait", "__futex_wait", "futex_wait_queue", "futex_wait_setup",
		"futex_wake", "futex_wake_mark", "__futex_wake_mark", "futex_q_lock", "__futex_queue", "futex_unqueue", "__futex_unqueue",
		"futex_hash", "get_futex_key", "futex_get_value_locked", "futex_setup_timer", "plist_add", "plist_del"},
		Why:  "the Go runtime's own futex calls on the measuring thread: a goroutine that runs 10 ms without a reschedule is preempted at its next call, and its locked thread hands its P off (a futex wake) and may sleep until the goroutine runs again; the path set makes no futex call",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 54 of 165 trials; extra in every thread in 3; none in the last 24 trials, since a session starts on a fresh 10 ms (scenarios/guardrace runSession)"},
	{Class: "wakeup", Funcs: []string{"__smp_call_single_queue", "llist_add_batch"},
		Why:  "waking a task on another CPU (the scheduler, not instrumented, queues it on that CPU's wake list): only when the task woke another, e.g. in the Go runtime's hand-off",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 23 of 165 trials; listed only; none in the last 24 trials (see harness)"},
	{Class: "sched", Funcs: []string{"arch_scale_cpu_capacity"},
		Why:  "the scheduler (not instrumented itself) calls it when it places or balances the task: in a trace only when the task was preempted or woke another",
		Seen: "v2 guardrace, 55 runs on 2026-11-28: a difference in 80 of 165 trials; extra in every thread in 4"},
}

var byFunc = index(Rules)

func index(rules []Rule) map[string]int {
	m := map[string]int{}
	for i, r := range rules {
		for _, fn := range r.Funcs {
			m[fn] = i
		}
	}
	return m
}

// Classify returns the rule that explains fn, if one does. A compiler
// suffix (".cold", ".constprop.0", ".llvm.N") is ignored.
func Classify(fn string) (Rule, bool) {
	if base, _, ok := strings.Cut(fn, "."); ok {
		fn = base
	}
	i, ok := byFunc[fn]
	if !ok {
		return Rule{}, false
	}
	return Rules[i], true
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
