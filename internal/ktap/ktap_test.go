package ktap

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseHarnessOutput(t *testing.T) {
	f, err := os.Open("testdata/harness.ktap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		status Status
	}{{"kcov.basic", Pass}, {"kcov.unique", Fail}, {"kcov.remote", Skip}, {"kcov.reset", Pass}}
	if r.Version != "TAP 13" || r.Planned != 4 || len(r.Cases) != len(want) || !r.Complete() {
		t.Fatalf("report %+v", r)
	}
	for i, w := range want {
		if c := r.Cases[i]; c.Name != w.name || c.Status != w.status || c.Number != i+1 {
			t.Errorf("case %d = %+v, want %s %s", i, c, w.name, w.status)
		}
	}
	if d := strings.Join(r.Cases[1].Diag, "\n"); !strings.Contains(d, "Expected mapping[0] (7) == 0") {
		t.Errorf("failure diagnostics lost: %q", d)
	}
	if r.Cases[2].Directive != "SKIP no remote coverage" {
		t.Errorf("directive %q", r.Cases[2].Directive)
	}
	if c := r.Counts(); c[Pass] != 2 || c[Fail] != 1 || c[Skip] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestParseIncomplete(t *testing.T) {
	tests := []struct {
		in       string
		complete bool
		bailout  string
	}{
		{"KTAP version 1\n1..3\nok 1 a\nok 2 b\n", false, ""},
		{"TAP version 13\n1..2\nok 1 a\nBail out! kcov missing\n", false, "kcov missing"},
		{"TAP version 13\n1..1\nnot ok 1 - a\n", true, ""},
		{"KTAP version 1\n", false, ""},                 // no plan, no cases: nothing ran
		{"KTAP version 1\nok 1 a\nok 2 b\n", false, ""}, // no plan: it may have stopped anywhere
		{"TAP version 13\nok 1 a\n1..1\n", true, ""},    // a plan at the end counts
		{"KTAP version 1\n1..0 # SKIP no kcov\n", true, ""},
	}
	for _, tt := range tests {
		r, err := Parse(strings.NewReader(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete() != tt.complete || r.Bailout != tt.bailout {
			t.Errorf("%q: complete %v bailout %q", tt.in, r.Complete(), r.Bailout)
		}
	}
	if _, err := Parse(strings.NewReader("hello\n")); err == nil {
		t.Error("a stream with no TAP was accepted")
	}
}

func TestWriteRoundTrip(t *testing.T) {
	in := &Report{Cases: []Case{
		{Name: "smoke", Status: Pass},
		{Name: "ioctl", Status: Fail, Diag: []string{"UNIQUE_ENABLE: got EINVAL, want ENOTTY"}},
		{Name: "guardrace", Status: Skip, Directive: "SKIP needs 2 vCPUs"},
	}}
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != "KTAP 1" || out.Planned != 3 || len(out.Cases) != 3 {
		t.Fatalf("round trip: %+v\n%s", out, b.String())
	}
	for i := range in.Cases {
		if in.Cases[i].Name != out.Cases[i].Name || in.Cases[i].Status != out.Cases[i].Status {
			t.Errorf("case %d: %+v -> %+v", i, in.Cases[i], out.Cases[i])
		}
	}
	if out.Cases[1].Diag[0] != in.Cases[1].Diag[0] || out.Cases[2].Directive != "SKIP needs 2 vCPUs" {
		t.Errorf("diag or directive lost: %+v", out.Cases)
	}
}
