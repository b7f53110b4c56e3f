package scenarios

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOutcome(t *testing.T) {
	tests := []struct {
		name    string
		stdout  string
		pass    bool
		wantErr string
	}{
		{"last JSON line wins", "log line\n{\"scenario\":\"smoke\",\"pass\":false}\n{\"scenario\":\"smoke\",\"pass\":true}\n", true, ""},
		{"noise after outcome", "{\"scenario\":\"smoke\",\"pass\":true}\nbye\n", true, ""},
		{"no outcome", "hello\n", false, "no JSON outcome"},
		{"other scenario", "{\"scenario\":\"reset\",\"pass\":true}", false, "reset"},
		{"JSON that is not an outcome", "{\"x\":1}", false, "no JSON outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOutcome("smoke", []byte(tt.stdout))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || o.Pass != tt.pass {
				t.Fatalf("got %+v, %v", o, err)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	got, err := Select(" smoke ")
	if err != nil || len(got) != 1 || got[0].Name != "smoke" {
		t.Fatalf("Select(smoke) = %v, %v", got, err)
	}
	_, err = Select("smoke,bogus")
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Name != "bogus" || !strings.Contains(err.Error(), "smoke") {
		t.Fatalf("Select(bogus) = %v", err)
	}
}

func TestEveryScenarioHasAProgram(t *testing.T) {
	for name, s := range All {
		if s.Name != name || s.Summary == "" {
			t.Errorf("%s: bad entry %+v", name, s)
		}
		if s.Format == FormatBoot {
			if s.Package != "" || s.FreshBoots == 0 {
				t.Errorf("%s: a boot scenario runs no program and needs fresh boots", name)
			}
			continue
		}
		if s.KernelFile != "" {
			if s.Format != FormatKTAP || len(s.Args) == 0 || s.Args[0] != s.KernelFile {
				t.Errorf("%s: a kernel-provided program is a KTAP selftest run by a wrapper given its name", name)
			}
		}
		if !strings.HasSuffix(s.Package, "/"+name) {
			t.Errorf("%s: program %s is not named after the scenario (the guest runs it by name)", name, s.Package)
		}
	}
}
