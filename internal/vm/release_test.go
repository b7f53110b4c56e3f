package vm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReleaseKeepsRunning: a detached process writes its output to the
// given file, and once released neither the start context's cancellation
// nor Close stops it (run --keep); without Release the cancellation kills
// it (TestMachineCancelKills).
func TestReleaseKeepsRunning(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "qemu.out")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := startMachineOut(ctx, []string{"sh", "-c", "echo detached-output; exec sleep 60"}, filepath.Join(dir, "q.sock"), testLogger(t), out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unix.Kill(-m.Pid(), unix.SIGKILL)
		<-m.Done()
	}()
	m.Release()
	cancel()
	m.Close()
	select {
	case <-m.Done():
		t.Fatalf("the released process died: %v", m.ExitErr())
	case <-time.After(300 * time.Millisecond):
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, _ := os.ReadFile(logPath)
		if strings.Contains(string(raw), "detached-output") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("output file holds %q", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
