package ask

import (
	"strings"
	"testing"
)

const fakeKcov = `static bool other(void)
{
	if (!in_task())
		return false;
}

static notrace bool check_kcov_mode(enum kcov_mode needed_mode, struct task_struct *t)
{
	unsigned int mode;

	if (!in_task() && !(in_softirq_really() && t->kcov_softirq))
		return false;
}
`

func TestCite(t *testing.T) {
	c, err := cite([]byte(fakeKcov), "kernel/kcov.c", "check_kcov_mode(", "in_task()")
	if err != nil {
		t.Fatal(err)
	}
	if c.Line != 11 || c.String() != "kernel/kcov.c:11 `if (!in_task() && !(in_softirq_really() && t->kcov_softirq))`" {
		t.Errorf("cite = %s, want line 11 (the one in check_kcov_mode, not other's)", c)
	}
	if c, err := cite([]byte(fakeKcov), "kernel/kcov.c", "", "in_task()"); err != nil || c.Line != 3 {
		t.Errorf("cite without an anchor = %v, %v; want line 3", c, err)
	}
	// Red: a tree whose check lost in_task(), or lacks the function.
	noTask := strings.ReplaceAll(fakeKcov, "in_task()", "in_interrupt()")
	for _, tc := range []struct{ src, after, want string }{
		{noTask, "check_kcov_mode(", "in_task()"},
		{fakeKcov, "get_kcov_mode(", "in_task()"},
		{fakeKcov, "", "preempt_schedule_irq"},
	} {
		if c, err := cite([]byte(tc.src), "kernel/kcov.c", tc.after, tc.want); err == nil {
			t.Errorf("cite(%q after %q) = %s, want an error", tc.want, tc.after, c)
		}
	}
}
