package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

const warnExcerpt = `[   12.345678] ------------[ cut here ]------------
[   12.345901] WARNING: CPU: 1 PID: 201 at kernel/kcov.c:760 kcov_ioctl_locked+0x2b4/0x6a0
[   12.346120] Modules linked in:
[   12.346300] CPU: 1 UID: 0 PID: 201 Comm: reset Not tainted 6.12.57 #1
[   12.346600] RIP: 0010:0xffffffff8123a5b4
[   12.347000] ---[ end trace 0000000000000000 ]---
`

// Every kind of report the kernel prints while it keeps running turns the
// scenario that caused it red, titled by internal/crash; a clean console
// leaves it green.
func TestJudgeConsoleKinds(t *testing.T) {
	cases := []struct {
		name, console, title string
	}{
		{"WARN_ON with cut-here line", "[    1.0] ok\n" + warnExcerpt, "WARNING in kernel/kcov.c:760"},
		{"KASAN", "[    3.1] BUG: KASAN: slab-out-of-bounds in kcov_ioctl+0x1/0x2\n[    3.2] Read of size 8 at addr ffff888000eb7df8 by task reset/12\n", "KASAN: slab-out-of-bounds Read"},
		{"sleeping in atomic", "[ 5.0] BUG: sleeping function called from invalid context at mm/slab.h:1\n", "BUG: sleeping function called from invalid context"},
		{"UBSAN", "[ 5.0] UBSAN: shift-out-of-bounds in kernel/kcov.c:280:7\n", "UBSAN: shift-out-of-bounds"},
		{"RCU stall", "[ 9.0] rcu: INFO: rcu_sched self-detected stall on CPU\n", "INFO: rcu detected stall"},
		{"hung task", "[ 9.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.\n", "INFO: task hung"},
		{"soft lockup", "[ 9.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [guardrace:99]\n", "BUG: soft lockup"},
		{"lockdep", "[ 9.0] WARNING: possible circular locking dependency detected\n", "possible deadlock"},
		{"clean scenario output", "[   10.1] random: crng init done\n[   10.2] ACPI: PM: Preparing to enter system sleep state S5\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := results.Scenario{Name: "reset", Verdict: results.Pass}
			judgeConsole(&res, c.console, scenarioEnv{})
			if c.title == "" {
				if res.Verdict != results.Pass || len(res.Evidence) > 0 {
					t.Fatalf("a clean console turned the scenario %s: %v", res.Verdict, res.Evidence)
				}
				return
			}
			if res.Verdict != results.Fail || !strings.Contains(res.Error, ": "+c.title+"\n") {
				t.Fatalf("verdict %s error %q, want fail titled %q", res.Verdict, res.Error, c.title)
			}
			if len(res.Evidence) != 1 || !strings.HasPrefix(res.Evidence[0], "console: "+c.title+" (guilty frame: ") {
				t.Errorf("evidence %q", res.Evidence)
			}
		})
	}
}

// A WARN printed while a scenario ran turns that scenario red, whatever
// it measured; one printed before it (at boot) does not.
func TestJudgeConsoleOnlyWhatTheScenarioCaused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	os.WriteFile(path, []byte("[ 0.1] boot\n"+warnExcerpt), 0o644)
	mark := markConsole(path)
	res := results.Scenario{Name: "reset", Verdict: results.Pass}
	judgeConsole(&res, mark.since(), scenarioEnv{})
	if res.Verdict != results.Pass {
		t.Fatalf("a WARN from before the scenario turned it %s", res.Verdict)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(warnExcerpt)
	f.Close()
	judgeConsole(&res, mark.since(), scenarioEnv{})
	if res.Verdict != results.Fail || !strings.Contains(res.Error, "kcov.c:760") || res.Metrics["console_reports"] != 1 {
		t.Errorf("verdict %s error %q metrics %v: want fail naming the WARN", res.Verdict, res.Error, res.Metrics)
	}
	// The same WARN twice more: counted, one evidence line.
	res = results.Scenario{Name: "reset", Verdict: results.Pass}
	judgeConsole(&res, warnExcerpt+warnExcerpt, scenarioEnv{})
	if res.Metrics["console_reports"] != 2 || len(res.Evidence) != 1 || !strings.HasSuffix(res.Evidence[0], " x2") {
		t.Errorf("metrics %v evidence %q: want 2 reports in one evidence line", res.Metrics, res.Evidence)
	}
}
