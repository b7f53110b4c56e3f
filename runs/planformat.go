package runs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Plan formats: what kcovlab plan --format prints.
const (
	FormatJSON   = "json"
	FormatGitHub = "github"
	FormatGitLab = "gitlab"
)

// WritePlan prints p in format: json (plan.json, what run --job and merge
// read), github (builds= and runs= lines for $GITHUB_OUTPUT, each a JSON
// list a job matrix takes with fromJSON) or gitlab (a child pipeline).
func WritePlan(w io.Writer, p *Plan, format string) error {
	switch format {
	case FormatJSON:
		raw, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", raw)
		return err
	case FormatGitHub:
		return writeGitHub(w, p)
	case FormatGitLab:
		raw, err := GitLabPipeline(p)
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	}
	return fmt.Errorf("--format %q: want json, github or gitlab", format)
}

// GitHubBuild and GitHubRun are one matrix entry each.
type (
	GitHubBuild struct {
		ID     string `json:"id"`
		Kernel string `json:"kernel"`
		Key    string `json:"key"`
	}
	GitHubRun struct {
		ID    string `json:"id"`
		Build string `json:"build"`
		Key   string `json:"key"`
	}
)

// githubMaxJobs is GitHub's limit on the jobs of one matrix.
const githubMaxJobs = 256

func writeGitHub(w io.Writer, p *Plan) error {
	if len(p.Jobs) > githubMaxJobs || len(p.Builds) > githubMaxJobs {
		return fmt.Errorf("plan %s has %d run jobs and %d builds; a GitHub matrix takes at most %d: plan fewer kernels or scenarios per workflow", p.ID, len(p.Jobs), len(p.Builds), githubMaxJobs)
	}
	builds := make([]GitHubBuild, 0, len(p.Builds))
	for _, b := range p.Builds {
		builds = append(builds, GitHubBuild{ID: b.ID, Kernel: b.Kernel, Key: b.Key})
	}
	jobs := make([]GitHubRun, 0, len(p.Jobs))
	for _, j := range p.Jobs {
		jobs = append(jobs, GitHubRun{ID: j.ID, Build: j.Build, Key: j.Key})
	}
	bj, _ := json.Marshal(builds)
	rj, _ := json.Marshal(jobs)
	_, err := fmt.Fprintf(w, "id=%s\nbuilds=%s\nruns=%s\n", p.ID, bj, rj)
	return err
}

// ordered is a YAML mapping that keeps its keys in the order given.
type ordered []any

func (o ordered) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(o); i += 2 {
		k := &yaml.Node{}
		if err := k.Encode(o[i]); err != nil {
			return nil, err
		}
		v := &yaml.Node{}
		if err := v.Encode(o[i+1]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, k, v)
	}
	return n, nil
}

// GitLabPipeline is a GitLab child pipeline for p: a build job per kernel
// whose cache file is kept in GitLab's cache under the kernel's key (the
// job imports it, builds what is missing, the image at least when the
// kcovlab sources changed, and exports it again), one
// job per run job (needs: its build), and a merge job after them all
// that publishes the merged output. The parent pipeline's plan job must
// keep plan.json as an artifact and pass PARENT_PIPELINE_ID.
func GitLabPipeline(p *Plan) ([]byte, error) {
	planNeed := ordered{"pipeline", "$PARENT_PIPELINE_ID", "job", "plan"}
	doc := ordered{
		"stages", []string{"build", "run", "merge"},
		"default", ordered{"before_script", []string{"make build"}},
	}
	for _, b := range p.Builds {
		file := "kcache/" + b.Key + ".kcache"
		doc = append(doc, b.ID, ordered{
			"stage", "build",
			"needs", []any{planNeed},
			"cache", ordered{"key", "kcovlab-kernel-" + b.Key, "paths", []string{"kcache/"}},
			"script", []string{
				fmt.Sprintf("if [ -f %s ]; then bin/kcovlab cache import --key %s %s; fi", file, b.Key, file),
				fmt.Sprintf("bin/kcovlab run --job %s --plan plan.json", b.ID),
				fmt.Sprintf("mkdir -p kcache && bin/kcovlab cache export %s %s", b.Key, file),
			},
			"artifacts", ordered{"paths", []string{file}, "expire_in", "1 day"},
		})
	}
	for _, j := range p.Jobs {
		doc = append(doc, j.ID, ordered{
			"stage", "run",
			"needs", []any{planNeed, ordered{"job", j.Build, "artifacts", true}},
			"script", []string{
				"bin/kcovlab cache import kcache/" + j.Key + ".kcache",
				fmt.Sprintf("bin/kcovlab run --job %s --plan plan.json --results shards/%s", j.ID, j.ID),
			},
			"artifacts", ordered{"when", "always", "paths", []string{"shards/" + j.ID + "/"}, "expire_in", "1 week"},
		})
	}
	doc = append(doc, "merge", ordered{
		"stage", "merge",
		"when", "always",
		"script", []string{"bin/kcovlab merge --results merged shards/"},
		"artifacts", ordered{"when", "always", "paths", []string{"merged/"},
			"reports", ordered{"junit", "merged/" + p.ID + "/junit.xml"}},
	})
	head := fmt.Sprintf("# kcovlab plan %s (%d builds, %d runs): a GitLab child pipeline, generated; do not edit\n", p.ID, len(p.Builds), len(p.Jobs))
	var b bytes.Buffer
	b.WriteString(head)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
