package noiserule

import (
	"slices"
	"testing"
)

func TestClassify(t *testing.T) {
	for fn, want := range map[string]string{
		"__schedule":                  "sched",
		"update_curr":                 "sched",
		"try_to_wake_up":              "sched",
		"native_sched_clock":          "irq",
		"read_tsc":                    "irq",
		"sched_clock":                 "irq", // tsc.c, not the scheduler
		"hrtimer_interrupt":           "irq",
		"queued_spin_lock_slowpath":   "lock",
		"__mutex_lock":                "lock",
		"rcu_note_context_switch":     "rcu",
		"___slab_alloc":               "alloc",
		"get_page_from_freelist":      "alloc",
		"switch_fpu_return":           "return",
		"restore_fpregs_from_fpstate": "return",
		"task_work_run":               "return",
		"do_futex":                    "harness",
		"futex_wait_queue":            "harness",
		"get_futex_key":               "harness",
		"__x64_sys_rt_sigreturn":      "harness",
		"arch_scale_cpu_capacity":     "sched",
		"timerqueue_add":              "irq",
		"plist_del":                   "harness",
		"fast_dput":                   "lock", // the lockref fallback on a dentry the threads share
		"kthread_is_per_cpu":          "sched",
		"llist_del_first":             "sched",
		"__remove_hrtimer":            "irq",
		"queue_delayed_work_on":       "deferred",
		"clear_pending_if_disabled":   "deferred",
		"add_timer_global":            "deferred",
		"shmem_reserve_inode":         "alloc",
		"chacha_block_generic":        "alloc", // get_random_u32's batch refill
		"get_random_u32":              "alloc",
		"__smp_call_single_queue":     "sched",
		"prandom_u32_state":           "sched", // sched_rng() in kernel/sched/sched.h
		"ns_to_kernel_old_timeval":    "clock-value",
		"__msecs_to_jiffies":          "clock-value",
		// What a syscall itself runs is never set aside.
		"ksys_read":        "",
		"do_sys_openat2":   "",
		"kcov_ioctl":       "",
		"__x64_sys_statx":  "",
		"memfd_create":     "",
		"inotify_init1":    "",
		"kmem_cache_alloc": "",
		"shmem_get_inode":  "",
	} {
		r, ok := Classify(fn)
		if got := r.Class; got != want || ok != (want != "") {
			t.Errorf("Classify(%s) = %q %v, want %q", fn, got, ok, want)
		}
	}
}

func TestSplit(t *testing.T) {
	by, rest := Split([]string{"read_tsc", "ksys_read", "__schedule", "native_sched_clock", "do_pipe2"})
	if by["irq"] != 2 || by["sched"] != 1 || len(by) != 2 {
		t.Errorf("by class %v", by)
	}
	if !slices.Equal(rest, []string{"do_pipe2", "ksys_read"}) {
		t.Errorf("unexplained %v", rest)
	}
}

func TestEveryRuleSaysWhy(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if r.Class == "" || r.Why == "" || r.re == nil || seen[r.Class] {
			t.Errorf("rule %+v: needs a unique class, a reason and a pattern", r)
		}
		seen[r.Class] = true
	}
}
