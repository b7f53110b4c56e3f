// Package mutants is kcovlab's mutation suite: it proves that the verdicts
// can fail. Each mutant is a known-bad edit of kernel/kcov.c shipped as a
// patch in patches/mutants/SERIES/ (one invariant each: dedup, bitmap and
// trace reset, guard indices, buffer bounds, overflow, the ioctl error
// table, remote handles, interrupt filtering, boot, WARN paths). Run builds
// the series plus one mutant at a time (an incremental variant of the
// series' kernel: only kcov.c and the link are redone), runs the scenarios
// on it and records which went red. A mutant is killed only when a scenario
// that judges its invariant (its Killed-by trailer) fails on it; a crash
// elsewhere does not count. The mutation score is killed/total.
//
// It owns the mutant list and the kill rules, nothing about how a run is
// made: every build, boot and scenario goes through the pool of package
// runs (lab.Run underneath: --jobs runs at once, one mutant's build at a
// time overlapped with the runs of mutants already built). It must not
// import internal/vm, internal/sshlink or images.
//
// Tests: go test -short ./mutants/ (a fake lab, runs/runstest); the real suite is
// `kcovlab mutants` and the e2e test TestMutants.
package mutants

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/series"
	"github.com/kcovlab/kcovlab/lab"
)

// Mutant is one known-bad patch.
type Mutant struct {
	Name        string `json:"name"`
	Invariant   string `json:"invariant"`
	Description string `json:"description"`
	Path        string `json:"path"`
	// KilledBy are the scenarios that judge the broken invariant; "boot"
	// means the kernel must fail to boot with a crash on the console.
	KilledBy []string `json:"killed_by"`
}

// judges are the scenarios a mutant's run needs: its judges, with smoke
// standing in for the boot.
func (m Mutant) judges() []string {
	var out []string
	for _, k := range m.KilledBy {
		if k == BootJudge {
			k = "smoke"
		}
		out = append(out, k)
	}
	return out
}

// BootJudge is the KilledBy name for a mutant the boot itself must catch.
const BootJudge = "boot"

// Dir is where a series' mutants live in the kcovlab checkout.
func Dir(moduleDir, seriesName string) string {
	return filepath.Join(moduleDir, "patches", "mutants", seriesName)
}

// List reads the mutants of a series, in file order.
func List(ctx context.Context, moduleDir, seriesName string) ([]Mutant, error) {
	dir := Dir(moduleDir, seriesName)
	paths, err := filepath.Glob(filepath.Join(dir, "*.patch"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("series %s has no mutants (no *.patch in %s)", seriesName, dir)}
	}
	sort.Strings(paths)
	var out []Mutant
	for _, p := range paths {
		m, err := Parse(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Parse reads one mutant patch: its subject is "mutant NAME: what it
// breaks", its message carries "Invariant: ..." and "Killed-by: a, b".
func Parse(ctx context.Context, path string) (Mutant, error) {
	s, err := series.Load(ctx, path)
	if err != nil {
		return Mutant{}, fmt.Errorf("mutant %s: %w", path, err)
	}
	if len(s.Patches) != 1 {
		return Mutant{}, fmt.Errorf("mutant %s: want one patch, found %d", path, len(s.Patches))
	}
	p := s.Patches[0]
	m := Mutant{Name: lab.MutantName(path), Path: path}
	subj, ok := strings.CutPrefix(p.Subject, "mutant "+m.Name+": ")
	if !ok {
		return Mutant{}, fmt.Errorf("mutant %s: subject %q must start with %q", path, p.Subject, "mutant "+m.Name+": ")
	}
	m.Description = subj
	for _, line := range strings.Split(p.Message, "\n") {
		if v, ok := strings.CutPrefix(line, "Invariant: "); ok {
			m.Invariant = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Killed-by: "); ok {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					m.KilledBy = append(m.KilledBy, k)
				}
			}
		}
	}
	if m.Invariant == "" || len(m.KilledBy) == 0 {
		return Mutant{}, fmt.Errorf("mutant %s: the message needs an Invariant: line and a Killed-by: line", path)
	}
	return m, nil
}

// Select keeps the mutants named in only (all when only is empty); an
// unknown name is a usage error that lists the known ones.
func Select(all []Mutant, only []string) ([]Mutant, error) {
	if len(only) == 0 {
		return all, nil
	}
	byName := map[string]Mutant{}
	var names []string
	for _, m := range all {
		byName[m.Name] = m
		names = append(names, m.Name)
	}
	var out []Mutant
	for _, n := range only {
		m, ok := byName[n]
		if !ok {
			return nil, &lab.UsageError{Msg: fmt.Sprintf("--only %s: no such mutant (have: %s)", n, strings.Join(names, ", "))}
		}
		out = append(out, m)
	}
	return out, nil
}

// Outcome is what the suite needs of one run.
type Outcome struct {
	RunDir    string
	Cached    bool
	BuildSecs float64
	// Scenarios are the run's verdicts by scenario, in run order.
	Scenarios []ScenarioVerdict
}

// ScenarioVerdict is one scenario's verdict and its first line of evidence.
type ScenarioVerdict struct {
	Name, Verdict, ErrorKind, Evidence string
}

// outcomeOf is what the suite needs of one run (of opts): its verdicts, and
// the run's error unless it only says a scenario failed or checked nothing.
func outcomeOf(opts lab.Options, res *results.Result, err error) (*Outcome, error) {
	if res == nil {
		return nil, err
	}
	o := &Outcome{RunDir: filepath.Join(opts.ResultsDir, res.RunID), Cached: res.Kernel.Cached, BuildSecs: res.Kernel.BuildSeconds}
	for _, s := range res.Scenarios {
		o.Scenarios = append(o.Scenarios, ScenarioVerdict{Name: s.Name, Verdict: s.Verdict, ErrorKind: s.ErrorKind, Evidence: firstEvidence(s.Error, s.Evidence)})
	}
	if errors.Is(err, lab.ErrScenarioFailed) || errors.Is(err, lab.ErrNothingChecked) {
		err = nil
	}
	return o, err
}

// firstEvidence is the line that says why a scenario went red: its error,
// else the first evidence line a check marked FAIL, else its last line
// (scenarios append what failed after what they measured).
func firstEvidence(errText string, evidence []string) string {
	if errText != "" {
		return firstLine(errText)
	}
	for _, e := range evidence {
		if failMark.MatchString(e) {
			return firstLine(e)
		}
	}
	if len(evidence) > 0 {
		return firstLine(evidence[len(evidence)-1])
	}
	return ""
}

var failMark = regexp.MustCompile(`\bFAIL\b`)

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// DefaultScenarios run on every mutant: each scenario the series' kernel
// can judge (bootgate needs a KCOV_SELFTEST kernel and is left out).
var DefaultScenarios = []string{"smoke", "unique", "ioctl", "reset", "overflow", "irqnoise", "guardrace", "kselftest"}
