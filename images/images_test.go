package images

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFollowsGuestSourcesOnly(t *testing.T) {
	ctx := context.Background()
	base := Options{ModuleDir: "..", Programs: []string{"github.com/kcovlab/kcovlab/scenarios/smoke"}}
	k1, err := Key(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Key(ctx, base)
	if err != nil || k1 != k2 {
		t.Fatalf("key not stable: %s %s %v", k1, k2, err)
	}
	dirs, err := moduleDirs(ctx, "..", base.packages())
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, d := range dirs {
		rel, _ := filepath.Rel(mustAbs(t, ".."), d)
		has[rel] = true
	}
	for _, want := range []string{"images/kcovinit", "internal/sshlink", "internal/kcov", "scenarios/smoke", "scenarios"} {
		if !has[want] {
			t.Errorf("image key ignores %s (dirs: %v)", want, dirs)
		}
	}
	for _, hostOnly := range []string{"lab", "internal/vm", "internal/kbuild", "cmd/kcovlab"} {
		if has[hostOnly] {
			t.Errorf("image key depends on host-only package %s", hostOnly)
		}
	}
	extra := filepath.Join(t.TempDir(), "kcov_test")
	os.WriteFile(extra, []byte("v1"), 0o755)
	withFile := base
	withFile.Files = []string{extra + ":bin/kcov_test"}
	k3, err := Key(ctx, withFile)
	if err != nil || k3 == k1 {
		t.Fatalf("an extra file did not change the key: %s %v", k3, err)
	}
	os.WriteFile(extra, []byte("v2"), 0o755)
	if k4, _ := Key(ctx, withFile); k4 == k3 {
		t.Error("changing an extra file's content did not change the key")
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
