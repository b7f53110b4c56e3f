package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// TestCrashReports boots the two v2 mutants that make the kernel report
// (built by the mutation suite; skipped when not cached): warn-on-reset's
// WARN_ON in kcov_ioctl turns reset red with a titled, symbolized report,
// and boot-panic's panic in kcov_init is a boot crash titled and blamed on
// kcov_init, its raw "? 0xffffffff..." frames symbolized on the host.
func TestCrashReports(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	moduleDir, err := lab.FindModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	mutant := func(t *testing.T, name, scenario string) lab.Options {
		t.Helper()
		o := labOptions(t)
		o.Kernel, o.Mutant, o.Scenarios = "v2", filepath.Join(moduleDir, "patches", "mutants", "v2", name), []string{scenario}
		if ok, _ := lab.Built(ctx, o); !ok {
			t.Skipf("mutant %s is not built (make mutants builds it)", name)
		}
		return o
	}

	t.Run("warn-on-reset", func(t *testing.T) {
		res, err := lab.Run(ctx, mutant(t, "12-warn-on-reset.patch", "reset"))
		if !errors.Is(err, lab.ErrScenarioFailed) || res == nil {
			t.Fatalf("run: %v, want a failed scenario", err)
		}
		s := res.Scenarios[0]
		t.Logf("MEASURED reset verdict=%s console_reports=%v evidence=%q", s.Verdict, s.Metrics["console_reports"], s.Evidence)
		if s.Verdict != results.Fail || !strings.Contains(s.Error, ": WARNING in kcov_ioctl") {
			t.Fatalf("reset %s: %.300s", s.Verdict, s.Error)
		}
		for _, want := range []string{"at kernel/kcov.c:", "RIP: 0010:kcov_ioctl+0x", "(kernel/kcov.c)", "? __x64_sys_ioctl+0x", "(fs/ioctl.c)"} {
			if !strings.Contains(s.Error, want) {
				t.Errorf("the report lacks %q:\n%s", want, s.Error)
			}
		}
		found := false
		for _, e := range s.Evidence {
			found = found || strings.HasPrefix(e, "console: WARNING in kcov_ioctl (guilty frame: kcov_ioctl (kernel/kcov.c))")
		}
		if !found {
			t.Errorf("evidence %q lacks the console report", s.Evidence)
		}
	})

	t.Run("boot-panic", func(t *testing.T) {
		_, err := lab.Run(ctx, mutant(t, "11-boot-panic.patch", "smoke"))
		var be *lab.BootError
		if !errors.As(err, &be) || be.Crash == nil {
			t.Fatalf("run: %v, want a boot crash", err)
		}
		t.Logf("MEASURED boot crash title=%q kind=%s guilty=%q", be.Crash.Title, be.Crash.Kind, be.Crash.Guilty)
		if be.Crash.Title != "kernel panic: kcov: mutant boot-panic" || be.Crash.Kind != "panic" || be.Crash.Guilty != "kcov_init (kernel/kcov.c)" {
			t.Errorf("crash %q kind %s guilty %q", be.Crash.Title, be.Crash.Kind, be.Crash.Guilty)
		}
		if !strings.Contains(be.Crash.Report, "? kcov_init+0x") || strings.Contains(be.Crash.Report, "? 0xffffffff81d4") {
			t.Errorf("the trace is not symbolized:\n%s", be.Crash.Report)
		}
	})
}
