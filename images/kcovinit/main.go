//go:build linux

// Command kcovinit is kcovlab's guest init. u-root's init starts it as uinit;
// it makes sure debugfs is mounted, brings up lo and eth0 for QEMU user
// networking, and serves SSH (commands, and u-root's gosh as the
// interactive shell) until the VM is stopped. With kcovlab.console=1 on the
// kernel command line it also serves the console protocol on the serial
// console (console.go), and only that when no SSH key was given.
//
// The client key arrives on the kernel command line as
// kcovlab.authkey=<base64 of an authorized_keys line>, so one cached image
// serves every run while each run keeps its own key.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strings"

	"github.com/kcovlab/kcovlab/internal/sshlink"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// Paths and addresses shared with the host side (package images).
const (
	hostKeyPath = "/etc/kcovlab/ssh_host_ed25519_key"
	guestAddr   = "10.0.2.15"
	guestMask   = 24
	sshPort     = "22"
)

func main() {
	log.SetPrefix("kcovinit: ")
	log.SetFlags(0)
	// The boot bench (kcovlab bench boot) times this line and the
	// "ssh listening" one as they reach the host's console.
	log.Printf("up at %s", uptime())
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	if err := mountDebugfs(); err != nil {
		return err
	}
	if err := networkUp(); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return err
	}
	os.Setenv("PATH", "/bbin:/bin:/buildbin:/usr/bin")
	authorized, err := authorizedKeys(string(cmdline))
	if consoleMode(string(cmdline)) {
		tty, cerr := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0)
		if cerr != nil {
			return fmt.Errorf("console protocol: %w", cerr)
		}
		if err != nil { // no SSH key: the console is the only channel
			serveConsole(tty, tty, runProgram)
			return errors.New("console protocol: the console closed")
		}
		go serveConsole(tty, tty, runProgram)
	}
	if err != nil {
		return err
	}
	host, err := sshlink.LoadKey(hostKeyPath)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", sshPort))
	if err != nil {
		return err
	}
	log.Printf("ssh listening on %s:%s, host key %s, at %s", guestAddr, sshPort, ssh.FingerprintSHA256(host.Public()), uptime())
	srv := &sshlink.Server{HostKey: host.Signer, Authorized: authorized, Logf: log.Printf, Shell: []string{"/bbin/gosh"}}
	return srv.Serve(context.Background(), ln)
}

// consoleMode is true when the kernel command line asks for the console
// protocol (console.go).
func consoleMode(cmdline string) bool {
	for _, w := range strings.Fields(cmdline) {
		if w == consoleFlag {
			return true
		}
	}
	return false
}

// authorizedKeys reads every kcovlab.authkey= word of the kernel command line.
func authorizedKeys(cmdline string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, w := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(w, "kcovlab.authkey=")
		if !ok {
			continue
		}
		line, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("kcovlab.authkey: %w", err)
		}
		k, err := sshlink.ParsePublicKey(line)
		if err != nil {
			return nil, fmt.Errorf("kcovlab.authkey: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no kcovlab.authkey= on the kernel command line: nobody could log in")
	}
	return keys, nil
}

func mountDebugfs() error {
	const dir = "/sys/kernel/debug"
	if _, err := os.Stat(dir + "/kcov"); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("debugfs", dir, "debugfs", 0, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount debugfs: %w", err)
	}
	return nil
}

// uptime is the guest's uptime from /proc/uptime, "?s" when unreadable.
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?s"
	}
	up, _, _ := strings.Cut(string(b), " ")
	return up + "s"
}
