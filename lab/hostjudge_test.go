package lab

import (
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/noiserule"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Addresses of the fabricated kernel in TestJudgeUnion.
const (
	noisePC = 0xffffffff81000010 // in the first function a noise rule names
	statxPC = 0xffffffff81000210 // in do_statx, which no rule names
	otherPC = 0xffffffff81000310 // in do_sys_openat2, which no rule names
	wildPC  = 0xffffffff8f000000 // in no function
)

func judgeSyms(t *testing.T) *symbolize.Table {
	t.Helper()
	if len(noiserule.Rules) == 0 || len(noiserule.Rules[0].Funcs) == 0 {
		t.Fatal("noiserule.Rules has no function to fabricate a timing-dependent PC in")
	}
	noisy := noiserule.Rules[0].Funcs[0]
	syms := symbolize.New([]symbolize.Symbol{
		{Name: noisy, Addr: 0xffffffff81000000, Size: 0x100},
		{Name: "do_statx", Addr: 0xffffffff81000200, Size: 0x100},
		{Name: "do_sys_openat2", Addr: 0xffffffff81000300, Size: 0x100},
	})
	if err := syms.AddFuncFiles(strings.NewReader("do_statx\tfs/stat.c\ndo_sys_openat2\tfs/open.c\n")); err != nil {
		t.Fatal(err)
	}
	return syms
}

// raced is a guardrace outcome of two threads that both ran: lost[i] are
// the reference's PCs thread i did not record, every the extra PCs both
// recorded, some those only one did.
func raced(lost [2][]uint64, every, some []uint64) scenarios.Outcome {
	return scenarios.Outcome{
		Metrics: map[string]float64{"skipped": 0, "threads": 2, "threads_failed": 0, "op_results_differ": 0},
		PCs: map[string][]uint64{
			"ref_minus_thread/0": lost[0], "ref_minus_thread/1": lost[1],
			"ref_minus_union":              intersect(lost[0], lost[1]),
			"union_minus_ref_every_thread": every,
			"union_minus_ref":              append(append([]uint64{}, every...), some...),
		},
	}
}

func intersect(a, b []uint64) []uint64 {
	var out []uint64
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}

func TestJudgeUnion(t *testing.T) {
	syms := judgeSyms(t)
	noisy := noiserule.Rules[0].Funcs[0]
	clean := raced([2][]uint64{{}, {}}, nil, nil)
	with := func(o scenarios.Outcome, edit func(o *scenarios.Outcome)) scenarios.Outcome {
		o.Metrics = map[string]float64{"skipped": 0, "threads": 2, "threads_failed": 0, "op_results_differ": 0}
		o.PCs = map[string][]uint64{"ref_minus_thread/0": {}, "ref_minus_thread/1": {statxPC}}
		edit(&o)
		return o
	}
	for _, tc := range []struct {
		name        string
		o           scenarios.Outcome
		syms        *symbolize.Table
		guest       string // the guest's verdict before the host judges
		verdict     string
		unexplained float64 // -1: not judged
		evidence    []string
	}{
		{name: "clean", o: clean, syms: syms, verdict: results.Pass,
			evidence: []string{"thread 1: PCs every reference recorded that it did not: 0; set aside by symbol: 0 (); unexplained: 0"}},
		{name: "a thread loses a PC another recorded", o: raced([2][]uint64{{}, {statxPC}}, nil, nil), syms: syms,
			verdict: results.Fail, unexplained: 1,
			evidence: []string{"thread 1: PCs every reference recorded that it did not: 1; set aside by symbol: 0 (); unexplained: 1: do_statx+0x10 (fs/stat.c)",
				"thread 0: PCs every reference recorded that it did not: 0"}},
		{name: "both threads lose", o: raced([2][]uint64{{otherPC}, {statxPC, otherPC}}, nil, nil), syms: syms,
			verdict: results.Fail, unexplained: 3,
			evidence: []string{"thread 0: PCs every reference recorded that it did not: 1; set aside by symbol: 0 (); unexplained: 1: do_sys_openat2+0x10 (fs/open.c)",
				"every reference recorded that no racing thread did (each is in every thread's loss above): 1"}},
		{name: "a lost PC in a rule's function is set aside", o: raced([2][]uint64{{noisePC}, {}}, nil, nil), syms: syms,
			verdict: results.Pass, unexplained: 0,
			evidence: []string{"thread 0: PCs every reference recorded that it did not: 1; set aside by symbol: 1 (" + noisy + " 1); unexplained: 0"}},
		{name: "only the rule's PC is set aside", o: raced([2][]uint64{{noisePC, statxPC}, {}}, nil, nil), syms: syms,
			verdict: results.Fail, unexplained: 1,
			evidence: []string{"set aside by symbol: 1 (" + noisy + " 1); unexplained: 1: do_statx+0x10 (fs/stat.c)"}},
		{name: "a lost PC in no function", o: raced([2][]uint64{{wildPC}, {}}, nil, nil), syms: syms,
			verdict: results.Fail, unexplained: 1, evidence: []string{"unexplained: 1: 0xffffffff8f000000"}},
		{name: "every thread records an extra PC", o: raced([2][]uint64{{}, {}}, []uint64{statxPC}, nil), syms: syms,
			verdict: results.Fail, unexplained: 1,
			evidence: []string{"PCs every racing thread recorded that no reference did: 1; set aside by symbol: 0 (); unexplained: 1: do_statx+0x10"}},
		{name: "the guest could not tell what every thread recorded", o: with(clean, func(o *scenarios.Outcome) {
			o.Metrics["every_thread_unjudged"] = 1
		}), syms: syms, verdict: results.Fail, unexplained: 1,
			evidence: []string{"PCs every racing thread recorded that no reference did: not judged: fewer than two threads", "unexplained: 1: do_statx+0x10"}},
		{name: "one thread's extra PC is listed, not judged", o: raced([2][]uint64{{}, {}}, nil, []uint64{statxPC}), syms: syms,
			verdict: results.Pass, unexplained: 0, evidence: []string{"listed, not judged", "unexplained: 1: do_statx+0x10 (fs/stat.c); by function: do_statx 1"}},
		{name: "no symbols", o: raced([2][]uint64{{}, {statxPC}}, nil, nil), verdict: results.Error, unexplained: -1,
			evidence: []string{"lost coverage: not judged: no vmlinux symbols"}},
		{name: "op results differ", o: with(clean, func(o *scenarios.Outcome) { o.Metrics["op_results_differ"] = 1 }), syms: syms,
			verdict: results.Error, unexplained: -1, evidence: []string{"not judged: 1 session(s)' syscalls did not return what the first reference's did"}},
		{name: "per-thread lists missing", o: with(clean, func(o *scenarios.Outcome) { delete(o.PCs, "ref_minus_thread/1") }), syms: syms,
			verdict: results.Error, unexplained: -1, evidence: []string{"per-thread lists for 1 of the 2 threads that ran"}},
		{name: "no per-thread lists at all", o: with(clean, func(o *scenarios.Outcome) { o.PCs = nil }), syms: syms,
			verdict: results.Error, unexplained: -1, evidence: []string{"per-thread lists for 0 of the 2 threads that ran"}},
		{name: "a thread that did not run sends no list", o: with(clean, func(o *scenarios.Outcome) {
			o.Metrics["threads_failed"] = 1
			delete(o.PCs, "ref_minus_thread/1")
		}), syms: syms, guest: results.Fail, verdict: results.Fail, unexplained: 0},
		{name: "a guest failure stays a failure when the host cannot judge", o: raced([2][]uint64{{}, {}}, nil, nil),
			guest: results.Fail, verdict: results.Fail, unexplained: -1, evidence: []string{"not judged: no vmlinux symbols"}},
		{name: "a skipped trial is left alone", o: scenarios.Outcome{Metrics: map[string]float64{"skipped": 1}},
			verdict: results.Pass, unexplained: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guest := tc.guest
			if guest == "" {
				guest = results.Pass
			}
			res := results.Scenario{Verdict: guest, Metrics: tc.o.Metrics}
			judgeUnion(&res, tc.o, tc.syms)
			all := strings.Join(res.Evidence, "\n")
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (%s)\n%s", res.Verdict, tc.verdict, res.Error, all)
			}
			if res.Verdict == results.Error && !strings.HasPrefix(res.Error, "could not judge lost coverage: ") {
				t.Errorf("error verdict without the reason: %q", res.Error)
			}
			got, ok := res.Metrics["union_unexplained"]
			if tc.unexplained >= 0 && (!ok || got != tc.unexplained) || tc.unexplained < 0 && ok {
				t.Errorf("union_unexplained = %v (present %v), want %v", got, ok, tc.unexplained)
			}
			for _, want := range tc.evidence {
				if !strings.Contains(all, want) {
					t.Errorf("evidence lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

// TestJudgeUnionErrorSaysWhy: the trial's error names the lost PC and
// its thread, so a red nightly reads without the evidence.
func TestJudgeUnionErrorSaysWhy(t *testing.T) {
	res := results.Scenario{Verdict: results.Pass}
	judgeUnion(&res, raced([2][]uint64{{}, {statxPC}}, nil, nil), judgeSyms(t))
	if want := "thread 1 lost do_statx+0x10 (fs/stat.c)"; !strings.Contains(res.Error, want) {
		t.Errorf("error %q lacks %q", res.Error, want)
	}
}

// TestJudgeUnionCountsRules: PCs a rule set aside are counted per
// function, the evidence count a rule's Seen cites.
func TestJudgeUnionCountsRules(t *testing.T) {
	res := results.Scenario{Verdict: results.Pass}
	judgeUnion(&res, raced([2][]uint64{{noisePC}, {noisePC}}, nil, nil), judgeSyms(t))
	key := "set_aside/" + noiserule.Rules[0].Funcs[0]
	if res.Metrics[key] != 2 || res.Metrics["ref_minus_thread_set_aside"] != 2 {
		t.Errorf("metrics %v: want %s = 2, ref_minus_thread_set_aside = 2", res.Metrics, key)
	}
}

// An ExtraOnly rule (contention on shared lockrefs) sets aside the slow
// paths every racing thread took beyond the references, never a thread's
// loss of the same function's PCs: a guard race would show as a loss.
func TestJudgeUnionExtraOnlyRule(t *testing.T) {
	syms := symbolize.New([]symbolize.Symbol{{Name: "lockref_get_not_dead", Addr: 0xffffffff81000400, Size: 0x100}})
	const lockrefPC = 0xffffffff81000410
	extra := raced([2][]uint64{{}, {}}, []uint64{lockrefPC}, nil)
	res := results.Scenario{Name: "guardrace", Verdict: results.Pass, Metrics: map[string]float64{}}
	judgeUnion(&res, extra, syms)
	if res.Verdict != results.Pass {
		t.Errorf("contention's extra lockref PC in every thread: %s (%s), want pass", res.Verdict, res.Error)
	}
	lost := raced([2][]uint64{{lockrefPC}, {}}, nil, nil)
	res = results.Scenario{Name: "guardrace", Verdict: results.Pass, Metrics: map[string]float64{}}
	judgeUnion(&res, lost, syms)
	if res.Verdict != results.Fail || !strings.Contains(res.Error, "thread 0 lost lockref_get_not_dead+0x10") {
		t.Errorf("a thread lost a lockref PC: %s (%s), want fail naming it", res.Verdict, res.Error)
	}
}
