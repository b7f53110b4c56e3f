package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/sshlink"
	"golang.org/x/sys/unix"
)

// KeepFile is the run dir's record of a guest left up (run --keep): the
// same as result.json's loop.kept, for kcovlab shell --attach and stop.
const KeepFile = "kept.json"

// Terminal is the user's side of kcovlab shell: with Term set the guest's
// shell runs on a pty of Rows x Cols, resized from Resize. It is the SSH
// channel's own type, named here so that commands need not import
// internal/sshlink.
type Terminal = sshlink.Terminal

// WindowSize is a terminal's size in characters.
type WindowSize = sshlink.WindowSize

// Shell boots like Run (the scenarios, puts and execs in opts run first;
// none by default), then opens the guest's shell on t and returns its exit
// code once the user leaves it. QEMU is stopped before Shell returns.
func Shell(ctx context.Context, opts Options, t Terminal) (int, error) {
	asked := opts.Scenarios
	if err := opts.Defaults(); err != nil {
		return -1, &UsageError{err.Error()}
	}
	selected, err := SelectScenarios(asked)
	if err != nil {
		return -1, err
	}
	def, err := opts.KernelDef()
	if opts.KernelImage != "" {
		def, err = KernelDef{Name: "image"}, nil
	}
	if err != nil {
		return -1, err
	}
	r := &run{opts: opts, log: opts.Log, scenarios: selected, def: def, shell: &t, shellCode: -1}
	_, err = r.do(ctx)
	if errors.Is(err, ErrNothingChecked) {
		err = nil
	}
	return r.shellCode, err
}

// openShell runs the guest's shell on the user's terminal.
func (r *run) openShell(ctx context.Context, g *guest) error {
	r.log.Info("shell: open (leave it with exit or Ctrl-D)")
	code, err := shellOn(ctx, g.client, *r.shell)
	r.shellCode = code
	if err != nil {
		return &InfraError{Stage: "shell", Err: err}
	}
	r.log.Info("shell: closed", "exit", code)
	return nil
}

func shellOn(ctx context.Context, c *sshlink.Client, t Terminal) (int, error) {
	return c.Shell(ctx, t)
}

// keepGuest leaves g running (it was started detached) and records how to
// reach and stop it, in result.json, KeepFile and on Out.
func (r *run) keepGuest(g *guest, port int) {
	if g.client != nil {
		g.client.Close()
	}
	g.m.Release()
	k := &results.Kept{Pid: g.m.Pid(), SSHPort: port, Key: r.key.Path, HostKey: r.image.HostKeyPub,
		Console: g.console, QMPDir: g.qmpDir}
	r.loop().Kept = k
	raw, _ := json.MarshalIndent(k, "", "  ")
	os.WriteFile(filepath.Join(r.dir, KeepFile), append(raw, '\n'), 0o644)
	r.log.Info("vm: kept up", "pid", k.Pid, "ssh_port", port)
	fmt.Fprint(r.opts.Out, KeptHelp(r.dir, k))
}

// KeptHelp is what run --keep prints: the commands that reach and stop a
// kept guest.
func KeptHelp(dir string, k *results.Kept) string {
	return fmt.Sprintf(`guest kept up: QEMU pid %d, SSH on 127.0.0.1:%d
  connect: kcovlab shell --attach %s
       or: ssh -i %s -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1
  stop:    kcovlab stop %s
`, k.Pid, k.SSHPort, dir, k.Key, k.SSHPort, dir)
}

// ReadKept reads a run dir's kept guest; an error when the run kept none.
func ReadKept(dir string) (*results.Kept, error) {
	raw, err := os.ReadFile(filepath.Join(dir, KeepFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &UsageError{fmt.Sprintf("%s: no guest kept there (%s missing): start one with kcovlab run --keep", dir, KeepFile)}
	}
	if err != nil {
		return nil, err
	}
	var k results.Kept
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, KeepFile), err)
	}
	return &k, nil
}

// keptAlive is true when pid is still the QEMU of k (its command line
// names k's console log), so a reused pid is never signalled.
func keptAlive(k *results.Kept) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k.Pid))
	return err == nil && strings.Contains(string(raw), k.Console)
}

// Attach opens the shell of a guest kept by run --keep in dir; the guest
// stays up when the shell ends.
func Attach(ctx context.Context, dir string, t Terminal) (int, error) {
	k, err := ReadKept(dir)
	if err != nil {
		return -1, err
	}
	if !keptAlive(k) {
		return -1, &UsageError{fmt.Sprintf("%s: the kept guest (pid %d) is not running any more", dir, k.Pid)}
	}
	key, err := sshlink.LoadKey(k.Key)
	if err != nil {
		return -1, &InfraError{Stage: "keys", Err: err}
	}
	host, err := sshlink.ReadPublicKey(k.HostKey)
	if err != nil {
		return -1, &InfraError{Stage: "keys", Err: err}
	}
	c, err := sshlink.Dial(ctx, fmt.Sprintf("127.0.0.1:%d", k.SSHPort), sshlink.Config{User: "root", Key: key.Signer, HostKey: host})
	if err != nil {
		return -1, &InfraError{Stage: "vm", Err: err}
	}
	defer c.Close()
	code, err := shellOn(ctx, c, t)
	if err != nil {
		return code, &InfraError{Stage: "shell", Err: err}
	}
	return code, nil
}

// stopGrace is how long Stop waits for a kept QEMU to obey SIGTERM.
const stopGrace = 10 * time.Second

// Stop stops the guest run --keep left up in dir: SIGTERM to QEMU's process
// group, SIGKILL after stopGrace, waiting on a pidfd for it to go; then it
// removes the QMP socket dir and KeepFile. A guest already gone is fine.
func Stop(dir string) error {
	k, err := ReadKept(dir)
	if err != nil {
		return err
	}
	if keptAlive(k) {
		fd, err := unix.PidfdOpen(k.Pid, 0)
		if err != nil {
			return &InfraError{Stage: "stop", Err: fmt.Errorf("pidfd_open %d: %w", k.Pid, err)}
		}
		defer unix.Close(fd)
		unix.Kill(-k.Pid, unix.SIGTERM)
		if !waitPidfd(fd, stopGrace) {
			unix.Kill(-k.Pid, unix.SIGKILL)
			if !waitPidfd(fd, stopGrace) {
				return &InfraError{Stage: "stop", Err: fmt.Errorf("QEMU pid %d survived SIGKILL", k.Pid)}
			}
		}
	}
	if k.QMPDir != "" && strings.HasPrefix(filepath.Base(k.QMPDir), "kcovlab-qmp-") {
		os.RemoveAll(k.QMPDir)
	}
	return os.Remove(filepath.Join(dir, KeepFile))
}

// waitPidfd waits until the process of a pidfd exits, up to d.
func waitPidfd(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
