package kconfig

import (
	"github.com/kcovlab/kcovlab/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParseFragment(t *testing.T, name, text string) *Fragment {
	t.Helper()
	f, err := ParseFragment(name, strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseFragment(%s): %v", name, err)
	}
	return f
}

func mustParseConfig(t *testing.T, text string) *Config {
	t.Helper()
	c, err := ParseConfig(strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return c
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, name, []byte(got))
}

// writeTree creates files (slash-separated path -> content) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
