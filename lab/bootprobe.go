package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/sshlink"
)

// BootTiming is one boot of a cached kernel, timed for `kcovlab bench
// boot`. The durations are host time since QEMU was started, taken as
// each console line reached the host (to within consolePoll), except
// SSHReady and FirstCommand, taken when they happened.
type BootTiming struct {
	Setup *results.MachineSetup
	Accel string // the accelerator it ran under
	// FirstByte: the first console byte (after firmware and the kernel's
	// decompression). RunInit: the kernel's "Run /init". InitUp: kcovinit
	// started (u-root's init ran before it). SSHListening: kcovinit's SSH
	// server listens. Zero when the line never came.
	FirstByte, RunInit, InitUp, SSHListening time.Duration
	// SSHReady: the host's SSH handshake and login succeeded.
	// FirstCommand: the first command over SSH finished.
	SSHReady, FirstCommand time.Duration
	// GuestRunInit and GuestSMP are the kernel's own printk timestamps of
	// "Run /init" and of bringing up the CPUs (guest seconds, -1 unknown).
	GuestRunInit, GuestSMP float64
	// CPUs is how many CPUs the kernel brought up ("smp: Brought up 1 node,
	// N CPUs"); 0 when the line never came.
	CPUs int
	// Console is the boot's console log.
	Console string
}

// ErrTooFewCPUs means a boot brought up fewer CPUs than asked for: the
// guard race needs them, so such a setup cannot be the default.
var ErrTooFewCPUs = fmt.Errorf("the kernel brought up fewer CPUs than asked for")

// ProbeBoot boots the cached kernel opts name once with opts.Machine, waits
// for SSH, runs one command, shuts the guest down and returns how long
// each step took. The console and keys go to dir. It builds nothing: a
// kernel that is not cached is a *UsageError (the guest image is built
// when missing, as a run would). A boot that brought up fewer CPUs than
// opts.CPUs returns its timing and an error wrapping ErrTooFewCPUs.
func ProbeBoot(ctx context.Context, opts Options, dir string) (*BootTiming, error) {
	built, err := Built(ctx, opts)
	if err != nil {
		return nil, err
	}
	if !built {
		return nil, &UsageError{fmt.Sprintf("kernel %s is not built: the bench times cached kernels only; run `kcovlab run --kernel %s` first", opts.Kernel, opts.Kernel)}
	}
	if err := opts.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &InfraError{Stage: "results", Err: err}
	}
	r := &run{opts: opts, log: opts.Log, def: def, dir: dir,
		res: &results.Result{Schema: results.SchemaVersion, RunID: filepath.Base(dir)}}
	if err := r.buildKernel(ctx); err != nil {
		return nil, err
	}
	if err := r.buildImage(ctx); err != nil {
		return nil, err
	}
	r.chooseAccel(ctx)
	if r.key, err = sshlink.GenerateKey(filepath.Join(dir, "keys", "id_ed25519"), "kcovlab-"+r.res.RunID); err != nil {
		return nil, &InfraError{Stage: "keys", Err: err}
	}
	var (
		clock   *consoleClock
		started time.Time
	)
	r.onStart = func(console string, t time.Time) {
		if clock != nil { // a retried start: time the boot that answers
			clock.stop()
		}
		started, clock = t, startConsoleClock(console, t)
	}
	g, err := r.startGuest(ctx, "console.log")
	if clock != nil {
		defer clock.stop()
	}
	if err != nil {
		return nil, err
	}
	t := &BootTiming{SSHReady: time.Since(started), Console: g.console, Setup: r.res.Setup, Accel: r.res.Accel}
	_, err = g.client.Run(ctx, "cat /proc/uptime", nil, io.Discard, io.Discard)
	t.FirstCommand = time.Since(started)
	r.stopGuest(ctx, g, err == nil)
	if err != nil {
		return nil, &InfraError{Stage: "vm", Err: fmt.Errorf("first command over ssh: %w", err)}
	}
	clock.stop()
	clock.marks.fill(t)
	return t, t.checkCPUs(opts.CPUs)
}

// checkCPUs fails when the boot brought up fewer than want CPUs.
func (t *BootTiming) checkCPUs(want int) error {
	if t.CPUs < want {
		return fmt.Errorf("%w: %d of %d (console %s)", ErrTooFewCPUs, t.CPUs, want, t.Console)
	}
	return nil
}

// consolePoll is how often the console clock reads the console file: the
// resolution of the host-side times. It is a measurement, not a wait.
const consolePoll = 5 * time.Millisecond

// consoleClock notes when console lines reach the host: it reads the
// console file every consolePoll and feeds new lines to marks.
type consoleClock struct {
	marks bootMarks
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

func startConsoleClock(path string, started time.Time) *consoleClock {
	c := &consoleClock{quit: make(chan struct{}), marks: newBootMarks()}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var (
			off  int64
			part []byte
		)
		tick := time.NewTicker(consolePoll)
		defer tick.Stop()
		for {
			if b := readFrom(path, off); len(b) > 0 {
				off += int64(len(b))
				now := time.Since(started)
				part = append(part, b...)
				c.marks.bytes(now)
				for {
					i := bytes.IndexByte(part, '\n')
					if i < 0 {
						break
					}
					c.marks.line(string(part[:i]), now)
					part = part[i+1:]
				}
			}
			select {
			case <-c.quit:
				if len(part) > 0 {
					c.marks.line(string(part), time.Since(started))
				}
				return
			case <-tick.C:
			}
		}
	}()
	return c
}

// stop ends the clock and waits for it; it is idempotent.
func (c *consoleClock) stop() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

// readFrom returns what path holds from offset off on (nil if nothing).
func readFrom(path string, off int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// bootMarks are the console lines a boot is timed by, as they arrive.
type bootMarks struct {
	first, runInit, initUp, listening time.Duration
	guestRunInit, guestSMP            float64
	cpus                              int
}

func newBootMarks() bootMarks { return bootMarks{guestRunInit: -1, guestSMP: -1} }

var (
	printkTime = regexp.MustCompile(`^\[\s*(\d+\.\d+)\]`)
	smpLine    = regexp.MustCompile(`smp: Brought up \d+ nodes?, (\d+) CPUs?`)
)

// bytes notes that console bytes arrived at now.
func (m *bootMarks) bytes(now time.Duration) {
	if m.first == 0 {
		m.first = now
	}
}

// line reads one console line that arrived at now.
func (m *bootMarks) line(l string, now time.Duration) {
	stamp := -1.0
	if s := printkTime.FindStringSubmatch(l); s != nil {
		stamp, _ = strconv.ParseFloat(s[1], 64)
	}
	switch {
	case m.runInit == 0 && strings.Contains(l, "Run /init as init process"):
		m.runInit, m.guestRunInit = now, stamp
	case m.cpus == 0 && smpLine.MatchString(l):
		m.cpus, _ = strconv.Atoi(smpLine.FindStringSubmatch(l)[1])
		m.guestSMP = stamp
	case m.initUp == 0 && strings.Contains(l, "kcovinit: up"):
		m.initUp = now
	case m.listening == 0 && strings.Contains(l, "kcovinit: ssh listening"):
		m.listening = now
	}
}

// fill copies the marks into t.
func (m bootMarks) fill(t *BootTiming) {
	t.FirstByte, t.RunInit, t.InitUp, t.SSHListening = m.first, m.runInit, m.initUp, m.listening
	t.GuestRunInit, t.GuestSMP, t.CPUs = m.guestRunInit, m.guestSMP, m.cpus
}
