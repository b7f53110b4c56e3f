package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/bisect"
	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

// The acceptance bisect: Debian 6.12 plus the v2 series as commits, with a
// commit that does not configure (and its revert) right after patch 7, so
// between the last commit where KCOV_UNIQUE_ENABLE fails and the first
// where it works.
const (
	bisectFixtureAfter = 7
	bisectWant         = "kcov: add ioctl(KCOV_UNIQUE_ENABLE)"
	bisectCheck        = "errno==0"
)

var bisectFragments = []string{"guest.config", "kcov.config", "kcov-unique.config"}

// TestBisectSeries bisects the unique scenario's errno==0 from the base
// (bad) to the series head (good, so the bisect is inverted): it must name
// the patch that adds the ioctl, skip the non-building fixture rather than
// blame it, and leave the tree reset. Each step that builds is a kernel
// build (incremental in the tree's one build directory, yet minutes), so
// it runs with KCOVLAB_E2E_FULL=1 (make e2e-full), or when an earlier
// bisect of the same tree left every step's kernel in the cache.
func TestBisectSeries(t *testing.T) {
	needLab(t)
	root := filepath.Join(lab.DefaultCacheDir(), "e2e-bisect")
	resultsDir := filepath.Join(root, "results")
	ctx, cancel := context.WithTimeout(context.Background(), 160*time.Minute)
	defer cancel()
	if os.Getenv("KCOVLAB_E2E_FULL") != "1" && !stepKernelsCached(t, ctx, resultsDir) {
		t.Skip("the bisect's step kernels are not all cached (each is a kernel build): run it once with KCOVLAB_E2E_FULL=1 (make e2e-full)")
	}
	tree := bisectTree(t, ctx, filepath.Join(root, "tree-v2-fixture"))
	if got := tree.Commits[bisectFixtureAfter+3].Subject; got != bisectWant {
		t.Fatalf("commit after the fixture is %q, want %q: the v2 series changed", got, bisectWant)
	}
	bo := bisect.Options{
		Options:  labOptions(t),
		Good:     tree.Head.Commit,
		Bad:      tree.Base.Commit,
		Scenario: "unique",
		Check:    bisectCheck,
	}
	bo.KernelSrc, bo.ResultsDir, bo.Fragments = tree.Dir, resultsDir, bisectFragments
	testutil.CheckResultsUnder(t, resultsDir)
	rep, err := bisect.Bisect(ctx, bo)
	if rep != nil {
		for i, st := range rep.Steps {
			t.Logf("MEASURED bisect step=%d commit=%s verdict=%s split=%q cached=%v build_s=%.0f boot_s=%.1f scenario_s=%.1f why=%q subject=%q",
				i+1, st.Commit[:12], st.Verdict, st.Split, st.KernelCached, st.BuildSeconds, st.BootSeconds, st.ScenarioSeconds, st.Why, st.Subject)
		}
		t.Logf("MEASURED bisect steps=%d seconds=%.0f confidence=%.2f dir=%s", len(rep.Steps), rep.Seconds, rep.Confidence, rep.Dir)
	}
	if err != nil {
		t.Fatalf("bisect: %v", err)
	}
	if !rep.Inverted || rep.First == nil || rep.First.Subject != bisectWant {
		t.Fatalf("answer %+v (inverted %v), want the first good commit %q", rep.First, rep.Inverted, bisectWant)
	}
	fixture := tree.Fixture[0].Commit
	for _, st := range rep.Steps {
		if st.Commit == fixture && (st.Verdict != bisect.Skip || !st.KernelFailed) {
			t.Errorf("the fixture was judged %s (kernel failed %v), want skipped for not building", st.Verdict, st.KernelFailed)
		}
	}
	checkTreeReset(t, ctx, tree)
	checkFixtureSkipped(t, ctx, tree, bo)
}

// checkFixtureSkipped runs one bisect step on the fixture itself, as `git
// bisect run kcovlab bisect-step --invert` would: whether or not the
// bisect visited it, it must be skipped (exit 125) for not building, never
// judged. Its configuration fails within seconds.
func checkFixtureSkipped(t *testing.T, ctx context.Context, tree *bisect.Tree, bo bisect.Options) {
	t.Helper()
	testutil.Git(t, tree.Dir, "checkout", "-q", tree.Fixture[0].Commit)
	defer testutil.Git(t, tree.Dir, "checkout", "-q", tree.Branch)
	st, err := bisect.StepAt(ctx, bo)
	code := bisect.ExitCode(st, err, true)
	if st != nil {
		t.Logf("MEASURED bisect-step fixture=%s verdict=%s why=%q exit=%d", st.Commit[:12], st.Verdict, st.Why, code)
	}
	if code != 125 || st == nil || st.Verdict != bisect.Skip || !st.KernelFailed {
		t.Errorf("bisect-step on the fixture: exit %d, step %+v, err %v; want 125, skipped because the kernel did not build", code, st, err)
	}
}

// bisectTree returns the bisect tree in dir, making it when it is missing
// or not as a clean bisect needs it. Its description is kept beside it in
// tree.json; reusing the tree keeps its files' timestamps, so the build
// directory stays incremental.
func bisectTree(t *testing.T, ctx context.Context, dir string) *bisect.Tree {
	t.Helper()
	meta := dir + ".json"
	if raw, err := os.ReadFile(meta); err == nil {
		var tree bisect.Tree
		if json.Unmarshal(raw, &tree) == nil && treeUsable(ctx, &tree) {
			return &tree
		}
	}
	os.RemoveAll(dir)
	os.Remove(meta)
	bt := bisect.TreeOptions{Options: labOptions(t), Dir: dir, FixtureAfter: bisectFixtureAfter}
	bt.Series = "v2"
	tree, err := bisect.MakeTree(ctx, bt)
	if err != nil {
		t.Fatalf("bisect tree: %v", err)
	}
	raw, _ := json.MarshalIndent(tree, "", "  ")
	if err := os.WriteFile(meta, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return tree
}

func treeUsable(ctx context.Context, tree *bisect.Tree) bool {
	repo, err := gitbisect.Open(ctx, tree.Dir)
	if err != nil || repo.Ready(ctx) != nil {
		return false
	}
	head, err := repo.Head(ctx)
	return err == nil && head == tree.Head.Commit && len(tree.Fixture) == 2
}

// stepKernelsCached reports whether the newest finished bisect in dir left
// the kernel of every step that built in the cache: this run then takes
// the same steps without building.
func stepKernelsCached(t *testing.T, ctx context.Context, dir string) bool {
	t.Helper()
	reports, _ := filepath.Glob(filepath.Join(dir, "bisect-*", "bisect.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(reports)))
	for _, p := range reports {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rep bisect.Report
		if json.Unmarshal(raw, &rep) != nil || rep.First == nil {
			continue
		}
		bo := bisect.Options{Options: labOptions(t), Good: rep.Good.Commit, Bad: rep.Bad.Commit, Scenario: rep.Scenario, Check: rep.Check}
		bo.KernelSrc, bo.Fragments = rep.Tree, bisectFragments
		ks, err := bisect.Kernels(ctx, bo)
		if err != nil {
			t.Logf("previous bisect %s: %v", p, err)
			return false
		}
		cached := map[string]bool{}
		for _, k := range ks {
			cached[k.Commit] = k.Cached
		}
		for _, st := range rep.Steps {
			if !st.KernelFailed && !cached[st.Commit] {
				t.Logf("step kernel of %s (%s) is not cached", st.Commit[:12], st.Subject)
				return false
			}
		}
		return true
	}
	return false
}

// checkTreeReset fails unless the tree is back on its branch at its head.
func checkTreeReset(t *testing.T, ctx context.Context, tree *bisect.Tree) {
	t.Helper()
	repo, err := gitbisect.Open(ctx, tree.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Ready(ctx); err != nil {
		t.Errorf("after the bisect: %v", err)
	}
	if head, _ := repo.Head(ctx); head != tree.Head.Commit {
		t.Errorf("after the bisect HEAD is %s, want %s", head, tree.Head.Commit)
	}
}
