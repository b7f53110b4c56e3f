package ask

import (
	"context"
	"fmt"
	"strings"

	"github.com/kcovlab/kcovlab/internal/callsites"
	"github.com/kcovlab/kcovlab/lab"
)

// The author's figures for a large config, quoted in the answers.
const (
	authorSites   = 1.8e6
	authorGuardMB = 6.0
	authorTextMB  = 176.0
)

// scanPair builds (or takes from the cache) the recipe's two kernels,
// without and with CONFIG_KCOV_UNIQUE, and scans their vmlinux.
func (a *asker) scanPair(ctx context.Context) (without, with *callsites.Report, err error) {
	var reps [2]*callsites.Report
	for i, name := range a.kernels[:2] {
		k, id, err := a.opts.build(ctx, a.runOpts(name))
		if err != nil {
			return nil, nil, fmt.Errorf("kernel %s: %w", name, err)
		}
		a.identify(id, "")
		rep, err := callsites.Scan(ctx, k.Vmlinux, callsites.Options{})
		if err != nil {
			return nil, nil, &lab.InfraError{Stage: "scan", Err: fmt.Errorf("kernel %s: %w", name, err)}
		}
		rep.Name = name
		reps[i] = rep
	}
	a.command1("go test -run TestBuiltKernels -v ./internal/callsites/  # the same scan, on every cached kernel")
	without, with = reps[0], reps[1]
	if with.Guards == nil || with.Instrumentation != callsites.ModePCGuard {
		return nil, nil, &lab.UsageError{Msg: fmt.Sprintf("kernel %s has no guard array (instrumentation %s): the second kernel must have CONFIG_KCOV_UNIQUE=y", with.Name, with.Instrumentation)}
	}
	if without.Instrumentation != callsites.ModePC {
		return nil, nil, &lab.UsageError{Msg: fmt.Sprintf("kernel %s is instrumented %s: the first kernel must use trace-pc (CONFIG_KCOV_UNIQUE off)", without.Name, without.Instrumentation)}
	}
	var b strings.Builder
	for _, r := range reps {
		r.WriteText(&b)
		b.WriteString("\n")
	}
	callsites.Compare(without, with).WriteText(&b)
	a.ans.Details = b.String()
	a.ans.Data = map[string]*callsites.Report{"without": without, "with": with}
	return without, with, nil
}

func pct(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * part / whole
}

func answerGuardSize(ctx context.Context, a *asker) error {
	pc, g, err := a.scanPair(ctx)
	if err != nil {
		return err
	}
	sites := g.Hook(callsites.TracePCGuard).Sites
	code, codePC := float64(g.CodeBytes()), float64(pc.CodeBytes())
	a.findf("%s has %d call sites of __sanitizer_cov_trace_pc_guard and %d guards of 4 bytes, %d bytes in %s (one guard per site: %v; every site loads its own guard: %v).",
		g.Name, sites, g.Guards.Count, g.Guards.Bytes, g.Guards.Section, g.Guards.Match, g.Guards.OneToOne)
	a.findf("The guards are %.2f%% of .text (%d bytes) and %.2f%% of the bytes of all functions (%.0f). .text is padded to a 2 MiB boundary, so function bytes are the honest base.",
		pct(float64(g.Guards.Bytes), float64(g.Sizes.Text)), g.Sizes.Text, pct(float64(g.Guards.Bytes), code), code)
	a.findf(".text %d -> %d bytes, .bss %d -> %d bytes (%+d), .data %d -> %d bytes, vmlinux file %d -> %d bytes (%s to %s).",
		pc.Sizes.Text, g.Sizes.Text, pc.Sizes.Bss, g.Sizes.Bss, int64(g.Sizes.Bss)-int64(pc.Sizes.Bss),
		pc.Sizes.Data, g.Sizes.Data, pc.Sizes.File, g.Sizes.File, pc.Name, g.Name)
	perSite := g.Cost.PCBytesPerSite - pc.Cost.PCBytesPerSite
	a.findf("Per call site: 4 bytes of guard plus %.1f bytes of code (call and guard pointer load) against %.1f bytes (the call) with trace-pc, i.e. %+.1f bytes of code; all functions together grow %+.0f bytes (%+.2f%%) from %s to %s.",
		g.Cost.PCBytesPerSite, pc.Cost.PCBytesPerSite, perSite, code-codePC, pct(code-codePC, codePC), pc.Name, g.Name)
	a.findf("Our kernel is a small guest config (%d call sites, %.1f MB .text); the author's typical build has ~%.1fM call sites and ~%.0f MB of guards for %.0f MB of .text. At our per-site costs %.1fM sites take %.1f MB of guards and %.1f MB more code.",
		sites, float64(g.Sizes.Text)/1e6, authorSites/1e6, authorGuardMB, authorTextMB, authorSites/1e6, authorSites*4/1e6, authorSites*perSite/1e6)
	return nil
}

func answerEdgesVsNodes(ctx context.Context, a *asker) error {
	pc, g, err := a.scanPair(ctx)
	if err != nil {
		return err
	}
	na, nb := pc.Hook(callsites.TracePC).Sites, g.Hook(callsites.TracePCGuard).Sites
	d := float64(nb - na)
	same := "Same series and config, only CONFIG_KCOV_UNIQUE differs"
	if len(a.ans.Kernels) == 2 && a.ans.Kernels[0].Series != a.ans.Kernels[1].Series {
		same = fmt.Sprintf("Series %s and %s differ too (the series' own code is in one only)", orNone(a.ans.Kernels[0].Series), orNone(a.ans.Kernels[1].Series))
	}
	a.findf("%s: %s has %d call sites of __sanitizer_cov_trace_pc, %s has %d of __sanitizer_cov_trace_pc_guard: %+d (%+.2f%%).",
		same, pc.Name, na, g.Name, nb, nb-na, pct(d, float64(na)))
	if abs(pct(d, float64(na))) < 1 {
		a.findf("So trace-pc-guard does not add call sites: it instruments the same points as trace-pc (the difference is within what inlining and code layout move). What grows is each site (a guard pointer load) and the guard array.")
	} else {
		a.findf("So trace-pc-guard adds %d call sites (%.2f%%) to the same code.", nb-na, pct(d, float64(na)))
	}
	a.findf("Comparison hooks (KCOV_ENABLE_COMPARISONS) are untouched by the flag: %d vs %d sites.", pc.Cost.CmpSites, g.Cost.CmpSites)
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
