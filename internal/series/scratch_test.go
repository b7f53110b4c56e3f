package series

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestScratchFuzzVsGit(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	agree, both := 0, 0
	for iter := 0; iter < 800; iter++ {
		n := 5 + r.Intn(40)
		var a []string
		for i := 0; i < n; i++ {
			a = append(a, fmt.Sprintf("w%d\n", r.Intn(8)))
		}
		b := append([]string(nil), a...)
		for k := r.Intn(4) + 1; k > 0; k-- {
			i := r.Intn(len(b) + 1)
			switch r.Intn(3) {
			case 0:
				b = append(b[:i], append([]string{fmt.Sprintf("new%d\n", r.Intn(100))}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			case 2:
				if i < len(b) {
					b[i] = fmt.Sprintf("chg%d\n", r.Intn(100))
				}
			}
		}
		aS, bS := strings.Join(a, ""), strings.Join(b, "")
		if r.Intn(4) == 0 {
			aS = strings.TrimSuffix(aS, "\n")
		}
		if r.Intn(4) == 0 {
			bS = strings.TrimSuffix(bS, "\n")
		}
		// target: a perturbed
		tgt := append([]string(nil), a...)
		for k := r.Intn(6); k > 0; k-- {
			i := r.Intn(len(tgt) + 1)
			if r.Intn(2) == 0 {
				tgt = append(tgt[:i], append([]string{"zz\n"}, tgt[i:]...)...)
			} else if i < len(tgt) && r.Intn(2) == 0 {
				tgt[i] = "zz\n"
			} else if i < len(tgt) {
				tgt = append(tgt[:i], tgt[i+1:]...)
			}
		}
		tS := strings.Join(tgt, "")
		if strings.HasSuffix(aS, "\n") == false && r.Intn(2) == 0 {
			tS = strings.TrimSuffix(tS, "\n")
		}
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "a"), 0o755)
		os.MkdirAll(filepath.Join(d, "b"), 0o755)
		os.WriteFile(filepath.Join(d, "a", "f"), []byte(aS), 0o644)
		os.WriteFile(filepath.Join(d, "b", "f"), []byte(bS), 0o644)
		cmd := exec.Command("git", "diff", "--no-index", "a/f", "b/f")
		cmd.Dir = d
		out, _ := cmd.Output()
		if len(out) == 0 {
			continue
		}
		diff := strings.Replace(string(out), "diff --git a/a/f b/b/f", "diff --git a/f b/f", 1)
		diff = strings.Replace(diff, "--- a/a/f", "--- a/f", 1)
		diff = strings.Replace(diff, "+++ b/b/f", "+++ b/f", 1)
		// ours
		td := t.TempDir()
		os.WriteFile(filepath.Join(td, "f"), []byte(tS), 0o644)
		err := mkSeries(diff).Apply(td)
		ours, _ := os.ReadFile(filepath.Join(td, "f"))
		// git
		gd := t.TempDir()
		os.WriteFile(filepath.Join(gd, "f"), []byte(tS), 0o644)
		os.WriteFile(filepath.Join(gd, "p.diff"), []byte(diff), 0o644)
		cmd = exec.Command("git", "apply", "p.diff")
		cmd.Dir = gd
		gout, gerr := cmd.CombinedOutput()
		theirs, _ := os.ReadFile(filepath.Join(gd, "f"))
		if (err == nil) != (gerr == nil) || (err == nil && string(ours) != string(theirs)) {
			t.Errorf("iter %d disagree: ours %v, git %v %s\ndiff:\n%s\ntarget %q\nours %q\ngit %q", iter, err, gerr, gout, diff, tS, ours, theirs)
		} else if err != nil {
			var ae *ApplyError
			errors.As(err, &ae)
			h := strings.Fields(ae.HunkHeader)[1]
			h = strings.Split(strings.TrimPrefix(h, "-"), ",")[0]
			if !strings.Contains(string(gout), "patch failed: f:"+h+"\n") {
				t.Errorf("iter %d: hunk differs: ours %v git %s", iter, err, gout)
			}
			agree++
		} else {
			agree++
			if err == nil {
				both++
			}
		}
	}
	t.Logf("agree %d (both applied %d)", agree, both)
}
