package lab

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"os"
	"path/filepath"
	"time"

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
	if len(plain) > 0 {
		start := time.Now()
		g, err := r.startGuest(ctx, "console.log")
		r.res.AddStage("boot", time.Since(start))
		if err != nil {
			return err
		}
		r.runScenarios(ctx, g, plain)
		r.res.AddStage("shutdown", r.stopGuest(ctx, g, true))
	}
	for _, s := range fresh {
		if err := r.runTrials(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// startGuest boots the kernel and image and waits until SSH answers. On
// error nothing is left running.
func (r *run) startGuest(ctx context.Context, consoleName string) (*guest, error) {
	hostKey, err := sshlink.ReadPublicKey(r.image.HostKeyPub)
	if err != nil {
		return nil, &InfraError{Stage: "keys", Err: err}
	}
	port, err := vm.FreePort()
	if err != nil {
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	qmpDir, err := os.MkdirTemp("", "kcovlab-qmp-")
	if err != nil {
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	g := &guest{console: filepath.Join(r.dir, consoleName), qmpDir: qmpDir}
	vo := vm.Options{
		QEMU: r.opts.QEMU, Kernel: r.kernel.BzImage, Initrd: r.image.Initramfs,
		Append: []string{"kcovlab.authkey=" + base64.StdEncoding.EncodeToString([]byte(r.key.AuthorizedLine()))},
		Accel:  r.accel, CPUs: r.opts.CPUs, MemoryMB: r.opts.MemoryMB,
		SSHPort: port, QMPSocket: filepath.Join(qmpDir, "qmp.sock"), ConsoleLog: g.console,
	}
	start := time.Now()
	g.m, err = vm.Start(ctx, vo, r.log)
	if err != nil {
		os.RemoveAll(qmpDir)
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	if r.res.QEMUArgv == nil {
		r.res.QEMUArgv = g.m.Argv()
		os.WriteFile(filepath.Join(r.dir, "qemu.argv"), []byte(proc.Quote(g.m.Argv())+"\n"), 0o644)
	}
	cfg := sshlink.Config{User: "root", Key: r.key.Signer, HostKey: hostKey}
	g.client, err = r.waitSSH(ctx, g.m, port, cfg, g.console)
	if err != nil {
		r.stopGuest(ctx, g, false)
		return nil, err
	}
	if st, err := g.m.Status(ctx); err == nil {
		r.log.Info("vm: ready", "qmp_status", st, "boot", time.Since(start).Round(time.Millisecond).String())
	}
	return g, nil
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
// a channel fault (which a bisect would retry).
func (g *guest) crashedAfter(ctx context.Context, res results.Scenario) *KernelCrash {
	if res.ErrorKind == results.ErrorChannel {
		t := time.NewTimer(crashGrace)
		select {
		case <-g.m.Done():
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return g.crashed()
}

// crashed returns the crash on g's console once QEMU has exited, or nil.
func (g *guest) crashed() *KernelCrash {
	select {
	case <-g.m.Done():
	default:
		return nil
	}
	raw, _ := os.ReadFile(g.console)
	if c := FindCrash(string(raw)); c != nil {
		return c
	}
	return &KernelCrash{Title: fmt.Sprintf("QEMU exited (%v)", g.m.ExitErr())}
}
