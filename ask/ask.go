// Package ask is the ask verb: a recipe answers one reviewer question
// with the runs, comparisons and kernel scans it needs, and writes the
// answer (answer.txt, paste-ready, and answer.json) into
// RESULTS/ask-RECIPE-ID.
//
// It owns the recipes (recipes_*.go) and the answer's format. It asks for
// runs and A/B comparisons through package runs and for built kernels
// through lab.BuildKernel: it must not import another verb, nor reach
// QEMU, SSH or the guest image.
//
// Host needs: those of lab.Run. Tests (go test -short ./ask/) use a fake
// run; the real recipes are the e2e suite (make e2e).
package ask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// Options configure Ask: one recipe answering a reviewer's question.
type Options struct {
	// Options are what every run of the recipe gets; Kernel, Series,
	// Exclude and Scenarios are set per run by the recipe.
	lab.Options
	// Recipe is the question's name (see Recipes).
	Recipe string
	// Runs per kernel for recipes that repeat runs [the recipe's default].
	Runs int
	// Kernels replace the recipe's kernels, in the recipe's order (e.g.
	// guard-size against vanilla when v2-nounique is not built).
	Kernels []string
	// Parallel is how many runs of a comparison boot at once (--jobs) [1].
	Parallel int

	// run does one run, compare one comparison and build one kernel
	// [lab.Run, runs.AB, lab.BuildKernel]; tests replace them.
	run     runs.RunFunc
	compare func(context.Context, runs.ABOptions) (*runs.ABResult, error)
	build   func(context.Context, lab.Options) (*kbuild.Kernel, results.Kernel, error)
	// source reads a file of the source a kernel was built from
	// [lab.KernelSourceFile].
	source func(ctx context.Context, o lab.Options, path string) ([]byte, error)
	// id names the answer's directory [ask-RECIPE-RUNID]; a merge gives
	// the plan's.
	id string
}

// Answer is a recipe's reply, written as answer.txt (paste-ready) and
// answer.json in RESULTS/ask-RECIPE-ID.
type Answer struct {
	Recipe   string `json:"recipe"`
	Question string `json:"question"`
	// Kernels are the identities of the kernels the answer rests on.
	Kernels []results.Kernel `json:"kernels"`
	Accel   string           `json:"accel,omitempty"`
	// Findings are the answer in a few sentences, numbers included.
	Findings []string `json:"findings"`
	// Details are tables and lists backing the findings.
	Details string `json:"details,omitempty"`
	// Data is the recipe's numbers, for scripts.
	Data any `json:"data,omitempty"`
	// Commands rerun the answer, and its parts one by one.
	Commands []string `json:"commands"`
	// Runs are the run directories the answer read, relative to Dir.
	Runs []string `json:"runs,omitempty"`
	Dir  string   `json:"-"`
}

// Recipe is one reviewer question the lab can answer.
type Recipe struct {
	Name     string
	Question string
	// Kernels it needs by default, and Runs per kernel where it repeats.
	Kernels []string
	Runs    int
	answer  func(ctx context.Context, a *asker) error
	// noPlan, when set, says why kcovlab plan ask cannot cut the recipe
	// into jobs (see Plan).
	noPlan string
}

// RecipeNames lists the recipes in order.
func RecipeNames() []string {
	names := make([]string, 0, len(recipes))
	for n := range recipes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupRecipe returns the named recipe.
func LookupRecipe(name string) (Recipe, error) {
	r, ok := recipes[name]
	if !ok {
		return Recipe{}, &lab.UsageError{Msg: fmt.Sprintf("unknown recipe %q; kcovlab ask lists them: %s", name, strings.Join(RecipeNames(), ", "))}
	}
	return r, nil
}

// asker carries one recipe's work.
type asker struct {
	opts    Options
	recipe  Recipe
	kernels []string
	runs    int
	ans     *Answer
}

// Ask answers one recipe's question: it builds, boots and runs what the
// recipe needs (kernels come from the cache when built), writes
// answer.txt and answer.json and prints the answer to Out.
func Ask(ctx context.Context, ao Options) (*Answer, error) {
	a, err := newAsker(ao)
	if err != nil {
		return nil, err
	}
	return a.answer(ctx)
}

// newAsker checks ao and sets up the recipe's work; nothing runs yet.
func newAsker(ao Options) (*asker, error) {
	rec, err := LookupRecipe(ao.Recipe)
	if err != nil {
		return nil, err
	}
	if err := ao.defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	a := &asker{opts: ao, recipe: rec, kernels: rec.Kernels, runs: rec.Runs}
	if len(ao.Kernels) > 0 {
		if len(ao.Kernels) != len(rec.Kernels) {
			return nil, &lab.UsageError{Msg: fmt.Sprintf("recipe %s takes %d kernels (%s), got %d", rec.Name, len(rec.Kernels), strings.Join(rec.Kernels, ","), len(ao.Kernels))}
		}
		a.kernels = ao.Kernels
	}
	if ao.Runs > 0 {
		a.runs = ao.Runs
	}
	for _, k := range a.kernels {
		if _, err := lab.LookupKernel(k); err != nil {
			return nil, &lab.UsageError{Msg: err.Error()}
		}
	}
	a.ans = &Answer{Recipe: rec.Name, Question: rec.Question, Commands: []string{a.command()}}
	return a, nil
}

// answer runs the recipe and writes and prints its answer.
func (a *asker) answer(ctx context.Context) (*Answer, error) {
	id := a.opts.id
	if id == "" {
		id = "ask-" + a.recipe.Name + "-" + results.NewRunID(time.Now())
	}
	a.ans.Dir = filepath.Join(a.opts.ResultsDir, id)
	if err := os.MkdirAll(a.ans.Dir, 0o755); err != nil {
		return nil, &lab.InfraError{Stage: "results", Err: err}
	}
	err := a.recipe.answer(ctx, a)
	if werr := a.ans.write(); werr != nil && err == nil {
		err = &lab.InfraError{Stage: "results", Err: werr}
	}
	a.ans.WriteText(a.opts.Out)
	return a.ans, err
}

func (ao *Options) defaults() error {
	if err := ao.Options.Defaults(); err != nil {
		return err
	}
	if ao.run == nil {
		ao.run = lab.Run
	}
	if ao.compare == nil {
		ao.compare = runs.AB
	}
	if ao.build == nil {
		ao.build = lab.BuildKernel
	}
	if ao.source == nil {
		ao.source = lab.KernelSourceFile
	}
	return nil
}

// command is the kcovlab command line that reruns this answer.
func (a *asker) command() string {
	argv := []string{"kcovlab", "ask", a.recipe.Name}
	if a.runs != a.recipe.Runs {
		argv = append(argv, fmt.Sprintf("--runs=%d", a.runs))
	}
	if strings.Join(a.kernels, ",") != strings.Join(a.recipe.Kernels, ",") {
		argv = append(argv, "--kernel="+strings.Join(a.kernels, ","))
	}
	return proc.Quote(argv)
}

// runOpts are the options of one run of kernel with scenarios.
func (a *asker) runOpts(kernel string, scenarios ...string) lab.Options {
	o := a.opts.Options
	o.Kernel, o.Series, o.Exclude, o.Scenarios = kernel, "", nil, scenarios
	o.Out = io.Discard
	return o
}

// runOnce runs kernel with scenarios and records its identity and run dir.
func (a *asker) runOnce(ctx context.Context, kernel string, scenarios ...string) (*results.Result, error) {
	outs, err := runs.Batch{Run: a.opts.run}.Do(ctx, []runs.Request{{Label: kernel, Options: a.runOpts(kernel, scenarios...)}})
	var res *results.Result
	if len(outs) == 1 {
		res, err = outs[0].Result, outs[0].Err
	}
	if res == nil {
		return nil, err
	}
	a.identify(res.Kernel, res.Accel)
	a.ans.Runs = append(a.ans.Runs, filepath.Join("..", res.RunID))
	argv := []string{"kcovlab", "run", "--kernel", kernel, "--scenario", strings.Join(scenarios, ",")}
	if a.opts.BootRuns > 0 {
		argv = append(argv, fmt.Sprintf("--boot-runs=%d", a.opts.BootRuns))
	}
	a.command1(proc.Quote(argv))
	if res.Error != "" {
		return res, err
	}
	return res, nil
}

// compareRuns runs two kernels interleaved and records both identities.
func (a *asker) compareRuns(ctx context.Context, ka, kb string, scenarios ...string) (*runs.ABResult, error) {
	return a.compareRunsN(ctx, a.runs, ka, kb, scenarios...)
}

// compareRunsN is compareRuns with n runs per kernel.
func (a *asker) compareRunsN(ctx context.Context, n int, ka, kb string, scenarios ...string) (*runs.ABResult, error) {
	co := runs.ABOptions{Options: a.runOpts(ka, scenarios...), KernelA: ka, KernelB: kb, Runs: n, Parallel: a.opts.Parallel, Run: a.opts.run}
	cr, err := a.opts.compare(ctx, co)
	if cr == nil {
		return nil, err
	}
	if c := cr.Comparison; c != nil {
		accel := ""
		if len(c.A.Accel) > 0 {
			accel = c.A.Accel[0]
		}
		a.identify(c.A.Kernel, accel)
		a.identify(c.B.Kernel, accel)
		a.command1(proc.Quote(c.Command))
	}
	a.ans.Runs = append(a.ans.Runs, filepath.Join("..", filepath.Base(cr.Dir)))
	if errors.Is(err, lab.ErrScenarioFailed) {
		err = nil // a failed scenario is a finding here, not a stop
	}
	return cr, err
}

// command1 adds a command once.
func (a *asker) command1(c string) {
	if !slices.Contains(a.ans.Commands, c) {
		a.ans.Commands = append(a.ans.Commands, c)
	}
}

// identify adds a kernel's identity once.
func (a *asker) identify(k results.Kernel, accel string) {
	if accel != "" {
		a.ans.Accel = accel
	}
	if k.Key == "" {
		return // a side of a comparison that never ran
	}
	for _, have := range a.ans.Kernels {
		if have.Key == k.Key {
			return
		}
	}
	a.ans.Kernels = append(a.ans.Kernels, k)
}

func (a *asker) findf(format string, args ...any) {
	a.ans.Findings = append(a.ans.Findings, fmt.Sprintf(format, args...))
}

// WriteText prints the answer for a mail reply: the question, the kernels,
// the findings, the details, and the commands that reproduce it.
func (ans *Answer) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Q: %s\n\n", ans.Question)
	fmt.Fprintln(w, "Kernels (Debian 6.12 source, kcovlab guest config):")
	for _, k := range ans.Kernels {
		fmt.Fprintf(w, "  %s\n", kernelIdentity(k))
	}
	if ans.Accel != "" {
		fmt.Fprintf(w, "  booted under %s, 2 vCPUs\n", strings.ToUpper(ans.Accel))
	}
	fmt.Fprintln(w)
	for _, f := range ans.Findings {
		fmt.Fprintf(w, "- %s\n", f)
	}
	if ans.Details != "" {
		fmt.Fprintf(w, "\n%s", ans.Details)
		if !strings.HasSuffix(ans.Details, "\n") {
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w, "\nTo reproduce (github.com/kcovlab/kcovlab):")
	for _, c := range ans.Commands {
		fmt.Fprintf(w, "  $ %s\n", c)
	}
	if ans.Dir != "" {
		fmt.Fprintf(w, "Results: %s\n", ans.Dir)
	}
}

// kernelIdentity is one line naming a kernel exactly.
func kernelIdentity(k results.Kernel) string {
	s := k.Name
	if k.Series != "" {
		s += fmt.Sprintf(": series %s", k.Series)
		if len(k.Excluded) > 0 {
			s += fmt.Sprintf(" without patch %v", k.Excluded)
		}
	}
	return fmt.Sprintf("%s; key %s; %s; fragments %s; %s", s, k.Key, k.SourceID, strings.Join(k.Fragments, ","), k.Compiler)
}

func (ans *Answer) write() error {
	var b strings.Builder
	ans.WriteText(&b)
	if err := os.WriteFile(filepath.Join(ans.Dir, "answer.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(ans, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(ans.Dir, "answer.json"), raw, 0o644)
}
