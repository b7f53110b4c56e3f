package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// fakeProbe boots nothing: each setup's boot takes scale times the base
// phases; a setup named in fail errors, one in oneCPU brings up one CPU.
func fakeProbe(scale map[string]float64, oneCPU string, fail string) func(context.Context, lab.Options, string) (*lab.BootTiming, error) {
	return func(_ context.Context, o lab.Options, dir string) (*lab.BootTiming, error) {
		if o.Machine == fail {
			return nil, &lab.InfraError{Stage: "vm", Err: errors.New("qemu said no")}
		}
		k := scale[o.Machine]
		d := func(s float64) time.Duration { return time.Duration(s * k * float64(time.Second)) }
		t := &lab.BootTiming{FirstByte: d(1), RunInit: d(2), InitUp: d(2.5), SSHListening: d(2.6), SSHReady: d(3), FirstCommand: d(3.2),
			GuestRunInit: 0.9, CPUs: 2, Accel: "tcg", Setup: &results.MachineSetup{Name: o.Machine}}
		if o.Machine == oneCPU {
			t.CPUs = 1
			return t, fmt.Errorf("%w: 1 of 2", lab.ErrTooFewCPUs)
		}
		return t, nil
	}
}

func benchOptions(t *testing.T) BootOptions {
	return BootOptions{Options: lab.Options{ModuleDir: t.TempDir(), CacheDir: t.TempDir(), ResultsDir: t.TempDir(), Accel: "tcg"},
		Boots: 3, load: func() float64 { return 1.5 }}
}

func TestBootBreakdown(t *testing.T) {
	o := benchOptions(t)
	o.Setups = []string{"q35", "microvm", "pc"}
	o.probe = fakeProbe(map[string]float64{"q35": 2, "microvm": 1, "pc": 2}, "", "pc")
	rep, err := Boot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Default != "microvm" {
		t.Errorf("default = %s, want microvm (lab's default among the setups)", rep.Default)
	}
	q35, micro, pc := rep.Setups[0], rep.Setups[1], rep.Setups[2]
	if q35.Totals[0].Median != 6 || q35.Phases[0].Median != 2 || q35.Phases[4].Median != 0.8 || q35.Ratio != 2 {
		t.Errorf("q35: totals %+v phases %+v ratio %v", q35.Totals, q35.Phases, q35.Ratio)
	}
	if micro.Ratio != 1 || micro.Totals[0].N != 3 {
		t.Errorf("microvm ratio %v n %d, want 1 over 3 boots", micro.Ratio, micro.Totals[0].N)
	}
	if len(pc.Failures) != 3 || pc.Ratio != 0 || pc.Totals[0].N != 0 {
		t.Errorf("pc: failures %q ratio %v", pc.Failures, pc.Ratio)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	for _, want := range []string{"exec -> first console byte", "boot to SSH", "6.00", "ratio to microvm", "2.00", "qemu said no", "not measured"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, []byte(`"ratio_to_default": 2`)) {
		t.Errorf("json:\n%s", raw)
	}
}

// A setup that brings up one CPU of two is a failure of every boot, with
// the boots' times still shown.
func TestBootTooFewCPUsFails(t *testing.T) {
	o := benchOptions(t)
	o.Setups = []string{"q35", "microvm"}
	o.probe = fakeProbe(map[string]float64{"q35": 1, "microvm": 1}, "microvm", "")
	rep, err := Boot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Setups[1]
	if len(m.Failures) != 3 || !strings.Contains(m.Failures[0], "fewer CPUs") || m.Totals[0].N != 3 {
		t.Errorf("microvm: failures %q, n %d", m.Failures, m.Totals[0].N)
	}
	if len(rep.Setups[0].Failures) != 0 {
		t.Errorf("q35 failed: %q", rep.Setups[0].Failures)
	}
}

func TestBootRejectsBadOptions(t *testing.T) {
	o := benchOptions(t)
	o.Boots = -1
	o.probe = fakeProbe(nil, "", "")
	var usage *lab.UsageError
	if _, err := Boot(context.Background(), o); !errors.As(err, &usage) {
		t.Errorf("--boots -1: %v, want a usage error", err)
	}
	o = benchOptions(t)
	o.probe = func(context.Context, lab.Options, string) (*lab.BootTiming, error) {
		return nil, &lab.UsageError{Msg: "kernel v9 is not built"}
	}
	if _, err := Boot(context.Background(), o); !errors.As(err, &usage) {
		t.Errorf("uncached kernel: %v, want the usage error to stop the bench", err)
	}
}

func TestBuildKind(t *testing.T) {
	base := []string{"guest.config", "kcov.config", "kcov-unique.config"}
	pc := append(append([]string(nil), base...), "pc.config")
	tests := []struct {
		name      string
		fragments []string
		steps     int
		cold      bool
		want      string
	}{
		{"v2", base, 2306, true, BuildCold},
		{"v2+pc", pc, 2400, true, BuildCold},
		{"v2", base, 2749, false, BuildFull},
		{"vanilla", base[:2], 1267, false, BuildFull},
		{"v2+mutant:irq-coverage", base, 38, false, BuildOneFile},
		{"v2-nounique", []string{"guest.config", "kcov.config", "kcov-unique-off.config"}, 300, false, BuildConfig},
		{"v2+pc", pc, 1100, false, BuildFull},
		{"v2", base, 40, false, ""},
	}
	for _, tt := range tests {
		if got := buildKind(tt.name, tt.fragments, tt.steps, tt.cold); got != tt.want {
			t.Errorf("buildKind(%s, %v, %d, cold %v) = %q, want %q", tt.name, tt.fragments, tt.steps, tt.cold, got, tt.want)
		}
	}
}
