package lab

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/noiserule"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

// hostJudges finish a scenario's result on the host, where vmlinux's
// symbols are: the guest only has addresses.
var hostJudges = map[string]func(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table){
	"irqnoise":  func(res *results.Scenario, _ scenarios.Outcome, _ *symbolize.Table) { noiseByFunction(res) },
	"guardrace": judgeUnion,
}

// unionLists are guardrace's (c) differences, as the guest names them;
// judged lists fail the trial with a PC no rule explains.
var unionLists = []struct {
	key, what string
	judged    bool
}{
	{"ref_minus_union", "PCs the reference recorded that no racing thread did", true},
	{"union_minus_ref_every_thread", "PCs every racing thread recorded that the reference did not", true},
	{"union_minus_ref", "PCs some racing thread recorded that the reference did not (listed, not judged: the losers of contention on shared objects)", false},
}

// judgeUnion is guardrace's check (c): the threads' union equals the
// single-thread reference once PCs in timing-dependent code are set aside
// by symbol (internal/noiserule). A PC left over in a judged list (lost
// coverage, or extra coverage every thread shares) fails the trial, with
// its symbol and file as evidence.
func judgeUnion(res *results.Scenario, o scenarios.Outcome, syms *symbolize.Table) {
	if res.Verdict != results.Pass && res.Verdict != results.Fail || o.Metrics["skipped"] == 1 {
		return
	}
	if syms == nil {
		res.Evidence = append(res.Evidence, "union vs reference: not judged, no vmlinux symbols")
		return
	}
	if o.Metrics["op_results_differ"] > 0 {
		res.Evidence = append(res.Evidence, "union vs reference: not judged, the threads' syscalls did not all return what the reference's did")
		return
	}
	unexplained := 0
	for _, l := range unionLists {
		n, line := setAside(res, l.key, o.PCs[l.key], syms)
		if l.judged {
			unexplained += n
		}
		res.Evidence = append(res.Evidence, l.what+": "+line)
	}
	res.Metrics["union_unexplained"] = float64(unexplained)
	if unexplained > 0 && res.Verdict == results.Pass {
		res.Verdict = results.Fail
		res.Error = fmt.Sprintf("the racing threads' PCs differ from the single-thread reference in %d PC(s) outside timing-dependent code", unexplained)
	}
}

// setAside classifies pcs by the rule their function matches, records
// KEY_set_aside, KEY_unexplained and set_aside/CLASS metrics, and returns
// the unexplained count with one line of evidence.
func setAside(res *results.Scenario, key string, pcs []uint64, syms *symbolize.Table) (int, string) {
	byClass := map[string]int{}
	var left []string
	for _, pc := range pcs {
		fn, _, ok := syms.Func(pc)
		if r, hit := noiserule.Classify(fn); ok && hit {
			byClass[r.Class]++
			continue
		}
		left = append(left, syms.Describe(pc))
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	res.Metrics[key+"_set_aside"] = float64(len(pcs) - len(left))
	res.Metrics[key+"_unexplained"] = float64(len(left))
	var classes []string
	for c, n := range byClass {
		res.Metrics["set_aside/"+c] += float64(n)
		classes = append(classes, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(classes)
	line := fmt.Sprintf("%d; set aside by symbol: %d (%s); unexplained: %d", len(pcs), len(pcs)-len(left), strings.Join(classes, ", "), len(left))
	if len(left) > 0 {
		line += ": " + strings.Join(left[:min(len(left), 12)], ", ")
	}
	return len(left), line
}
