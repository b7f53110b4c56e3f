package sshlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
	"time"

	"github.com/u-root/u-root/pkg/shlex"
	"golang.org/x/crypto/ssh"
)

// RunFunc runs one command for an SSH "exec" request and returns its exit code.
type RunFunc func(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int

// Server answers SSH "exec" requests from the keys in Authorized: the
// command line is split into words (with quoting) and run directly, no
// shell in between (PutCommand is answered by the server itself). With
// Shell set it also answers "shell" requests, on a pty when the session
// asked for one ("pty-req", then "window-change" resizes it).
type Server struct {
	HostKey    ssh.Signer
	Authorized []ssh.PublicKey
	// Run runs a command; nil means ExecRun.
	Run RunFunc
	// Shell is the argv of the interactive shell; nil refuses "shell".
	Shell []string
	// Logf, when set, receives one line per connection and per command.
	Logf func(format string, args ...any)
}

// Serve accepts connections on ln until ctx is done or ln fails. It closes ln
// and every open connection before it returns, and waits for their goroutines.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg, err := s.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ssh server: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, conn, cfg)
		}()
	}
}

func (s *Server) config() (*ssh.ServerConfig, error) {
	if s.HostKey == nil {
		return nil, errors.New("ssh server: no host key")
	}
	allowed := make(map[string]bool, len(s.Authorized))
	for _, k := range s.Authorized {
		allowed[string(k.Marshal())] = true
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if allowed[string(key.Marshal())] {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("key %s is not authorized", ssh.FingerprintSHA256(key))
		},
	}
	cfg.AddHostKey(s.HostKey)
	return cfg, nil
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, cfg *ssh.ServerConfig) {
	conn, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		s.logf("ssh handshake from %v: %v", nc.RemoteAddr(), err)
		nc.Close()
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ctx, ch, chReqs)
		}()
	}
}

// serveSession handles one session: "env" and "pty-req" are noted, then
// the first "exec" (or "shell", when the server has one) runs and the
// channel closes; every other request type is refused.
func (s *Server) serveSession(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	sess := &session{size: make(chan windowChange, 4)}
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) != nil {
				req.Reply(false, nil)
				continue
			}
			sess.env = append(sess.env, kv.Name+"="+kv.Value)
			req.Reply(true, nil)
		case "pty-req":
			var p ptyRequest
			if s.Shell == nil || ssh.Unmarshal(req.Payload, &p) != nil {
				req.Reply(false, nil)
				continue
			}
			sess.pty = &p
			req.Reply(true, nil)
		case "exec", "shell":
			var payload struct{ Command string }
			if req.Type == "exec" && ssh.Unmarshal(req.Payload, &payload) != nil ||
				req.Type == "shell" && s.Shell == nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go s.laterRequests(reqs, sess.size)
			var code int
			if req.Type == "shell" {
				s.logf("shell %q (pty %v)", s.Shell, sess.pty != nil)
				code = s.runShell(ctx, ch, sess)
				s.logf("shell exit %d", code)
			} else {
				code = s.exec(ctx, ch, payload.Command)
			}
			ch.CloseWrite()
			status := struct{ Status uint32 }{uint32(code)}
			ch.SendRequest("exit-status", false, ssh.Marshal(&status))
			return
		default:
			req.Reply(false, nil)
		}
	}
}

// laterRequests answers a running session's requests: window changes go
// to its pty, anything else is refused.
func (s *Server) laterRequests(reqs <-chan *ssh.Request, size chan<- windowChange) {
	for req := range reqs {
		var wc windowChange
		if req.Type == "window-change" && ssh.Unmarshal(req.Payload, &wc) == nil {
			select {
			case size <- wc:
			default: // a burst of resizes: the last ones win later
			}
			req.Reply(true, nil)
			continue
		}
		req.Reply(false, nil)
	}
}

func (s *Server) exec(ctx context.Context, ch ssh.Channel, command string) int {
	argv := shlex.Argv(command)
	if len(argv) == 0 {
		fmt.Fprintln(ch.Stderr(), "empty command")
		return 127
	}
	s.logf("exec %q", argv)
	if argv[0] == PutCommand {
		return put(argv, ch, ch.Stderr())
	}
	run := s.Run
	if run == nil {
		run = ExecRun
	}
	code := run(ctx, argv, ch, ch, ch.Stderr())
	s.logf("exit %d: %q", code, argv)
	return code
}

// ExecRun runs argv as a child process. A command that cannot be started
// exits 127 with the reason on stderr, as a shell would.
func ExecRun(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// A client that never closes its stdin must not keep the session open
	// after the command has exited.
	cmd.WaitDelay = 2 * time.Second
	return exitCode(cmd.Run(), stderr)
}
