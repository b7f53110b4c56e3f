package e2e

import (
	"context"
	"debug/elf"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
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

// TestDebugInfoKernel checks, when v2-debug is built (it is not built by
// CI: kcovlab run --kernel v2-debug builds it), that its vmlinux carries
// DWARF and the host symbolizes a KCOV address to kernel/kcov.c:LINE.
func TestDebugInfoKernel(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := labOptions(t)
	o.Kernel = "v2-debug"
	if ok, _ := lab.Built(ctx, o); !ok {
		t.Skip("v2-debug is not built (kcovlab run --kernel v2-debug builds it)")
	}
	k, _, err := lab.BuildKernel(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := symbolize.Open(k.Vmlinux)
	if err != nil || !tab.HasDWARF() {
		t.Fatalf("vmlinux %s: DWARF %v, err %v", k.Vmlinux, tab != nil && tab.HasDWARF(), err)
	}
	f, err := elf.Open(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	for _, s := range syms {
		if s.Name == "kcov_ioctl" {
			src := tab.Source(s.Value + 4)
			t.Logf("MEASURED v2-debug kcov_ioctl+0x4 -> %s", src)
			if !regexp.MustCompile(`kernel/kcov\.c:\d+$`).MatchString(src) {
				t.Errorf("kcov_ioctl+0x4 symbolizes to %q, want kernel/kcov.c:LINE", src)
			}
			return
		}
	}
	t.Error("kcov_ioctl is not in vmlinux")
}
