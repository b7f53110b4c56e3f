package lab

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kcovlab/kcovlab/internal/crash"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/sshlink"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// guest is one booted VM and the SSH connection to it. Its owner calls stop.
type guest struct {
	m       *vm.Machine
	client  *sshlink.Client
	console string
	qmpDir  string
	// lost is set once the lab lost the guest (see GuestLostError); during
	// names the scenario that was running.
	lost   *GuestLostError
	during string
	// syms symbolizes a crash's report (nil: raw addresses stay).
	syms func() crash.Symbols
	port int // the SSH forward's host port
}

// boot runs the scenarios: the ordinary ones in one VM, then each scenario
// that needs fresh guards in its own fresh boots, one trial per boot.
func (r *run) boot(ctx context.Context) error {
	key, err := sshlink.GenerateKey(filepath.Join(r.dir, "keys", "id_ed25519"), "kcovlab-"+r.res.RunID)
	if err != nil {
		return &InfraError{Stage: "keys", Err: err}
	}
	r.key = key
	plain, fresh := splitFresh(r.scenarios)
	if r.prebootAllowed() {
		r.pre = r.startPreboot(ctx, fresh)
		defer r.pre.stop(ctx, r)
	}
	if len(plain) > 0 || r.needsGuest() {
		start := time.Now()
		r.mu.Lock()
		r.detachNext = r.opts.Keep
		r.mu.Unlock()
		g, err := r.startGuest(ctx, "console.log")
		r.mu.Lock()
		r.detachNext = false
		r.mu.Unlock()
		r.res.AddStage("boot", time.Since(start))
		if err != nil {
			return err
		}
		first := len(r.res.Scenarios)
		r.stage = "scenarios"
		r.probeClass(ctx, g)
		r.runScenarios(ctx, g, plain)
		loopErr := r.loopSteps(ctx, g)
		if r.opts.Keep && g.lost == nil && ctx.Err() == nil && g.crashed() == nil {
			r.keepGuest(g, g.port)
		} else {
			r.res.AddStage("shutdown", r.stopGuest(ctx, g, g.lost == nil && ctx.Err() == nil))
		}
		if err := r.afterGuest(ctx, g, first); err != nil {
			return err
		}
		if loopErr != nil {
			return loopErr
		}
	}
	for _, s := range fresh {
		r.stage = "scenarios"
		if err := r.runTrials(ctx, s); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// afterGuest names, in the scenarios run since index first, what the
// scenario results alone cannot tell: a run cancelled from outside (its
// scenarios did not finish, they did not fail) or a guest the lab lost (the
// scenario that was running carries the console tail, the ones after it
// were not run). A lost guest is the run's error.
func (r *run) afterGuest(ctx context.Context, g *guest, first int) error {
	list := r.res.Scenarios[first:]
	if ctx.Err() != nil {
		for i := range list {
			if list[i].Verdict == results.Error && (list[i].ErrorKind == results.ErrorChannel || list[i].ErrorKind == results.ErrorTimeout) {
				list[i].ErrorKind = results.ErrorCancelled
				list[i].Error = "not finished: cancelled (" + context.Cause(ctx).Error() + ")"
			}
		}
		return nil
	}
	if g.lost == nil {
		return nil
	}
	after := false
	for i := range list {
		switch {
		case after:
			list[i].ErrorKind = results.ErrorLab
			list[i].Error = "not run: the lab lost the guest during " + g.during
		case list[i].Name == g.during:
			list[i].ErrorKind = results.ErrorLab
			list[i].Error += "\n" + g.lost.Error()
			after = true
		}
	}
	return &InfraError{Stage: "vm", Err: g.lost}
}

// startAttempts is how many ports startGuest tries when QEMU cannot bind
// the SSH forward.
const startAttempts = 3

// FaultPortEnv names an environment variable for the fault-injection tests
// only: the first boot's SSH forward uses this host port instead of a free
// one (the test holds it, so QEMU's bind fails and a new port is tried).
const FaultPortEnv = "KCOVLAB_FAULT_PORT"

// startGuest boots the kernel and image and waits until SSH answers. On
// error nothing is left running. A forward port another process took is
// retried with a new port; after startAttempts it is a lab failure.
func (r *run) startGuest(ctx context.Context, consoleName string) (*guest, error) {
	var clash *PortClashError
	for a := 1; a <= startAttempts; a++ {
		port, err := r.sshPort(a)
		if err != nil {
			return nil, &InfraError{Stage: "vm", Err: err}
		}
		g, err := r.startGuestOn(ctx, consoleName, port)
		if !errors.As(err, &clash) {
			return g, err
		}
		clash.Attempts = a
		r.log.Warn("vm: ssh forward port taken, trying another", "port", port, "attempt", a)
	}
	return nil, &InfraError{Stage: "vm", Err: clash}
}

func (r *run) sshPort(attempt int) (int, error) {
	if v := os.Getenv(FaultPortEnv); v != "" && attempt == 1 {
		if p, err := strconv.Atoi(v); err == nil {
			return p, nil
		}
	}
	return vm.FreePort()
}

func (r *run) startGuestOn(ctx context.Context, consoleName string, port int) (*guest, error) {
	hostKey, err := sshlink.ReadPublicKey(r.image.HostKeyPub)
	if err != nil {
		return nil, &InfraError{Stage: "keys", Err: err}
	}
	qmpDir, err := os.MkdirTemp("", "kcovlab-qmp-")
	if err != nil {
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	g := &guest{console: filepath.Join(r.dir, consoleName), qmpDir: qmpDir, syms: r.crashSymbols, port: port}
	setup, err := vm.LookupSetup(r.opts.Machine)
	if err != nil {
		os.RemoveAll(qmpDir)
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	tsc := vm.HostTSCKHz()
	if setup.Machine == vm.MachineMicrovm && tsc == 0 {
		os.RemoveAll(qmpDir)
		return nil, &InfraError{Stage: "vm", Err: errors.New("machine microvm: the host's TSC rate is not in /proc/cpuinfo (cpu MHz), and a microvm kernel hangs without it: use --machine q35")}
	}
	vo := vm.Options{
		Machine: setup.Machine, Firmware: setup.Firmware, TSCKHz: tsc,
		QEMU: r.opts.QEMU, Kernel: r.kernel.BzImage, Initrd: r.image.Initramfs,
		Append: []string{"kcovlab.authkey=" + base64.StdEncoding.EncodeToString([]byte(r.key.AuthorizedLine()))},
		Accel:  r.accel, CPUs: r.opts.CPUs, MemoryMB: r.opts.MemoryMB,
		SSHPort: port, QMPSocket: filepath.Join(qmpDir, "qmp.sock"), ConsoleLog: g.console,
	}
	r.mu.Lock()
	err = r.loopVM(&vo)
	r.mu.Unlock()
	if err != nil {
		os.RemoveAll(qmpDir)
		return nil, err
	}
	start := time.Now()
	g.m, err = vm.Start(ctx, vo, r.log)
	if err != nil {
		os.RemoveAll(qmpDir)
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	r.mu.Lock()
	if r.onStart != nil {
		r.onStart(g.console, start)
	}
	r.recordPid(g.m.Pid())
	if r.res.Setup == nil {
		r.res.Setup = machineSetup(setup, r.kernel.Config, r.image.Initramfs)
	}
	if r.res.QEMUArgv == nil {
		r.res.QEMUArgv = g.m.Argv()
		os.WriteFile(filepath.Join(r.dir, "qemu.argv"), []byte(proc.Quote(g.m.Argv())+"\n"), 0o644)
	}
	r.mu.Unlock()
	cfg := sshlink.Config{User: "root", Key: r.key.Signer, HostKey: hostKey}
	g.client, err = r.waitSSH(ctx, g.m, port, cfg, g.console)
	if err != nil {
		r.stopGuest(ctx, g, false)
		var be *BootError
		if errors.As(err, &be) && be.Crash != nil {
			// The boot crash's report, symbolized with the kernel's vmlinux.
			raw, _ := os.ReadFile(g.console)
			r.mu.Lock()
			be.Crash = FindCrash(string(raw), r.crashSymbols())
			r.mu.Unlock()
		}
		return nil, err
	}
	if st, err := g.m.Status(ctx); err == nil {
		r.log.Info("vm: ready", "qmp_status", st, "pid", g.m.Pid(), "boot", time.Since(start).Round(time.Millisecond).String())
	}
	return g, nil
}

// recordPid appends a QEMU's pid to qemu.pid in the run dir, one line per
// boot, so that whoever checks for leftovers can do it by pid.
func (r *run) recordPid(pid int) {
	f, err := os.OpenFile(filepath.Join(r.dir, "qemu.pid"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.log.Warn("vm: cannot record the qemu pid", "err", err)
		return
	}
	fmt.Fprintln(f, pid)
	f.Close()
}

// stopGuest asks QEMU to quit over QMP (when graceful) and always reaps it.
// It returns how long that took.
func (r *run) stopGuest(ctx context.Context, g *guest, graceful bool) time.Duration {
	t := time.Now()
	if g.client != nil {
		g.client.Close()
	}
	if graceful {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := g.m.Quit(qctx); err != nil {
			r.log.Warn("vm: QMP quit failed, killing", "err", err)
		}
		cancel()
	} else {
		g.m.Kill(nil)
	}
	g.m.Close()
	os.RemoveAll(g.qmpDir)
	return time.Since(t)
}

// crashGrace is how long a scenario's lost SSH session waits for QEMU to
// exit: a kernel crash ends QEMU (panic=-1), but the session may notice first.
const crashGrace = 5 * time.Second

// crashedAfter is crashed once the scenario res ran. When res lost its SSH
// session, QEMU gets crashGrace to exit first, so a crash is not taken for
// a channel fault (which a bisect would retry). A guest that timed out or
// lost SSH while QEMU still runs is hung: it is abandoned (QEMU killed,
// g.lost set) and nil is returned, as for a QEMU killed from outside.
func (g *guest) crashedAfter(ctx context.Context, res results.Scenario) *KernelCrash {
	if g.lost != nil || ctx.Err() != nil {
		return nil
	}
	if res.ErrorKind == results.ErrorChannel {
		t := time.NewTimer(crashGrace)
		select {
		case <-g.m.Done():
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if ctx.Err() != nil {
		return nil
	}
	if c := g.crashed(); c != nil || g.lost != nil {
		if g.lost != nil {
			g.during = res.Name
		}
		return c
	}
	switch res.ErrorKind {
	case results.ErrorTimeout:
		g.abandon(res.Name, "the guest did not finish "+res.Name+" in time and QEMU still runs: hung, QEMU killed")
	case results.ErrorChannel:
		g.abandon(res.Name, "the SSH connection was lost during "+res.Name+" while QEMU still runs, QEMU killed")
	}
	return nil
}

// abandon gives up on a guest that still runs but does not answer: it
// closes the SSH connection, kills QEMU at once (a stopped QEMU would not
// answer QMP) and records why, with the console tail.
func (g *guest) abandon(during, reason string) {
	var lostErr error
	if g.client != nil {
		lostErr = g.client.Lost()
		g.client.Close()
	}
	g.m.Kill(errAbandoned)
	raw, _ := os.ReadFile(g.console)
	g.lost = &GuestLostError{Reason: reason, ConsoleTail: tail(string(raw), 20), Err: lostErr}
	g.during = during
}

// errAbandoned is the cause recorded when kcovlab kills a hung QEMU.
var errAbandoned = errors.New("abandoned by kcovlab: the guest hung")

// crashed returns the crash on g's console once QEMU has exited, or nil.
// A QEMU killed from outside is not a crash: it sets g.lost instead.
func (g *guest) crashed() *KernelCrash {
	select {
	case <-g.m.Done():
	default:
		return nil
	}
	raw, _ := os.ReadFile(g.console)
	var syms crash.Symbols
	if g.syms != nil {
		syms = g.syms()
	}
	if c := FindCrash(string(raw), syms); c != nil {
		return c
	}
	var exit *vm.ExitError
	if errors.As(g.m.ExitErr(), &exit) && (exit.Signal != 0 || exit.Code != 0) {
		// A signal (the OOM killer, a user) or QEMU's own failure, with no
		// crash on the console: the lab's fault.
		g.lost = &GuestLostError{Reason: "QEMU died with no crash on the console", ConsoleTail: tail(string(raw), 20), Err: exit}
		return nil
	}
	return &KernelCrash{Title: fmt.Sprintf("QEMU exited (%v)", g.m.ExitErr())}
}
