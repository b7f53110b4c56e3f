package testutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
)

// ResultSchemaPath is the JSON Schema every result.json must match, relative
// to the module root.
const ResultSchemaPath = "docs/result.schema.json"

var resultSchema = sync.OnceValues(func() (*jsonschema.Resolved, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	return LoadSchema(filepath.Join(root, ResultSchemaPath))
})

// LoadSchema reads and resolves a JSON Schema file.
func LoadSchema(path string) (*jsonschema.Resolved, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// ValidateResultJSON checks raw (a result.json's bytes) against
// docs/result.schema.json.
func ValidateResultJSON(raw []byte) error {
	rs, err := resultSchema()
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return rs.Validate(v)
}

// CheckResultJSON fails t unless the result.json at path matches
// docs/result.schema.json.
func CheckResultJSON(t testing.TB, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateResultJSON(raw); err != nil {
		t.Errorf("%s does not match %s: %v", path, ResultSchemaPath, err)
	}
}

// CheckResultsUnder validates, when t ends, every result.json written under
// dir since the call against docs/result.schema.json: give it the results
// directory of a test that runs the lab, so that everything the lab wrote
// is checked (older files in a directory kept across runs are not).
func CheckResultsUnder(t testing.TB, dir string) {
	t.Helper()
	since := time.Now().Add(-time.Second)
	t.Cleanup(func() {
		t.Helper()
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "result.json" {
				return nil
			}
			if fi, err := d.Info(); err == nil && !fi.ModTime().Before(since) {
				CheckResultJSON(t, path)
			}
			return nil
		})
	})
}

// ModuleRoot is the directory of kcovlab's go.mod, found from the working
// directory (a test's is its package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod above " + dir)
		}
	}
}

// CheckSchemaProperties keeps a JSON Schema file and the Go types in step:
// every JSON field of root (and of the structs below it in root's package)
// is a property somewhere in the schema, and the schema names no property
// the types no longer have.
func CheckSchemaProperties(t *testing.T, schemaPath string, root any) {
	t.Helper()
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	inSchema := map[string]bool{}
	schemaProperties(doc, inSchema)
	rt := reflect.TypeOf(root)
	fields := map[string]bool{}
	jsonFields(rt, func(st reflect.Type) bool { return st.PkgPath() == rt.PkgPath() }, fields)
	for _, f := range sortedSet(fields) {
		if !inSchema[f] {
			t.Errorf("field %q is not in %s", f, schemaPath)
		}
	}
	for _, f := range sortedSet(inSchema) {
		if !fields[f] {
			t.Errorf("%s has property %q, which the JSON no longer has", schemaPath, f)
		}
	}
}

// schemaProperties collects the names under every "properties" keyword.
func schemaProperties(v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		if props, ok := v["properties"].(map[string]any); ok {
			for name := range props {
				out[name] = true
			}
		}
		for _, x := range v {
			schemaProperties(x, out)
		}
	case []any:
		for _, x := range v {
			schemaProperties(x, out)
		}
	}
}

func sortedSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
