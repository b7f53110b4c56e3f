package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/lab"
)

// PlanSchema is the version of plan.json.
const PlanSchema = 1

// Plan is a verb's work cut into jobs another machine can run: one build
// job per kernel (named by its cache key) and run jobs that each need one
// build. A CI matrix runs them (kcovlab run --job), and kcovlab merge
// turns their run directories into the verb's own output.
type Plan struct {
	Schema int `json:"schema"`
	// ID names the merged output (nightly-DATE, compare-ID).
	ID   string `json:"id"`
	Verb string `json:"verb"`
	// Args are the verb's own arguments: compare's kernels, ask's recipe.
	Args []string `json:"args,omitempty"`
	// Tolerance is the nightly's, for the comparison merge writes.
	Tolerance float64 `json:"tolerance,omitempty"`
	// Runs per kernel, for compare.
	RunsPerKernel int      `json:"runs_per_kernel,omitempty"`
	Options       RunSpec  `json:"options"`
	Builds        []Build  `json:"builds"`
	Jobs          []RunJob `json:"runs"`
	Created       string   `json:"created"`
}

// RunSpec is what every run of the plan gets, whatever machine it runs
// on: the settings that change what is measured. The cache, the results
// root and the tarball's path are each machine's own.
type RunSpec struct {
	Accel           string        `json:"accel"`
	CPUs            int           `json:"cpus"`
	MemoryMB        int           `json:"memory_mb"`
	BootTimeout     time.Duration `json:"boot_timeout,omitempty"`
	ScenarioTimeout time.Duration `json:"scenario_timeout"`
}

// Build is one kernel to build (or take from a cache) and export.
type Build struct {
	ID     string `json:"id"`
	Kernel string `json:"kernel"`
	// Key is the kernel's cache key: what a CI cache is keyed on, and what
	// a run job checks it imported.
	Key     string `json:"key"`
	Series  string `json:"series,omitempty"`
	Exclude []int  `json:"exclude,omitempty"`
}

// RunJob is one run: one boot of one kernel with its scenarios.
type RunJob struct {
	ID string `json:"id"`
	// Build is the Build's ID this run needs.
	Build string `json:"build"`
	Key   string `json:"key"`
	// Index is the request's position in the verb's list; Part numbers a
	// request's pieces when it was split by scenario.
	Index     int      `json:"index"`
	Part      int      `json:"part,omitempty"`
	Label     string   `json:"label"`
	Scenarios []string `json:"scenarios"`
}

// KeyFunc is a kernel's cache key from a run's options [lab.KernelKey].
type KeyFunc func(context.Context, lab.Options) (string, error)

// PlanOptions configure NewPlan.
type PlanOptions struct {
	ID, Verb string
	Args     []string
	// Split cuts every request into one run per scenario (the nightly's
	// kernel x scenario); else one run per request (compare's kernel x
	// run number).
	Split bool
	// Key [lab.KernelKey]; tests give a stand-in.
	Key KeyFunc
}

// NewPlan turns a verb's requests, the list its own run would make, into
// build and run jobs. All requests share the first one's run settings.
func NewPlan(ctx context.Context, po PlanOptions, reqs []Request) (*Plan, error) {
	if len(reqs) == 0 {
		return nil, &lab.UsageError{Msg: po.Verb + ": nothing to plan"}
	}
	if po.Key == nil {
		po.Key = lab.KernelKey
	}
	o := reqs[0].Options
	p := &Plan{Schema: PlanSchema, ID: po.ID, Verb: po.Verb, Args: po.Args, Created: time.Now().UTC().Format(time.RFC3339),
		Options: RunSpec{Accel: o.Accel, CPUs: o.CPUs, MemoryMB: o.MemoryMB, BootTimeout: o.BootTimeout, ScenarioTimeout: o.ScenarioTimeout},
		Builds:  []Build{}, Jobs: []RunJob{}}
	byKey := map[string]string{}
	ids := map[string]int{}
	for i, req := range reqs {
		key, err := po.Key(ctx, req.Options)
		if err != nil {
			return nil, fmt.Errorf("plan: kernel %s: %w", req.Label, err)
		}
		bid, ok := byKey[key]
		if !ok {
			bid = uniqueID(ids, "build-"+slug(req.Label))
			byKey[key] = bid
			p.Builds = append(p.Builds, Build{ID: bid, Kernel: req.Options.Kernel, Key: key, Series: req.Options.Series, Exclude: req.Options.Exclude})
		}
		if !po.Split {
			p.Jobs = append(p.Jobs, RunJob{ID: uniqueID(ids, slug(req.Label)+"-"+strconv.Itoa(i+1)), Build: bid, Key: key,
				Index: i, Label: req.Label, Scenarios: req.Options.Scenarios})
			continue
		}
		scens, err := lab.SelectScenarios(req.Options.Scenarios)
		if err != nil {
			return nil, err
		}
		for j, s := range scens {
			p.Jobs = append(p.Jobs, RunJob{ID: uniqueID(ids, slug(req.Label)+"-"+s.Name), Build: bid, Key: key,
				Index: i, Part: j, Label: req.Label, Scenarios: []string{s.Name}})
		}
	}
	return p, nil
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a label a job ID part: lowercase letters, digits and dashes
// (CI systems take those in job and artifact names).
func slug(s string) string {
	s = strings.Trim(notSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "job"
	}
	return s
}

// uniqueID is id, or id-2, id-3, ... when taken.
func uniqueID(taken map[string]int, id string) string {
	taken[id]++
	if n := taken[id]; n > 1 {
		return uniqueID(taken, fmt.Sprintf("%s-%d", id, n))
	}
	return id
}

// Job finds a run or build job by ID.
func (p *Plan) Job(id string) (*RunJob, *Build) {
	for i := range p.Jobs {
		if p.Jobs[i].ID == id {
			return &p.Jobs[i], p.build(p.Jobs[i].Build)
		}
	}
	return nil, p.build(id)
}

func (p *Plan) build(id string) *Build {
	for i := range p.Builds {
		if p.Builds[i].ID == id {
			return &p.Builds[i]
		}
	}
	return nil
}

// LabOptions are the lab options of job on this machine: base carries the
// machine's own (cache, results root, tarball, logging), the plan the rest.
func (p *Plan) LabOptions(base lab.Options, b *Build, job *RunJob) lab.Options {
	o := base
	o.Kernel, o.Series, o.Exclude, o.Mutant, o.Fragments = b.Kernel, b.Series, b.Exclude, "", nil
	o.Accel, o.CPUs, o.MemoryMB = p.Options.Accel, p.Options.CPUs, p.Options.MemoryMB
	o.BootTimeout, o.ScenarioTimeout = p.Options.BootTimeout, p.Options.ScenarioTimeout
	if job != nil {
		o.Scenarios = job.Scenarios
	}
	return o
}

// ReadPlan reads plan.json.
func ReadPlan(path string) (*Plan, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan: %v (kcovlab plan writes one)", err)}
	}
	var p Plan
	if err := json.Unmarshal(raw, &p); err != nil || p.Schema != PlanSchema {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan %s: not a kcovlab plan of schema %d (%v)", path, PlanSchema, err)}
	}
	return &p, nil
}
