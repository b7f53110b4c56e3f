package runs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/lab"
	"go.yaml.in/yaml/v3"
)

// fakeKey gives every kernel name a key; "broken" has none.
func fakeKey(_ context.Context, o lab.Options) (string, error) {
	name := o.Kernel + o.Series
	if name == "broken" {
		return "", errors.New("no such series")
	}
	return fmt.Sprintf("%016x", len(name)*7919+int(name[0])), nil
}

func req(label string, scen ...string) Request {
	o := lab.Options{Kernel: label, Scenarios: scen, Accel: "tcg", CPUs: 2, MemoryMB: 1024}
	return Request{Label: label, Options: o}
}

func TestNewPlan(t *testing.T) {
	cases := []struct {
		name   string
		split  bool
		reqs   []Request
		builds []string // build IDs
		jobs   []string // job ID:build
		err    string
	}{
		{name: "nightly: kernel x scenario", split: true,
			reqs:   []Request{req("vanilla", "smoke", "unique"), req("v2", "smoke", "unique")},
			builds: []string{"build-vanilla", "build-v2"},
			jobs:   []string{"vanilla-smoke:build-vanilla", "vanilla-unique:build-vanilla", "v2-smoke:build-v2", "v2-unique:build-v2"}},
		{name: "compare: kernel x run number, one build per kernel",
			reqs:   []Request{req("vanilla", "smoke"), req("v2", "smoke"), req("vanilla", "smoke"), req("v2", "smoke")},
			builds: []string{"build-vanilla", "build-v2"},
			jobs:   []string{"vanilla-1:build-vanilla", "v2-2:build-v2", "vanilla-3:build-vanilla", "v2-4:build-v2"}},
		{name: "a kernel compared with itself: one build, distinct jobs",
			reqs:   []Request{req("v2", "smoke"), req("v2", "smoke")},
			builds: []string{"build-v2"},
			jobs:   []string{"v2-1:build-v2", "v2-2:build-v2"}},
		{name: "labels that slug alike stay distinct", split: true,
			reqs:   []Request{req("v2", "smoke"), req("V2", "smoke")},
			builds: []string{"build-v2", "build-v2-2"},
			jobs:   []string{"v2-smoke:build-v2", "v2-smoke-2:build-v2-2"}},
		{name: "a path as a label", reqs: []Request{req("/tmp/my series.mbox", "smoke")},
			builds: []string{"build-tmp-my-series-mbox"}, jobs: []string{"tmp-my-series-mbox-1:build-tmp-my-series-mbox"}},
		{name: "a kernel without a key stops the plan", reqs: []Request{req("broken", "smoke")}, err: "no such series"},
		{name: "an unknown scenario stops the plan", split: true, reqs: []Request{req("vanilla", "nosuch")}, err: "nosuch"},
		{name: "nothing to plan", err: "nothing to plan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPlan(context.Background(), PlanOptions{ID: "x", Verb: "nightly", Split: c.split, Key: fakeKey}, c.reqs)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var builds, jobs []string
			for _, b := range p.Builds {
				builds = append(builds, b.ID)
			}
			for _, j := range p.Jobs {
				jobs = append(jobs, j.ID+":"+j.Build)
				if _, b := p.Job(j.ID); b == nil || b.Key != j.Key {
					t.Errorf("job %s: build %v does not carry its key %s", j.ID, b, j.Key)
				}
			}
			if fmt.Sprint(builds) != fmt.Sprint(c.builds) || fmt.Sprint(jobs) != fmt.Sprint(c.jobs) {
				t.Errorf("builds %v jobs %v\nwant %v %v", builds, jobs, c.builds, c.jobs)
			}
		})
	}
}

func TestLabOptionsComeFromThePlan(t *testing.T) {
	p, err := NewPlan(context.Background(), PlanOptions{ID: "x", Verb: "nightly", Split: true, Key: fakeKey}, []Request{req("v2", "smoke", "ioctl")})
	if err != nil {
		t.Fatal(err)
	}
	base := lab.Options{CacheDir: "/c", ResultsDir: "/r", CPUs: 8, Accel: "kvm", Kernel: "vanilla", Scenarios: []string{"all"}}
	job, b := p.Job("v2-ioctl")
	o := p.LabOptions(base, b, job)
	if o.Kernel != "v2" || strings.Join(o.Scenarios, ",") != "ioctl" || o.CPUs != 2 || o.Accel != "tcg" || o.CacheDir != "/c" || o.ResultsDir != "/r" {
		t.Fatalf("options %+v", o)
	}
}

func TestPlanFormats(t *testing.T) {
	p, err := NewPlan(context.Background(), PlanOptions{ID: "nightly-1", Verb: "nightly", Split: true, Key: fakeKey},
		[]Request{req("vanilla", "smoke", "unique"), req("v2", "smoke")})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WritePlan(&js, p, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Jobs) != 3 || back.Builds[1].Key != p.Builds[1].Key {
		t.Fatalf("json does not read back: %v %+v", err, back)
	}

	var gh bytes.Buffer
	if err := WritePlan(&gh, p, FormatGitHub); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(gh.String()), "\n") {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	var runs []GitHubRun
	if err := json.Unmarshal([]byte(out["runs"]), &runs); err != nil || len(runs) != 3 || runs[2].Build != "build-v2" {
		t.Fatalf("github runs= %q: %v", out["runs"], err)
	}
	if out["id"] != "nightly-1" || !strings.HasPrefix(out["builds"], "[{") {
		t.Fatalf("github output %q", gh.String())
	}

	var gl bytes.Buffer
	if err := WritePlan(&gl, p, FormatGitLab); err != nil {
		t.Fatal(err)
	}
	var pipe map[string]any
	if err := yaml.Unmarshal(gl.Bytes(), &pipe); err != nil {
		t.Fatalf("gitlab yaml: %v\n%s", err, gl.String())
	}
	job, _ := pipe["v2-smoke"].(map[string]any)
	needs, _ := job["needs"].([]any)
	if job["stage"] != "run" || len(needs) != 2 || !strings.Contains(fmt.Sprint(needs[1]), "build-v2") {
		t.Fatalf("gitlab job v2-smoke: %v\n%s", job, gl.String())
	}
	if m, _ := pipe["merge"].(map[string]any); m["stage"] != "merge" || m["when"] != "always" {
		t.Fatalf("gitlab merge job: %v", pipe["merge"])
	}
	if err := WritePlan(&gl, p, "yaml"); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

func TestGitHubMatrixLimit(t *testing.T) {
	var reqs []Request
	for range 130 {
		reqs = append(reqs, req("vanilla", "smoke"), req("v2", "smoke"))
	}
	p, err := NewPlan(context.Background(), PlanOptions{ID: "c", Verb: "compare", Key: fakeKey}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePlan(new(bytes.Buffer), p, FormatGitHub); err == nil || !strings.Contains(err.Error(), "256") {
		t.Fatalf("260 run jobs in one GitHub matrix: %v", err)
	}
}
