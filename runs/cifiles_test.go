package runs

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// jsonKeys are the keys of v marshalled as JSON.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	raw, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// TestWorkflowMatrixKeys checks that every matrix.X the nightly workflow's
// build and run jobs read is a key plan --format github gives them.
func TestWorkflowMatrixKeys(t *testing.T) {
	raw, err := os.ReadFile("../.github/workflows/nightly.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]yaml.Node `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	use := regexp.MustCompile(`matrix\.([a-z_]+)`)
	for job, keys := range map[string][]string{
		"build": jsonKeys(t, GitHubBuild{}),
		"run":   jsonKeys(t, GitHubRun{}),
	} {
		node, ok := wf.Jobs[job]
		if !ok {
			t.Fatalf("workflow has no %s job", job)
		}
		text, _ := yaml.Marshal(&node)
		found := use.FindAllStringSubmatch(string(text), -1)
		if len(found) == 0 {
			t.Errorf("job %s reads no matrix key", job)
		}
		for _, m := range found {
			if !slices.Contains(keys, m[1]) {
				t.Errorf("job %s reads matrix.%s; plan --format github gives %v", job, m[1], keys)
			}
		}
		if !strings.Contains(string(text), "needs.plan.outputs."+map[string]string{"build": "builds", "run": "runs"}[job]) {
			t.Errorf("job %s's matrix does not come from the plan job's output", job)
		}
	}
}

// TestGitLabExample checks the example parent pipeline provides what the
// generated child pipeline needs: a job named plan keeping plan.json, and
// PARENT_PIPELINE_ID passed to the child.
func TestGitLabExample(t *testing.T) {
	raw, err := os.ReadFile("../docs/gitlab-ci.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	plan, _ := doc["plan"].(map[string]any)
	arts, _ := plan["artifacts"].(map[string]any)
	if !strings.Contains(strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(toString(arts["paths"]), ",", " "), "[]")), " "), "plan.json") {
		t.Errorf("the plan job does not keep plan.json: %v", plan["artifacts"])
	}
	if !strings.Contains(toString(plan["script"]), "--format gitlab") {
		t.Errorf("the plan job does not generate the child pipeline: %v", plan["script"])
	}
	var trigger map[string]any
	for _, v := range doc {
		if j, ok := v.(map[string]any); ok && j["trigger"] != nil {
			trigger = j
		}
	}
	vars, _ := trigger["variables"].(map[string]any)
	if trigger == nil || vars["PARENT_PIPELINE_ID"] != "$CI_PIPELINE_ID" {
		t.Errorf("no trigger job passing PARENT_PIPELINE_ID: %v", trigger)
	}
}

func toString(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
