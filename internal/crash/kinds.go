package crash

import (
	"regexp"
	"strings"
)

// Kind is the class of a kernel report, as kernel engineers name them.
type Kind string

// The kinds of report Parse tells apart.
const (
	Oops       Kind = "oops"        // a fault the kernel could not handle (NULL dereference, paging request, invalid opcode)
	BUG        Kind = "bug"         // BUG() / kernel BUG at, sleeping in atomic, other "BUG:" lines
	Warning    Kind = "warning"     // WARN_ON and friends
	KASAN      Kind = "kasan"       // KASAN (and KFENCE) memory-safety reports
	UBSAN      Kind = "ubsan"       // undefined behaviour
	Lockdep    Kind = "lockdep"     // circular locking, inconsistent lock state, recursive locking, suspicious RCU usage
	RCUStall   Kind = "rcu-stall"   // RCU CPU stall
	HungTask   Kind = "hung-task"   // a task in D state longer than hung_task_timeout_secs
	SoftLockup Kind = "soft-lockup" // a CPU that did not schedule for the watchdog's threshold
	GPF        Kind = "gpf"         // general protection fault
	Panic      Kind = "panic"       // Kernel panic - not syncing
)

// spec is one row of the report table: the header line that starts a
// report of its kind and how its title is made.
type spec struct {
	kind Kind
	// header matches a console line, time stamp and "rcu: "/"watchdog: "
	// prefixes removed.
	header *regexp.Regexp
	// title makes the title from header's submatches and the guilty
	// function ("" when none was found).
	title func(m []string, guilty string) string
	// hang kinds take their guilty frame from the interrupted task, not
	// from the interrupt that printed the report.
	hang bool
	// detail, when set, matches a later line of the report whose first
	// submatch completes the title (KASAN's "Read of size 8").
	detail *regexp.Regexp
	// cont marks a header that, met inside an open report, continues it
	// rather than starting a new one: the "Oops:" line after a BUG: line,
	// the panic an oops, a hang or panic_on_warn ends with.
	cont bool
}

// in appends " in FUNC" when the guilty function is known.
func in(s, guilty string) string {
	if guilty == "" {
		return s
	}
	return s + " in " + guilty
}

// specs is the table, tried in order on every line: the more specific
// rows come before the generic "BUG:" and "WARNING:" ones.
var specs = []spec{
	{kind: KASAN, header: regexp.MustCompile(`^BUG: (KASAN|KFENCE): ([\w-]+)(?: (read|write))? in `),
		detail: regexp.MustCompile(`^(Read|Write) (?:of size|at addr)`),
		title: func(m []string, g string) string {
			t := m[1] + ": " + m[2]
			if d := m[len(m)-1]; d != "" {
				t += " " + d
			} else if m[3] != "" {
				t += " " + strings.ToUpper(m[3][:1]) + m[3][1:]
			}
			return in(t, g)
		}},
	{kind: UBSAN, header: regexp.MustCompile(`^UBSAN: ([\w-]+) in (\S+)`),
		title: func(m []string, g string) string { return in("UBSAN: "+m[1], g) }},
	{kind: Lockdep, header: regexp.MustCompile(`^WARNING: possible (?:circular locking dependency|recursive locking) detected`),
		title: func(m []string, g string) string { return in("possible deadlock", g) }},
	{kind: Lockdep, header: regexp.MustCompile(`^WARNING: (inconsistent lock state|possible irq lock inversion dependency detected|suspicious RCU usage|bad unlock balance detected!|lock held when returning to user space!|held lock freed!|nested lock was not taken)`),
		title: func(m []string, g string) string {
			t := strings.TrimSuffix(strings.TrimSuffix(m[1], "!"), " detected")
			if strings.HasPrefix(t, "inconsistent") || strings.HasPrefix(t, "possible irq") {
				return in(t, g)
			}
			return in("WARNING: "+t, g)
		}},
	{kind: RCUStall, hang: true, header: regexp.MustCompile(`^INFO: (?:rcu_\w+ )?(?:self-)?detected stalls?\b`),
		title: func(m []string, g string) string { return in("INFO: rcu detected stall", g) }},
	{kind: HungTask, hang: true, header: regexp.MustCompile(`^INFO: task (\S+):\d+ blocked for more than \d+ seconds`),
		title: func(m []string, g string) string { return in("INFO: task hung", g) }},
	{kind: SoftLockup, hang: true, header: regexp.MustCompile(`^BUG: soft lockup - CPU#\d+ stuck for \d+s!`),
		title: func(m []string, g string) string { return in("BUG: soft lockup", g) }},
	{kind: GPF, header: regexp.MustCompile(`^(?:Oops: )?[Gg]eneral protection fault\b`),
		title: func(m []string, g string) string { return in("general protection fault", g) }},
	{kind: Oops, header: regexp.MustCompile(`^BUG: kernel NULL pointer dereference`),
		title: func(m []string, g string) string { return in("BUG: kernel NULL pointer dereference", g) }},
	{kind: Oops, header: regexp.MustCompile(`^BUG: unable to handle (?:page fault|kernel paging request)`),
		title: func(m []string, g string) string { return in("BUG: unable to handle kernel paging request", g) }},
	{kind: BUG, header: regexp.MustCompile(`^kernel BUG at (\S+?)!?$`),
		title: func(m []string, g string) string { return in("kernel BUG", g) }},
	{kind: BUG, header: regexp.MustCompile(`^BUG: (sleeping function called from invalid context|scheduling while atomic|workqueue lockup|spinlock \w+ on CPU#\d+|using smp_processor_id\(\) in preemptible|Bad page state|Bad rss-counter state|stack guard page was hit)`),
		title: func(m []string, g string) string {
			t := regexp.MustCompile(` on CPU#\d+`).ReplaceAllString(m[1], "")
			return in("BUG: "+t, g)
		}},
	{kind: BUG, header: regexp.MustCompile(`^BUG: (.+?)\s*$`),
		title: func(m []string, g string) string { return "BUG: " + stripAddrs(m[1]) }},
	{kind: Oops, cont: true, header: regexp.MustCompile(`^Oops: (?:Oops: )?(.*?)(?:: [0-9a-f]{4})? \[#\d+\]`),
		title: func(m []string, g string) string { return in("Oops: "+m[1], g) }},
	{kind: Warning, header: regexp.MustCompile(`^WARNING: CPU: \d+ PID: \d+ at (\S+) (\S+)`),
		title: func(m []string, g string) string {
			if g == "" {
				g = m[1]
			}
			return "WARNING in " + g
		}},
	// The format of 6.18 and later: WARNING: file:line at func+off/size, CPU#n: comm/pid
	{kind: Warning, header: regexp.MustCompile(`^WARNING: (\S+:\d+) at (\S+), CPU#\d+`),
		title: func(m []string, g string) string {
			if g == "" {
				g = m[1]
			}
			return "WARNING in " + g
		}},
	{kind: Panic, cont: true, header: regexp.MustCompile(`^Kernel panic - not syncing: (.*?)\s*$`),
		title: func(m []string, g string) string { return "kernel panic: " + stripAddrs(m[1]) }},
}

var addrRe = regexp.MustCompile(`\b(?:0x)?[0-9a-f]{8,16}\b`)

// stripAddrs takes addresses out of a title: they differ from boot to
// boot and would make the same bug look like many.
func stripAddrs(s string) string { return strings.TrimSpace(addrRe.ReplaceAllString(s, "ADDR")) }
