package report

import (
	"bytes"
	"testing"

	"github.com/kcovlab/kcovlab/internal/ktap"
)

func TestKTAPGolden(t *testing.T) {
	got := render(t, func(b *bytes.Buffer) error { return KTAP(b, fixture()) })
	checkGolden(t, "fixture.ktap", got)
}

func TestKTAPParsesBack(t *testing.T) {
	raw := render(t, func(b *bytes.Buffer) error { return KTAP(b, fixture()) })
	rep, err := ktap.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "KTAP 1" || rep.Planned != 12 || !rep.Complete() {
		t.Fatalf("version %q planned %d complete %v", rep.Version, rep.Planned, rep.Complete())
	}
	c := rep.Counts()
	if c[ktap.Pass] != 7 || c[ktap.XFail] != 2 || c[ktap.Fail] != 2 || c[ktap.Skip] != 1 {
		t.Errorf("counts %v, want 7 pass 2 xfail 2 fail 1 skip", c)
	}
	want := map[string]ktap.Status{
		"v2/unique":                ktap.Fail,
		"v2/kselftest/kcov.unique": ktap.XFail,
		"v2/kselftest/kcov.remote": ktap.Fail,
		"v2/noise":                 ktap.Skip,
		"v4/noise":                 ktap.Pass,
	}
	for _, tc := range rep.Cases {
		if s, ok := want[tc.Name]; ok && s != tc.Status {
			t.Errorf("%s: %s, want %s", tc.Name, tc.Status, s)
		}
		if tc.Name == "v2/noise" && tc.Directive != "SKIP needs 2 vCPUs" {
			t.Errorf("skip directive %q", tc.Directive)
		}
		if tc.Name == "v2/unique" && (len(tc.Diag) != 3 || tc.Diag[2] != hostile) {
			t.Errorf("unique diag %q", tc.Diag)
		}
	}
}

func TestKTAPNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v2/smoke", "v2/smoke"},
		{"v2/a # b", "v2/a _ b"},
		{"line\nbreak", "line break"},
	}
	for _, tt := range tests {
		if got := ktapName(tt.in); got != tt.want {
			t.Errorf("ktapName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
