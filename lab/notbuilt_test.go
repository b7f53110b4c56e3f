package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

// A run that stops before its kernel is built (here its source cannot be
// unpacked) still names the kernel in result.json, which matches the JSON
// Schema, and in the summary, instead of an empty kernel line.
func TestRunStoppedBeforeBuildNamesKernel(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	testutil.CheckResultsUnder(t, results)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		ModuleDir: root, Kernel: "v2", Tarball: filepath.Join(t.TempDir(), "missing.tar.xz"),
		CacheDir: t.TempDir(), ResultsDir: results, Out: &out,
	})
	if err == nil || res == nil {
		t.Fatalf("run with a missing tarball: %v", err)
	}
	if res.Kernel.Name != "v2" || res.Kernel.Series != "v2" {
		t.Errorf("result kernel %+v, want v2 with its series", res.Kernel)
	}
	if _, err := os.Stat(filepath.Join(results, res.RunID, "result.json")); err != nil {
		t.Fatal(err)
	}
	summary := out.String()
	if !strings.Contains(summary, "kernel v2 (not built), not booted") || strings.Contains(summary, "(, )") {
		t.Errorf("summary:\n%s", summary)
	}
}
