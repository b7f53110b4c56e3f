package lab

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/scenarios"
)

func TestJudgeInterruptPCs(t *testing.T) {
	syms := symbolize.New([]symbolize.Symbol{
		{Name: "hrtimer_interrupt", Addr: 0xffffffff81100000, Size: 0x100},
		{Name: "switch_fpu_return", Addr: 0xffffffff81200000, Size: 0x100},
	})
	cases := []struct {
		name    string
		extra   []uint64
		syms    *symbolize.Table
		verdict string
	}{
		{"task-context noise only", []uint64{0xffffffff81200010}, syms, results.Pass},
		{"timer interrupt in the trace (in_task() filter broken)", []uint64{0xffffffff81200010, 0xffffffff81100020}, syms, results.Fail},
		{"no extra PCs", nil, syms, results.Pass},
		{"no symbols: cannot judge", []uint64{0xffffffff81100020}, nil, results.Error},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := results.Scenario{Name: "irqnoise", Verdict: results.Pass}
			judgeInterruptPCs(&res, scenarios.Outcome{PCs: map[string][]uint64{"extra": c.extra}}, c.syms)
			if res.Verdict != c.verdict {
				t.Errorf("verdict %s (%s), want %s", res.Verdict, res.Error, c.verdict)
			}
		})
	}
}

// Every interrupt-only name is a function of the lean guest kernel: a name
// that matches nothing would make the check unable to fail. Runs when a
// built kernel's function index is in the cache.
func TestInterruptOnlyNamesExist(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(DefaultCacheDir(), "kernels", "*", "funcs.tsv"))
	if len(paths) == 0 {
		t.Skip("no built kernel in the cache")
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	have := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, _, _ := strings.Cut(s.Text(), "\t")
		have[name] = true
	}
	for fn := range interruptOnly {
		if !have[fn] {
			t.Errorf("%s is not a function of %s", fn, paths[0])
		}
	}
}
