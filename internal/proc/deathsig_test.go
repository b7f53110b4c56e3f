package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a kcovlab that starts a command and
// waits forever, for TestCommandDiesWithParent to SIGKILL.
func TestMain(m *testing.M) {
	if pidfile := os.Getenv("PROC_TEST_HELPER"); pidfile != "" {
		cmd := Command(context.Background(), []string{"sh", "-c", "echo $$ > " + pidfile + "; exec sleep 100"})
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		cmd.Wait()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A command outlives no SIGKILLed kcovlab: Pdeathsig ends it.
func TestCommandDiesWithParent(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "PROC_TEST_HELPER="+pidfile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		raw, _ := os.ReadFile(pidfile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		helper.Process.Kill()
		t.Fatal("the helper's command did not start")
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	for time.Now().Before(deadline) {
		// The command was reparented (to init or a subreaper), which reaps it.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(raw), ") Z ") {
			return // dead, waiting for its new parent to reap it
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("command %d outlived its SIGKILLed parent", pid)
}
