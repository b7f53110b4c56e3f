package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The first SIGINT or SIGTERM cancels the command's context, naming the
// signal, and the exit code becomes the shell's 128+N.
func TestInterruptsCancelAndExitCode(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		var stderr bytes.Buffer
		ctx, in := withInterrupts(&stderr)
		if got := in.code(exitFail); got != exitFail {
			t.Errorf("code before a signal = %d", got)
		}
		syscall.Kill(os.Getpid(), sig)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%v did not cancel the context", sig)
		}
		var sc signalCause
		if !errors.As(context.Cause(ctx), &sc) || sc.sig != sig {
			t.Errorf("cause = %v, want %v", context.Cause(ctx), sig)
		}
		if got, want := in.code(exitInfra), 128+int(sig); got != want {
			t.Errorf("exit code after %v = %d, want %d", sig, got, want)
		}
		in.stop()
		if !strings.Contains(stderr.String(), "send it again to exit at once") {
			t.Errorf("stderr %q", stderr.String())
		}
	}
}

// Bad values of the shared flags exit 2 before anything is built, with a
// message that names the flag.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	notKernel := t.TempDir()
	foreign := t.TempDir()
	if os.Geteuid() == 0 {
		os.Chown(foreign, 65534, 65534)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"cpus 0", []string{"--cpus", "0"}, nil, "--cpus 0"},
		{"cpus negative", []string{"--cpus", "-1"}, nil, "--cpus -1"},
		{"memory too small", []string{"--memory", "1"}, nil, "--memory 1"},
		{"make-jobs 0", []string{"--make-jobs", "0"}, nil, "--make-jobs 0"},
		{"negative boot timeout", []string{"--boot-timeout", "-1s"}, nil, "--boot-timeout -1s"},
		{"zero scenario timeout", []string{"--scenario-timeout", "0"}, nil, "--scenario-timeout 0s"},
		{"negative scenario timeout", []string{"--scenario-timeout", "-5s"}, nil, "--scenario-timeout -5s"},
		{"not a kernel tree", []string{"--kernel-src", notKernel}, nil, notKernel},
		{"unknown accel", []string{"--accel", "xen"}, nil, "--accel"},
		{"unknown scenario", []string{"--scenario", "nosuch"}, nil, "nosuch"},
		{"HOME unset", nil, map[string]string{"HOME": "", "XDG_CACHE_HOME": "", "KCOVLAB_CACHE": ""}, "HOME is unset"},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name string
			args []string
			env  map[string]string
			want string
		}{"cache of another user", []string{"--cache", foreign}, nil, "owned by uid 65534"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"run", "--results", t.TempDir(), "--tarball", filepath.Join(t.TempDir(), "none.tar.xz")}, tt.args...)
			if tt.env == nil {
				args = append(args, "--cache", t.TempDir())
				if tt.name == "cache of another user" {
					args = append(args, "--cache", foreign)
				}
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := mainErr(args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not name %q", stderr.String(), tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s: something was built", d)
			}
		})
	}
}
