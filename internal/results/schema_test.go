package results

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// jsonFields lists the JSON names of t's fields and of the structs below it.
func jsonFields(t reflect.Type, seen map[string]bool) {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeOf(Result{}).PkgPath() {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			seen[name] = true
		}
		jsonFields(f.Type, seen)
	}
}

// TestSchemaDocumented keeps docs/result-json.md and the Go types in step.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/result-json.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "schema "+string(rune('0'+SchemaVersion))) {
		t.Errorf("docs/result-json.md does not describe schema %d", SchemaVersion)
	}
	fields := map[string]bool{}
	jsonFields(reflect.TypeOf(Result{}), fields)
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for f := range fields {
		if !documented[f] {
			t.Errorf("field %q is not documented in docs/result-json.md", f)
		}
	}
	for f := range documented {
		if !fields[f] {
			t.Errorf("docs/result-json.md documents %q, which result.json no longer has", f)
		}
	}
}
