package results

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

// TestSchemaDocumented keeps docs/result-json.md, docs/result.schema.json
// and the Go types in step.
func TestSchemaDocumented(t *testing.T) {
	testutil.CheckSchemaDoc(t, "../../docs/result-json.md", SchemaVersion, Result{})
	testutil.CheckSchemaProperties(t, "../../"+testutil.ResultSchemaPath, Result{})
}

// written returns the result.json Write makes of r.
func written(t *testing.T, r *Result) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Every shape of run Write produces matches the JSON Schema: a passing
// run, a run that failed before its kernel was built (empty lists), a
// selftest with cases and error kinds.
func TestWrittenResultsMatchSchema(t *testing.T) {
	notBuilt := &Result{Schema: SchemaVersion, RunID: "20261126-000000-abcdef", LabVersion: "dev",
		Kernel: Kernel{Name: "series:broken", Series: "testdata/broken"},
		Error:  "apply [PATCH 2/2] x: kernel/kcov.c: hunk 2 does not apply", ErrorKind: "series"}
	notBuilt.AddStage("total", 0)
	cases := sample()
	cases.Scenarios = append(cases.Scenarios,
		Scenario{Name: "kselftest", Verdict: Fail, ExitCode: 1, Cases: []Case{{Name: "a", Status: "xfail", Known: "k"}, {Name: "b", Status: Fail, Diag: []string{"d"}}}},
		Scenario{Name: "reset", Verdict: Error, ErrorKind: ErrorCrash, Error: "crashed"})
	for name, r := range map[string]*Result{"pass": sample(), "not built": notBuilt, "cases": cases} {
		if err := testutil.ValidateResultJSON(written(t, r)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The schema check turns red: each edit makes a result.json the schema
// must refuse.
func TestSchemaRefusesBadResults(t *testing.T) {
	good := written(t, sample())
	edits := map[string]func(m map[string]any){
		"no run_id":        func(m map[string]any) { delete(m, "run_id") },
		"no kernel name":   func(m map[string]any) { delete(m["kernel"].(map[string]any), "name") },
		"no verdict":       func(m map[string]any) { delete(m["scenarios"].([]any)[0].(map[string]any), "verdict") },
		"unknown verdict":  func(m map[string]any) { m["scenarios"].([]any)[0].(map[string]any)["verdict"] = "maybe" },
		"major 3":          func(m map[string]any) { m["schema"] = "3.0" },
		"integer schema 1": func(m map[string]any) { m["schema"] = 1 },
		"metric not a number": func(m map[string]any) {
			m["scenarios"].([]any)[0].(map[string]any)["metrics"].(map[string]any)["pcs"] = "42"
		},
		"null scenarios": func(m map[string]any) { m["scenarios"] = nil },
	}
	for name, edit := range edits {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, _ := json.Marshal(m)
		if err := testutil.ValidateResultJSON(raw); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

// Readers accept any minor of their major (and ignore fields they do not
// know) and refuse another major, saying which.
func TestReadSchemaVersions(t *testing.T) {
	good := written(t, sample())
	tests := []struct {
		schema any
		extra  bool
		ok     bool
		msg    string
	}{
		{schema: SchemaVersion, ok: true},
		{schema: "2.7", extra: true, ok: true},
		{schema: "3.0", msg: "schema \"3.0\", this kcovlab reads 2.x"},
		{schema: 1, msg: "schema 1, this kcovlab reads 2.x"},
		{schema: "2", msg: "not MAJOR.MINOR"},
		{schema: nil, msg: "no schema version"},
	}
	for _, tt := range tests {
		var m map[string]any
		json.Unmarshal(good, &m)
		if tt.schema == nil {
			delete(m, "schema")
		} else {
			m["schema"] = tt.schema
		}
		if tt.extra {
			m["a_later_field"] = map[string]any{"x": 1}
		}
		raw, _ := json.Marshal(m)
		path := filepath.Join(t.TempDir(), "result.json")
		os.WriteFile(path, raw, 0o644)
		r, err := Read(path)
		switch {
		case tt.ok && err != nil:
			t.Errorf("schema %v: %v", tt.schema, err)
		case tt.ok && r.RunID != "20261126-000000-abcdef":
			t.Errorf("schema %v: read %+v", tt.schema, r)
		case !tt.ok && (!errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tt.msg)):
			t.Errorf("schema %v: err %v, want ErrSchema saying %q", tt.schema, err, tt.msg)
		}
	}
}
