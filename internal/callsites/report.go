package callsites

import "time"

// Hook names, as the compiler emits calls to them.
const (
	TracePC      = "__sanitizer_cov_trace_pc"
	TracePCGuard = "__sanitizer_cov_trace_pc_guard"
)

// Hooks lists every hook Scan counts, in report order: the two PC hooks,
// then the comparison and switch hooks of -fsanitize-coverage=trace-cmp.
var Hooks = []string{
	TracePC,
	TracePCGuard,
	"__sanitizer_cov_trace_cmp1",
	"__sanitizer_cov_trace_cmp2",
	"__sanitizer_cov_trace_cmp4",
	"__sanitizer_cov_trace_cmp8",
	"__sanitizer_cov_trace_const_cmp1",
	"__sanitizer_cov_trace_const_cmp2",
	"__sanitizer_cov_trace_const_cmp4",
	"__sanitizer_cov_trace_const_cmp8",
	"__sanitizer_cov_trace_switch",
}

// isPCHook tells the hooks that mark a basic block (or edge) from the
// comparison hooks.
func isPCHook(name string) bool { return name == TracePC || name == TracePCGuard }

// Instrumentation modes, as Report.Instrumentation names them.
const (
	ModeNone    = "none"
	ModePC      = "trace-pc"
	ModePCGuard = "trace-pc-guard"
	ModeMixed   = "mixed" // sites of both PC hooks
)

// Report is what Scan found in one binary.
type Report struct {
	// Name labels the binary in tables (a kernel name); Scan leaves it
	// empty and Label falls back to the file name.
	Name string `json:"name,omitempty"`
	Path string `json:"path"`
	// Instrumentation is ModePC, ModePCGuard, ModeMixed or ModeNone, from
	// which PC hook has call sites.
	Instrumentation string `json:"instrumentation"`
	// Hooks has one entry per hook defined in the binary, in Hooks order.
	Hooks  []HookSites `json:"hooks"`
	Sizes  Sizes       `json:"sizes"`
	Exec   []Section   `json:"exec_sections"`
	Guards *Guards     `json:"guards,omitempty"` // nil without __sancov_guards
	Cost   Cost        `json:"cost"`
	Decode Decode      `json:"decode"`
	// Elapsed is how long Scan took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// HookSites counts the call sites of one hook.
type HookSites struct {
	Name string `json:"name"`
	Addr uint64 `json:"addr"`
	// Sites is Calls + TailCalls + CondJumps.
	Sites     int `json:"sites"`
	Calls     int `json:"calls"`                // call rel32
	TailCalls int `json:"tail_calls"`           // jmp to the hook
	CondJumps int `json:"cond_jumps,omitempty"` // jcc to the hook (conditional tail calls)
	// Unsymbolized counts the sites (of Sites) in code no function symbol
	// covers, such as the dead copy of a weak function another overrode.
	Unsymbolized int `json:"unsymbolized"`
	// CallBytes is the size of those call and jump instructions.
	CallBytes uint64 `json:"call_bytes"`
	// SetupBytes is the size of the instructions that load the guard
	// pointer for __sanitizer_cov_trace_pc_guard (the only argument set up
	// for the hook alone; comparison operands are live anyway).
	SetupBytes uint64 `json:"setup_bytes"`
	// BytesPerSite is (CallBytes + SetupBytes) / Sites.
	BytesPerSite float64 `json:"bytes_per_site"`
}

// Sizes are the sizes in bytes of the main output sections and the file.
type Sizes struct {
	File     uint64 `json:"file"`
	Text     uint64 `json:"text"`
	InitText uint64 `json:"init_text"`
	Rodata   uint64 `json:"rodata"`
	Data     uint64 `json:"data"`
	Bss      uint64 `json:"bss"`
	// Guards is the size of the guard array, 0 without one.
	Guards uint64 `json:"guards"`
}

// Section is the coverage cost in one executable section.
type Section struct {
	Name      string `json:"name"`
	Size      uint64 `json:"size"`
	Functions int    `json:"functions"`  // function symbols walked
	CodeBytes uint64 `json:"code_bytes"` // their bytes
	// PCSites and PCBytes are the call sites of the PC hooks and their
	// call and setup bytes; Sites and SiteBytes count every hook.
	PCSites   int    `json:"pc_sites"`
	PCBytes   uint64 `json:"pc_bytes"`
	Sites     int    `json:"sites"`
	SiteBytes uint64 `json:"site_bytes"`
}

// Guards describes the __sancov_guards array of a trace-pc-guard binary:
// one 4-byte guard per call site of __sanitizer_cov_trace_pc_guard.
type Guards struct {
	// Start and Stop are __start___sancov_guards and __stop___sancov_guards.
	Start uint64 `json:"start"`
	Stop  uint64 `json:"stop"`
	// Section is the output section holding the array: its own
	// __sancov_guards section (series v2) or .bss (series v4).
	Section string `json:"section"`
	// NoBits says the section takes no room in the file.
	NoBits bool   `json:"nobits"`
	Bytes  uint64 `json:"bytes"`
	Count  int    `json:"count"` // Bytes / 4
	// Sites are the call sites of __sanitizer_cov_trace_pc_guard.
	Sites int `json:"sites"`
	// Match says Count == Sites.
	Match bool `json:"match"`
	// Loaded counts the sites whose guard pointer load was decoded (a mov
	// or lea of a constant address into rdi before the call); Distinct the
	// guards they name, Outside the loads outside [Start, Stop) and Shared
	// the guards named by more than one site.
	Loaded   int `json:"loaded"`
	Distinct int `json:"distinct"`
	Outside  int `json:"outside"`
	Shared   int `json:"shared"`
	// OneToOne says every site loads a guard of its own and every guard is
	// loaded by a site.
	OneToOne bool `json:"one_to_one"`
}

// Cost sums up what the coverage call sites take.
type Cost struct {
	PCSites  int `json:"pc_sites"`  // sites of the PC hooks
	CmpSites int `json:"cmp_sites"` // sites of the comparison and switch hooks
	// PCBytes is the call and setup bytes of the PC sites, SiteBytes of all.
	PCBytes   uint64 `json:"pc_bytes"`
	SiteBytes uint64 `json:"site_bytes"`
	// PCBytesPerSite is PCBytes / PCSites.
	PCBytesPerSite float64 `json:"pc_bytes_per_site"`
	// GuardBytesPerSite is guard bytes per trace_pc_guard site (4 when
	// every site has its own guard).
	GuardBytesPerSite float64 `json:"guard_bytes_per_site"`
	// Percentages of the .text section: PC-site bytes in .text, all
	// site bytes in .text, and the guard array.
	PCTextPercent    float64 `json:"pc_text_percent"`
	SiteTextPercent  float64 `json:"site_text_percent"`
	GuardTextPercent float64 `json:"guard_text_percent"`
	// PCCodePercent is PCBytes as a percentage of the bytes of every
	// function walked (.text is padded; function code is what grew).
	PCCodePercent float64 `json:"pc_code_percent"`
}

// Decode counts the work the decoder did and what it could not decode.
type Decode struct {
	Functions int `json:"functions"`
	// Aliases are function symbols skipped because they start inside one
	// already walked (aliases and nested labels).
	Aliases      int    `json:"aliases"`
	Instructions int    `json:"instructions"`
	Bytes        uint64 `json:"bytes"` // bytes of the functions walked
	// GapBytes are the bytes of executable sections outside every
	// function symbol, walked too (padding skipped).
	GapBytes uint64 `json:"gap_bytes"`
	// Errors counts decode failures; each skips one byte. BadBytes also
	// counts an instruction cut off by the end of its function.
	Errors   int    `json:"errors"`
	BadBytes uint64 `json:"bad_bytes"`
}

// Hook returns the counts of the named hook, or a zero HookSites (with the
// name) when the binary does not define it.
func (r *Report) Hook(name string) HookSites {
	for _, h := range r.Hooks {
		if h.Name == name {
			return h
		}
	}
	return HookSites{Name: name}
}

// finish derives the totals, averages and percentages from the counts.
func (r *Report) finish() {
	for i := range r.Hooks {
		h := &r.Hooks[i]
		h.Sites = h.Calls + h.TailCalls + h.CondJumps
		h.BytesPerSite = ratio(h.CallBytes+h.SetupBytes, h.Sites)
		if isPCHook(h.Name) {
			r.Cost.PCSites += h.Sites
			r.Cost.PCBytes += h.CallBytes + h.SetupBytes
		} else {
			r.Cost.CmpSites += h.Sites
		}
		r.Cost.SiteBytes += h.CallBytes + h.SetupBytes
	}
	r.Cost.PCBytesPerSite = ratio(r.Cost.PCBytes, r.Cost.PCSites)
	pc, guard := r.Hook(TracePC).Sites, r.Hook(TracePCGuard).Sites
	switch {
	case pc > 0 && guard > 0:
		r.Instrumentation = ModeMixed
	case guard > 0:
		r.Instrumentation = ModePCGuard
	case pc > 0:
		r.Instrumentation = ModePC
	default:
		r.Instrumentation = ModeNone
	}
	r.Cost.PCCodePercent = percent(r.Cost.PCBytes, r.CodeBytes())
	for _, s := range r.Exec {
		if s.Name == ".text" && r.Sizes.Text > 0 {
			r.Cost.PCTextPercent = percent(s.PCBytes, r.Sizes.Text)
			r.Cost.SiteTextPercent = percent(s.SiteBytes, r.Sizes.Text)
		}
	}
	if g := r.Guards; g != nil {
		g.Sites = guard
		g.Match = g.Count == g.Sites
		g.OneToOne = g.Match && g.Loaded == g.Sites && g.Distinct == g.Count &&
			g.Outside == 0 && g.Shared == 0
		r.Cost.GuardBytesPerSite = ratio(g.Bytes, guard)
		if r.Sizes.Text > 0 {
			r.Cost.GuardTextPercent = percent(g.Bytes, r.Sizes.Text)
		}
	}
}

func ratio(bytes uint64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(bytes) / float64(n)
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
