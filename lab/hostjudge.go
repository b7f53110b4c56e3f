package lab

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/internal/noiserule"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

// hostJudges finish a scenario's result on the host, where vmlinux's
// symbols are: the guest only has addresses.
var hostJudges = map[string]func(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table){
	"irqnoise": func(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table) {
		noiseByFunction(res)
		judgeInterruptPCs(res, o, syms)
	},
	"guardrace": judgeUnion,
}

// guardrace's PC lists, as the guest names them.
const (
	// refMinusThread prefixes the per-thread lists: ref_minus_thread/N
	// are the PCs every reference recorded and thread N did not.
	refMinusThread = "ref_minus_thread/"
	everyThread    = "union_minus_ref_every_thread"
)

// listedOnly are guardrace's lists that are shown but not judged.
var listedOnly = []struct{ key, what string }{
	{"ref_minus_union", "PCs every reference recorded that no racing thread did (each is in every thread's loss above)"},
	{"union_minus_ref", "PCs some racing thread recorded that no reference did (listed, not judged: the losers of contention on shared objects)"},
	{"ref_unstable", "PCs some references recorded and others did not (listed, not judged: not the syscalls' deterministic coverage)"},
}

// judgeUnion is guardrace's check (c), on the host where the symbols are:
// no racing thread loses coverage, i.e. every PC all the single-thread
// references recorded for the same syscalls (their deterministic
// coverage) is in each thread's trace (ref_minus_thread/N), and no extra
// PC is in every thread's trace but in no reference's
// (union_minus_ref_every_thread), once PCs in
// timing-dependent functions (internal/noiserule) are set aside. A PC left
// over fails the trial, with the thread and the PC as "fn+off (file)". A
// trial it cannot judge (no symbols, the threads' syscalls returned other
// results than the references', per-thread lists missing) is an error,
// unless the guest's own checks already failed it.
func judgeUnion(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table) {
	if res.Verdict != results.Pass && res.Verdict != results.Fail || o.Metrics["skipped"] == 1 {
		return
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	threads, why := threadLists(o, syms)
	if why != "" {
		res.Evidence = append(res.Evidence, "lost coverage: not judged: "+why)
		res.Metrics["union_unjudged"] = 1
		if res.Verdict == results.Pass {
			res.Verdict, res.Error = results.Error, "could not judge lost coverage: "+why
		}
		return
	}
	var lost []string
	unexplained := 0
	for _, n := range threads {
		key := refMinusThread + strconv.Itoa(n)
		left, line := setAside(res, o.PCs[key], syms, false)
		res.Metrics["ref_minus_thread_set_aside"] += float64(len(o.PCs[key]) - len(left))
		res.Evidence = append(res.Evidence, fmt.Sprintf("thread %d: PCs every reference recorded that it did not: %s", n, line))
		for _, pc := range left {
			lost = append(lost, fmt.Sprintf("thread %d lost %s", n, pc))
		}
		unexplained += len(left)
	}
	res.Metrics["ref_minus_thread_unexplained"] = float64(unexplained)
	left, line := setAside(res, o.PCs[everyThread], syms, true)
	if o.Metrics["every_thread_unjudged"] > 0 {
		line = "not judged: fewer than two threads ran their session without sleeping (the Go runtime handed the others' threads off)"
	}
	res.Evidence = append(res.Evidence, "PCs every racing thread recorded that no reference did: "+line)
	res.Metrics[everyThread+"_unexplained"] = float64(len(left))
	unexplained += len(left)
	for _, l := range listedOnly {
		left, line := setAside(nil, o.PCs[l.key], syms, true)
		if len(left) > 0 {
			line += "; by function: " + byFunction(o.PCs[l.key], syms)
		}
		res.Evidence = append(res.Evidence, l.what+": "+line)
	}
	res.Metrics["union_unexplained"] = float64(unexplained)
	if unexplained > 0 && res.Verdict == results.Pass {
		res.Verdict = results.Fail
		msg := fmt.Sprintf("the racing threads' PCs differ from the single-thread references' in %d PC(s) outside timing-dependent code", unexplained)
		if len(lost) > 0 {
			msg += ": " + strings.Join(lost[:min(len(lost), 6)], "; ")
		}
		res.Error = msg
	}
}

// threadLists returns the threads whose per-thread lists the guest sent,
// in order, or why the trial cannot be judged.
func threadLists(o scenarios.Outcome, syms *symbolize.Table) ([]int, string) {
	if syms == nil {
		return nil, "no vmlinux symbols: timing-dependent functions cannot be told apart"
	}
	if n := o.Metrics["op_results_differ"]; n > 0 {
		return nil, fmt.Sprintf("%v session(s)' syscalls did not return what the first reference's did, so their coverage differs for a reason other than the race", n)
	}
	var threads []int
	for key := range o.PCs {
		if s, ok := strings.CutPrefix(key, refMinusThread); ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Sprintf("bad per-thread list %q", key)
			}
			threads = append(threads, n)
		}
	}
	sort.Ints(threads)
	if ran := int(o.Metrics["threads"] - o.Metrics["threads_failed"]); len(threads) == 0 || len(threads) != ran {
		return nil, fmt.Sprintf("the guest sent per-thread lists for %d of the %d threads that ran", len(threads), ran)
	}
	return threads, ""
}

// setAside splits pcs into those in a function a noise rule names (an
// ExtraOnly rule only when extra: the PCs are beyond the references'),
// counted in res's set_aside/FUNCTION metrics (when res is not nil), and
// the rest, described as "fn+off (file)"; line is one line of evidence.
func setAside(res *results.Scenario, pcs []uint64, syms *symbolize.Table, extra bool) (left []string, line string) {
	byFunc := map[string]int{}
	for _, pc := range pcs {
		fn, _, ok := syms.Func(pc)
		if r, hit := noiserule.Classify(fn); ok && hit && (extra || !r.ExtraOnly) {
			byFunc[fn]++
			continue
		}
		left = append(left, syms.Describe(pc))
	}
	var fns []string
	for fn, n := range byFunc {
		if res != nil {
			res.Metrics["set_aside/"+fn] += float64(n)
		}
		fns = append(fns, fmt.Sprintf("%s %d", fn, n))
	}
	sort.Strings(fns)
	line = fmt.Sprintf("%d; set aside by symbol: %d (%s); unexplained: %d", len(pcs), len(pcs)-len(left), strings.Join(fns, ", "), len(left))
	if len(left) > 0 {
		line += ": " + strings.Join(left[:min(len(left), 12)], ", ")
	}
	return left, line
}

// byFunction is "fn N, ..." for the PCs no rule explains, most first:
// a listed difference at a glance, whatever its length.
func byFunction(pcs []uint64, syms *symbolize.Table) string {
	n := map[string]int{}
	for _, pc := range pcs {
		fn, _, ok := syms.Func(pc)
		if !ok {
			fn = "?"
		}
		if _, hit := noiserule.Classify(fn); !hit || !ok {
			n[fn]++
		}
	}
	fns := make([]string, 0, len(n))
	for fn := range n {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool {
		if n[fns[i]] != n[fns[j]] {
			return n[fns[i]] > n[fns[j]]
		}
		return fns[i] < fns[j]
	})
	parts := make([]string, len(fns))
	for i, fn := range fns {
		parts[i] = fmt.Sprintf("%s %d", fn, n[fn])
	}
	return strings.Join(parts, ", ")
}
