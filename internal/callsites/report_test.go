package callsites

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

// sample returns reports shaped like a trace-pc and a trace-pc-guard kernel
// of one config, with round numbers.
func sample() (pc, guard *Report) {
	cmp := HookSites{Name: "__sanitizer_cov_trace_const_cmp4", Addr: 0xffffffff81100100, Calls: 200, CallBytes: 1000}
	pc = &Report{
		Name: "vanilla", Path: "/cache/kernels/aaaa/vmlinux",
		Hooks: []HookSites{
			{Name: TracePC, Addr: 0xffffffff81100000, Calls: 990, TailCalls: 10, Unsymbolized: 2, CallBytes: 5000},
			cmp,
		},
		Sizes: Sizes{File: 20_000_000, Text: 8_388_608, InitText: 300_000, Rodata: 650_000, Data: 870_000, Bss: 300_000},
		Exec: []Section{
			{Name: ".text", Size: 8_388_608, Functions: 90, CodeBytes: 4_000_000, PCSites: 900, PCBytes: 4500, Sites: 1100, SiteBytes: 5500},
			{Name: ".init.text", Size: 300_000, Functions: 10, CodeBytes: 290_000, PCSites: 100, PCBytes: 500, Sites: 100, SiteBytes: 500},
		},
		Decode:  Decode{Functions: 100, Aliases: 3, Instructions: 1_000_000, Bytes: 4_290_000, GapBytes: 4_000_000, Errors: 2, BadBytes: 3},
		Elapsed: 1234 * time.Millisecond,
	}
	guard = &Report{
		Name: "v2", Path: "/cache/kernels/bbbb/vmlinux",
		Hooks: []HookSites{
			{Name: TracePCGuard, Addr: 0xffffffff81100000, Calls: 1000, Unsymbolized: 2, CallBytes: 5000, SetupBytes: 7000},
			cmp,
		},
		Sizes: Sizes{File: 21_000_000, Text: 8_388_608, InitText: 350_000, Rodata: 650_000, Data: 870_200, Bss: 255_000, Guards: 4000},
		Exec: []Section{
			{Name: ".text", Size: 8_388_608, Functions: 90, CodeBytes: 4_800_000, PCSites: 900, PCBytes: 10_800, Sites: 1100, SiteBytes: 11_800},
			{Name: ".init.text", Size: 350_000, Functions: 10, CodeBytes: 340_000, PCSites: 100, PCBytes: 1200, Sites: 100, SiteBytes: 1200},
		},
		Guards: &Guards{
			Start: 0xffffffff81c00000, Stop: 0xffffffff81c00fa0, Section: "__sancov_guards", NoBits: true,
			Bytes: 4000, Count: 1000, Loaded: 1000, Distinct: 1000,
		},
		Decode:  Decode{Functions: 100, Aliases: 3, Instructions: 1_100_000, Bytes: 5_140_000, GapBytes: 3_200_000, Errors: 2, BadBytes: 3},
		Elapsed: 987 * time.Millisecond,
	}
	pc.finish()
	guard.finish()
	return pc, guard
}

func TestFinish(t *testing.T) {
	pc, guard := sample()
	if pc.Instrumentation != ModePC || guard.Instrumentation != ModePCGuard {
		t.Errorf("Instrumentation = %q, %q", pc.Instrumentation, guard.Instrumentation)
	}
	if h := pc.Hook(TracePC); h.Sites != 1000 || h.BytesPerSite != 5 {
		t.Errorf("trace_pc = %+v", h)
	}
	if h := guard.Hook(TracePCGuard); h.Sites != 1000 || h.BytesPerSite != 12 {
		t.Errorf("trace_pc_guard = %+v", h)
	}
	g := guard.Guards
	if !g.Match || !g.OneToOne || g.Sites != 1000 || guard.Cost.GuardBytesPerSite != 4 {
		t.Errorf("Guards = %+v, cost %+v", g, guard.Cost)
	}
	want := Cost{
		PCSites: 1000, CmpSites: 200, PCBytes: 12_000, SiteBytes: 13_000, PCBytesPerSite: 12,
		GuardBytesPerSite: 4, PCTextPercent: 100 * 10_800.0 / 8_388_608, SiteTextPercent: 100 * 11_800.0 / 8_388_608,
		GuardTextPercent: 100 * 4000.0 / 8_388_608, PCCodePercent: 100 * 12_000.0 / 5_140_000,
	}
	if guard.Cost != want {
		t.Errorf("Cost:\n got %+v\nwant %+v", guard.Cost, want)
	}
	if h := pc.Hook("__sanitizer_cov_trace_cmp1"); h != (HookSites{Name: "__sanitizer_cov_trace_cmp1"}) {
		t.Errorf("an undefined hook = %+v", h)
	}
}

func TestGuardsNotOneToOne(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     Guards
		match bool
	}{
		{"unused guard", Guards{Count: 1001, Loaded: 1000, Distinct: 1000}, false},
		{"shared guard", Guards{Count: 1000, Loaded: 1000, Distinct: 999, Shared: 1}, true},
		{"load not decoded", Guards{Count: 1000, Loaded: 999, Distinct: 999}, true},
		{"load outside", Guards{Count: 1000, Loaded: 1000, Distinct: 999, Outside: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := sample()
			*r.Guards = tc.g
			r.Cost = Cost{}
			r.finish()
			if r.Guards.Match != tc.match || r.Guards.OneToOne {
				t.Errorf("Match %v OneToOne %v, want %v false", r.Guards.Match, r.Guards.OneToOne, tc.match)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	pc, guard := sample()
	d := Compare(pc, guard)
	if d.A != "vanilla" || d.B != "v2" {
		t.Errorf("labels %q %q", d.A, d.B)
	}
	rows := map[string]DiffRow{}
	for _, r := range d.Rows {
		rows[r.Name] = r
	}
	for _, tc := range []struct {
		name    string
		a, b    int64
		percent float64 // NaN-free: -1 means no percentage
	}{
		{"PC hook call sites", 1000, 1000, 0},
		{"  " + TracePC, 1000, 0, -100},
		{"  " + TracePCGuard, 0, 1000, -1},
		{"  __sanitizer_cov_trace_const_cmp4", 200, 200, 0},
		{"PC call site bytes", 5000, 12_000, 140},
		{"function code bytes", 4_290_000, 5_140_000, 100 * 850_000.0 / 4_290_000},
		{".text", 8_388_608, 8_388_608, 0},
		{".bss", 300_000, 255_000, -15},
		{"guard bytes", 0, 4000, -1},
		{"file bytes", 20_000_000, 21_000_000, 5},
	} {
		r, ok := rows[tc.name]
		if !ok {
			t.Errorf("no row %q", tc.name)
			continue
		}
		if r.A != tc.a || r.B != tc.b || r.Delta != tc.b-tc.a {
			t.Errorf("%s = %+v, want %d -> %d", tc.name, r, tc.a, tc.b)
		}
		switch {
		case tc.percent == -1 && r.Percent != nil:
			t.Errorf("%s: percent %v of a zero baseline", tc.name, *r.Percent)
		case tc.percent != -1 && (r.Percent == nil || *r.Percent != tc.percent):
			t.Errorf("%s: percent %v, want %v", tc.name, r.Percent, tc.percent)
		}
	}
	if _, ok := rows["  __sanitizer_cov_trace_cmp1"]; ok {
		t.Error("a row for a hook neither binary defines")
	}
}

func TestWriteText(t *testing.T) {
	pc, guard := sample()
	for _, tc := range []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"report-pc.golden", func(b *bytes.Buffer) error { return pc.WriteText(b) }},
		{"report-guard.golden", func(b *bytes.Buffer) error { return guard.WriteText(b) }},
		{"diff.golden", func(b *bytes.Buffer) error { return Compare(pc, guard).WriteText(b) }},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, tc.golden, b.Bytes())
		})
	}
}

func TestReportJSON(t *testing.T) {
	_, guard := sample()
	raw, err := json.Marshal(Compare(guard, guard))
	if err != nil {
		t.Fatal(err)
	}
	var d Diff
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	raw, err = json.Marshal(guard)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Guards == nil || *back.Guards != *guard.Guards || back.Cost != guard.Cost || back.Elapsed != guard.Elapsed {
		t.Errorf("JSON round trip lost fields:\n%s", raw)
	}
}

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234567, "-1,234,567"}, {133521, "133,521"}} {
		if got := num(tc.in); got != tc.want {
			t.Errorf("num(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCompareFixture(t *testing.T) {
	var rs [2]*Report
	for i, guard := range []bool{false, true} {
		f := buildFixture(t, "kernel", guard)
		r, err := Scan(context.Background(), f.exe(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = r
	}
	for _, r := range Compare(rs[0], rs[1]).Rows {
		switch r.Name {
		case "PC hook call sites", "comparison call sites":
			if r.Delta != 0 {
				t.Errorf("%s: %+v, the same source has the same sites", r.Name, r)
			}
		case "guard bytes":
			if r.B != fixtureGuards*4 {
				t.Errorf("guard bytes = %d, want %d", r.B, fixtureGuards*4)
			}
		case "PC call site bytes":
			if r.Delta != fixturePCSites*7 {
				t.Errorf("PC call site bytes grew by %d, want a 7-byte guard load per site", r.Delta)
			}
		}
	}
}
