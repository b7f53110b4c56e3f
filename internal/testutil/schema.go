package testutil

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// documentedField is a field's row in a schema doc's tables: | `name` |.
var documentedField = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")

// CheckSchemaDoc keeps a JSON schema doc (e.g. docs/result-json.md) and the
// Go types in step: the doc names the schema version, documents every JSON
// field of root and the structs below it that are defined in root's
// package (or are one of also), and documents no field the types no
// longer have.
func CheckSchemaDoc(t *testing.T, docPath string, version any, root any, also ...any) {
	t.Helper()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), fmt.Sprint("schema ", version)) {
		t.Errorf("%s does not describe schema %v", docPath, version)
	}
	rt := reflect.TypeOf(root)
	mine := func(st reflect.Type) bool {
		if st.PkgPath() == rt.PkgPath() {
			return true
		}
		for _, a := range also {
			if reflect.TypeOf(a) == st {
				return true
			}
		}
		return false
	}
	fields := map[string]bool{}
	jsonFields(rt, mine, fields)
	documented := map[string]bool{}
	for _, m := range documentedField.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for f := range fields {
		if !documented[f] {
			t.Errorf("field %q is not documented in %s", f, docPath)
		}
	}
	for f := range documented {
		if !fields[f] {
			t.Errorf("%s documents %q, which the JSON no longer has", docPath, f)
		}
	}
}

// jsonFields lists the JSON names of t's fields and of the structs below
// it that mine accepts.
func jsonFields(t reflect.Type, mine func(reflect.Type) bool, seen map[string]bool) {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || !mine(t) {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			seen[name] = true
		}
		jsonFields(f.Type, mine, seen)
	}
}
