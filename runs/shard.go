package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/filecopy"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// JobFile is written beside result.json in a run job's run directory: the
// plan and the job it ran, which is how merge knows its shards.
const JobFile = "job.json"

// JobRecord is job.json.
type JobRecord struct {
	Job  string `json:"job"`
	Plan *Plan  `json:"plan"`
}

// Jobs runs one job of a plan on this machine. Its zero value uses the lab.
type Jobs struct {
	Run   RunFunc
	Key   KeyFunc
	Built func(context.Context, lab.Options) (bool, error)
	// AllowBuild lets a run job build a kernel its cache lacks; else it
	// refuses (a CI run job imports the kernel a build job made).
	AllowBuild bool
}

func (j *Jobs) defaults() {
	if j.Run == nil {
		j.Run = lab.Run
	}
	if j.Key == nil {
		j.Key = lab.KernelKey
	}
	if j.Built == nil {
		j.Built = lab.Built
	}
}

// KeyMismatchError says this machine would build another kernel than the
// plan's (another compiler, tarball or kcovlab): the lab's fault, not the
// kernel's.
type KeyMismatchError struct {
	Kernel, Plan, Here string
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("kernel %s has key %s on this machine but %s in the plan: its compiler, kernel source or kcovlab differ from the planning machine's", e.Kernel, e.Here, e.Plan)
}

// Do runs the job id of p with base's machine settings (cache, results
// root, tarball, logging): a run job makes one run and writes job.json
// into its run directory; a build job builds (or finds) the kernel and its
// image and boots nothing. Either checks first that this machine's key for
// the kernel is the plan's.
func (j Jobs) Do(ctx context.Context, p *Plan, id string, base lab.Options) (*results.Result, error) {
	j.defaults()
	job, b := p.Job(id)
	if b == nil {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("plan %s has no job %q (its jobs: %s)", p.ID, id, strings.Join(p.jobIDs(), ", "))}
	}
	o := p.LabOptions(base, b, job)
	key, err := j.Key(ctx, o)
	if err != nil {
		return nil, err
	}
	if key != b.Key {
		return nil, &lab.InfraError{Stage: "plan", Err: &KeyMismatchError{Kernel: b.Kernel, Plan: b.Key, Here: key}}
	}
	if job == nil {
		_, err := lab.PrepareKernel(ctx, o)
		return nil, err
	}
	if !j.AllowBuild {
		ok, err := j.Built(ctx, o)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &lab.InfraError{Stage: "plan", Err: fmt.Errorf("kernel %s (key %s) is not in the cache %s: import the cache file its build job exported (kcovlab cache import FILE), or pass --build", b.Kernel, b.Key, o.CacheDir)}
		}
	}
	outs, err := Batch{Run: j.Run}.Do(ctx, []Request{{Label: job.Label, Options: o}})
	if len(outs) != 1 || outs[0].Result == nil {
		return nil, err
	}
	res := outs[0].Result
	raw, merr := json.MarshalIndent(JobRecord{Job: id, Plan: p}, "", "  ")
	if merr == nil {
		merr = os.WriteFile(filepath.Join(o.ResultsDir, res.RunID, JobFile), raw, 0o644)
	}
	if merr != nil && outs[0].Err == nil {
		return res, &lab.InfraError{Stage: "results", Err: merr}
	}
	return res, outs[0].Err
}

func (p *Plan) jobIDs() []string {
	var ids []string
	for _, b := range p.Builds {
		ids = append(ids, b.ID)
	}
	for _, j := range p.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// Shard is one run job's run directory found by LoadShards.
type Shard struct {
	Job    RunJob
	Dir    string
	Result *results.Result
}

// Shards are a plan's run directories, gathered from several machines.
type Shards struct {
	Plan *Plan
	// Found are the shards in the plan's job order.
	Found []Shard
	// Missing are the run jobs no directory answered for.
	Missing []RunJob
}

// ShardsError refuses a set of shards merge cannot trust.
type ShardsError struct{ Problems []string }

func (e *ShardsError) Error() string {
	return "merge: " + strings.Join(e.Problems, "; ")
}

// LoadShards finds the run directories of run jobs (holding job.json)
// under dirs. Shards of two plans, two directories of one job, or a
// job the plan does not have are a *ShardsError (nothing is dropped
// silently); jobs with no directory are listed in Missing.
func LoadShards(dirs []string) (*Shards, error) {
	var recs []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && e.Name() == JobFile {
				recs = append(recs, path)
			}
			return nil
		})
		if err != nil {
			return nil, &lab.UsageError{Msg: fmt.Sprintf("merge: %v", err)}
		}
	}
	sort.Strings(recs)
	if len(recs) == 0 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("merge: no run job directories (with %s) under %s", JobFile, strings.Join(dirs, " "))}
	}
	s := &Shards{}
	byJob := map[string][]Shard{}
	var problems []string
	for _, rec := range recs {
		raw, err := os.ReadFile(rec)
		if err != nil {
			return nil, &lab.InfraError{Stage: "merge", Err: err}
		}
		var jr JobRecord
		if err := json.Unmarshal(raw, &jr); err != nil || jr.Plan == nil {
			problems = append(problems, fmt.Sprintf("%s: not a job record (%v)", rec, err))
			continue
		}
		if s.Plan == nil {
			s.Plan = jr.Plan
		} else if jr.Plan.ID != s.Plan.ID {
			problems = append(problems, fmt.Sprintf("%s belongs to plan %s, not %s", rec, jr.Plan.ID, s.Plan.ID))
			continue
		}
		job, _ := s.Plan.Job(jr.Job)
		if job == nil {
			problems = append(problems, fmt.Sprintf("%s: plan %s has no run job %q", rec, s.Plan.ID, jr.Job))
			continue
		}
		dir := filepath.Dir(rec)
		res, err := results.Read(dir)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		byJob[jr.Job] = append(byJob[jr.Job], Shard{Job: *job, Dir: dir, Result: res})
	}
	if s.Plan == nil {
		return nil, &ShardsError{Problems: problems}
	}
	for _, j := range s.Plan.Jobs {
		found := byJob[j.ID]
		switch len(found) {
		case 0:
			s.Missing = append(s.Missing, j)
		case 1:
			s.Found = append(s.Found, found[0])
		default:
			var ds []string
			for _, f := range found {
				ds = append(ds, f.Dir)
			}
			problems = append(problems, fmt.Sprintf("job %s ran %d times: %s (keep one)", j.ID, len(found), strings.Join(ds, ", ")))
		}
	}
	if len(problems) > 0 {
		return s, &ShardsError{Problems: problems}
	}
	return s, nil
}

// MissingError says which run jobs never reported: merge writes what it
// has and names them.
func MissingError(missing []RunJob) error {
	if len(missing) == 0 {
		return nil
	}
	var ids []string
	for _, j := range missing {
		ids = append(ids, j.ID)
	}
	return &lab.InfraError{Stage: "merge", Err: fmt.Errorf("%d run jobs left no run directory: %s", len(missing), strings.Join(ids, ", "))}
}

// CopyShard copies a shard's run directory to dst (made; must not exist),
// keeping each file's permissions (the run's SSH key stays private).
func CopyShard(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("copy shard: %s exists", dst)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm()|0o700)
		case !info.Mode().IsRegular():
			return nil // a run directory holds files and directories only
		}
		return filecopy.CopyNew(to, path, info.Mode().Perm())
	})
}
