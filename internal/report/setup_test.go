package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

func setupRun(kernel, setup string) *results.Result {
	r := &results.Result{Kernel: results.Kernel{Name: kernel},
		Scenarios: []results.Scenario{{Name: "smoke", Verdict: results.Pass}}}
	if setup != "" {
		r.Setup = &results.MachineSetup{Name: setup, Machine: setup, Firmware: "seabios",
			KernelFormat: "bzImage", KernelCompression: "xz", InitramfsCompression: "none"}
	}
	return r
}

func TestABSetupWarning(t *testing.T) {
	q35, micro := SetupName(setupRun("a", "q35").Setup), SetupName(setupRun("a", "microvm").Setup)
	tests := []struct {
		name string
		a, b []string
		warn bool
	}{
		{"same setup", []string{q35}, []string{q35}, false},
		{"different setups", []string{q35}, []string{micro}, true},
		{"one side mixed", []string{q35, micro}, []string{q35}, true},
		{"one side unrecorded", []string{Unrecorded}, []string{q35}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ABComparison{A: ABKernel{Name: "v2", Setups: tt.a}, B: ABKernel{Name: "v4", Setups: tt.b}, Alpha: 0.05}
			var b bytes.Buffer
			c.WriteText(&b, false)
			got := strings.Contains(b.String(), "WARNING: DIFFERENT MACHINE SETUPS")
			if got != tt.warn || (c.SetupWarning() != "") != tt.warn {
				t.Errorf("warning = %v, want %v:\n%s", got, tt.warn, b.String())
			}
		})
	}
}

func TestDiffSetupWarning(t *testing.T) {
	prev := []*results.Result{setupRun("v2", "q35")}
	if d := Compare(prev, []*results.Result{setupRun("v2", "q35")}, Tolerance{}); d.SetupWarning != "" {
		t.Errorf("same setup warned: %s", d.SetupWarning)
	}
	d := Compare(prev, []*results.Result{setupRun("v2", "microvm")}, Tolerance{})
	var b bytes.Buffer
	d.Write(&b)
	if d.SetupWarning == "" || !strings.HasPrefix(b.String(), "WARNING: DIFFERENT MACHINE SETUPS") || !strings.Contains(b.String(), "microvm") {
		t.Errorf("q35 vs microvm: warning %q, text:\n%s", d.SetupWarning, b.String())
	}
}
