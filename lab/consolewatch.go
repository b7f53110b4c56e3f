package lab

import (
	"io"
	"os"
	"regexp"
	"strings"
)

// consoleReportStart matches the first line of a report the kernel prints
// when something is wrong but it keeps running: WARN_ON and friends, BUG
// reports (KASAN, KFENCE, sleeping in atomic, ...), UBSAN, lockdep, RCU
// stalls, hung tasks and soft lockups. Oopses and panics end QEMU
// (oops=panic, panic=-1) and are found as crashes.
var consoleReportStart = regexp.MustCompile(`(?m)^.*?((WARNING: CPU: \d+ PID: \d+ at .*)|(------------\[ cut here \]------------)|(BUG: .*)|(UBSAN: .*)|(WARNING: (possible|suspicious) .*)|(INFO: (rcu_\w+ )?(detected|self-detected) stall.*)|(INFO: task .* blocked for more than .*)|(watchdog: BUG: soft lockup.*)|(general protection fault.*)|(kernel BUG at .*))\s*$`)

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

// consoleReport is the first kernel report in text: its title (the
// "cut here" line is skipped for the WARNING that follows it) and up to
// 40 lines from it on; ok is false when there is none.
func consoleReport(text string) (title, report string, ok bool) {
	loc := consoleReportStart.FindStringSubmatchIndex(text)
	if loc == nil {
		return "", "", false
	}
	start := loc[2]
	lines := strings.Split(text[start:], "\n")
	title = strings.TrimSpace(lines[0])
	if strings.Contains(title, "[ cut here ]") && len(lines) > 1 {
		title = strings.TrimSpace(stripConsolePrefix(lines[1]))
	}
	if len(lines) > 40 {
		lines = lines[:40]
	}
	return title, strings.Join(lines, "\n"), true
}

// stripConsolePrefix drops the "[    1.234567] " printk time stamp.
func stripConsolePrefix(line string) string {
	if i := strings.Index(line, "] "); strings.HasPrefix(strings.TrimSpace(line), "[") && i > 0 {
		return line[i+2:]
	}
	return line
}
