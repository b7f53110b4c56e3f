package report

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
)

func TestSummary(t *testing.T) {
	runs := append(fixture(), bootFailure())
	tests := []struct {
		name   string
		color  bool
		golden string
		want   []string // substrings that must be there
	}{
		{"plain", false, "fixture.summary.txt", nil},
		{"colour", true, "", []string{"\x1b[32mPASS \x1b[0m", "\x1b[1;31mFAIL \x1b[0m", "\x1b[33mSKIP \x1b[0m", "\x1b[1;35mERROR\x1b[0m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			Summary(&b, runs, tt.color)
			out := b.String()
			if n := strings.Count(out, "\n"); n != 9 {
				t.Errorf("%d lines, want 4+4 scenarios and 1 run error:\n%s", n, out)
			}
			if !tt.color && strings.Contains(out, "\x1b") {
				t.Errorf("escape codes without colour: %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in %q", w, out)
				}
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, b.Bytes())
			}
		})
	}
}

func TestSummaryStripsGuestEscapes(t *testing.T) {
	r := fixtureV2()
	r.Scenarios[1].Evidence = []string{"clear screen \x1b[2J\x1b[31mred"}
	r.Scenarios[1].Error = ""
	var b bytes.Buffer
	Summary(&b, []*results.Result{r, nil}, false)
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("guest escape codes reached the terminal: %q", b.String())
	}
}

func TestSummaryLimitsMetrics(t *testing.T) {
	s := results.Scenario{Name: "many", Verdict: results.Pass, Metrics: map[string]float64{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		s.Metrics[k] = 1
	}
	if got, want := summaryDetail(s), "a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 +2 more"; got != want {
		t.Errorf("summaryDetail = %q, want %q", got, want)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, f := range map[string]*os.File{"regular file": f, "pipe": w, "nil": nil} {
		if IsTerminal(f) {
			t.Errorf("%s is a terminal", name)
		}
	}
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to check the positive case: %v", err)
	}
	defer pty.Close()
	if !IsTerminal(pty) {
		t.Error("/dev/ptmx is not a terminal")
	}
}
