package lab

import (
	"io"
	"os"
)

// A scenario's console is read with internal/crash, the one parser of
// kernel reports (judgeConsole); WARNs, BUGs, KASAN, UBSAN, lockdep, RCU
// stalls, hung tasks and soft lockups the kernel prints while it keeps
// running turn the scenario red. Oopses and panics end QEMU (oops=panic,
// panic=-1) and are found as crashes (FindCrash).

// consoleMark is how far a console log had been written when a scenario
// started: the scenario owns what is written after it.
type consoleMark struct {
	path   string
	offset int64
}

func markConsole(path string) consoleMark {
	m := consoleMark{path: path}
	if fi, err := os.Stat(path); err == nil {
		m.offset = fi.Size()
	}
	return m
}

// since returns what the console got after the mark.
func (m consoleMark) since() string {
	f, err := os.Open(m.path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(m.offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 4<<20))
	return string(b)
}
