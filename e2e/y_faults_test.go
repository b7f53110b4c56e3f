// This file's name sorts after series_test.go and x_mutants_test.go on
// purpose: go test runs a package's tests in file order, so on an empty
// cache the kernels these tests need (vanilla, else v2; the boot-panic
// mutant) are built first.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// faultKernel is the built kernel the fault suite boots: vanilla, else v2.
// The suite never builds a kernel; it skips when neither is in the cache.
func faultKernel(t *testing.T) string {
	t.Helper()
	return faultKernelFrom(t, "")
}

// faultKernelFrom is faultKernel for the kcovlab sources in moduleDir
// ("": the working tree's).
func faultKernelFrom(t *testing.T, moduleDir string) string {
	t.Helper()
	for _, k := range []string{"vanilla", "v2"} {
		if ok, err := lab.Built(context.Background(), lab.Options{Kernel: k, ModuleDir: moduleDir}); err == nil && ok {
			return k
		}
	}
	t.Skipf("neither vanilla nor v2 is built in %s (kcovlab run --kernel vanilla builds it): the fault suite only boots cached kernels", lab.DefaultCacheDir())
	return ""
}

// snapshotSources copies the kcovlab sources a run reads (the guest image's
// programs, the config fragments, the series) so that edits to the working
// tree while the suite runs do not change the image every run builds.
func snapshotSources(t *testing.T) string {
	t.Helper()
	mod, err := lab.FindModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	entries, err := os.ReadDir(mod)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", "results", "bin":
			continue // history and outputs: not what builds kcovlab
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(mod, e.Name()), dst).CombinedOutput(); err != nil {
			t.Fatalf("snapshot %s: %v: %s", e.Name(), err, out)
		}
	}
	return dst
}

// kcovlabBinary builds cmd/kcovlab from mod into the test's temp dir.
func kcovlabBinary(t *testing.T, mod string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kcovlab")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kcovlab")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fixedSrc is the sources snapshot every run of the suite is given (--src).
var fixedSrc string

// kcovRun is one kcovlab process the suite watches and hurts.
type kcovRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	results string

	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced when a stderr line arrives
	done  chan struct{}
	code  int
	ended time.Time
}

func startKcov(t *testing.T, bin string, env []string, args ...string) *kcovRun {
	t.Helper()
	r := &kcovRun{t: t, results: filepath.Join(t.TempDir(), "results"), grew: make(chan struct{}), done: make(chan struct{})}
	if len(args) > 0 && args[0] == "run" && fixedSrc != "" {
		args = append(append([]string(nil), args...), "--src", fixedSrc)
	}
	r.cmd = exec.Command(bin, append(args, "--results", r.results)...)
	r.cmd.Env = append(os.Environ(), env...)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("kcovlab[%d]: %s", r.cmd.Process.Pid, sc.Text())
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			close(r.grew)
			r.grew = make(chan struct{})
			r.mu.Unlock()
		}
		r.cmd.Wait()
		r.mu.Lock()
		r.code, r.ended = r.cmd.ProcessState.ExitCode(), time.Now()
		r.mu.Unlock()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// waitLine waits for a stderr line containing substr.
func (r *kcovRun) waitLine(substr string, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		r.mu.Lock()
		lines, grew := r.lines, r.grew
		r.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if strings.Contains(lines[seen], substr) {
				return true
			}
		}
		select {
		case <-grew:
		case <-r.done:
			r.mu.Lock()
			n := len(r.lines)
			r.mu.Unlock()
			if seen >= n {
				return false
			}
		case <-deadline.C:
			return false
		}
	}
}

// wait returns kcovlab's exit code and when it ended; it kills kcovlab
// after timeout.
func (r *kcovRun) wait(timeout time.Duration) (int, time.Time) {
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.t.Errorf("kcovlab still runs after %s: killed", timeout)
		r.cmd.Process.Kill()
		<-r.done
	}
	return r.code, r.ended
}

// message is the last line kcovlab printed about how it ended.
func (r *kcovRun) message() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.lines[i], "kcovlab") {
			return r.lines[i]
		}
	}
	return ""
}

func (r *kcovRun) runDir() string {
	dirs, _ := filepath.Glob(filepath.Join(r.results, "2*"))
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

// qemuPids reads the run dir's qemu.pid (one line per boot), waiting up to
// timeout for the first.
func (r *kcovRun) qemuPids(timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var pids []int
		if dir := r.runDir(); dir != "" {
			raw, _ := os.ReadFile(filepath.Join(dir, "qemu.pid"))
			for _, f := range strings.Fields(string(raw)) {
				if p, err := strconv.Atoi(f); err == nil {
					pids = append(pids, p)
				}
			}
		}
		if len(pids) > 0 || time.Now().After(deadline) {
			return pids
		}
		select {
		case <-r.done:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sshPort reads the SSH forward port from the run dir's qemu.argv.
func (r *kcovRun) sshPort() int {
	raw, _ := os.ReadFile(filepath.Join(r.runDir(), "qemu.argv"))
	m := regexp.MustCompile(`hostfwd=tcp:127\.0\.0\.1:(\d+)-`).FindSubmatch(raw)
	if m == nil {
		return 0
	}
	p, _ := strconv.Atoi(string(m[1]))
	return p
}

// alive reports whether pid still exists and is not a zombie.
func alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// fault is one row of the suite: a real kcovlab run, a fault injected into
// it, and how the run must name it.
type fault struct {
	name     string
	how      string // how the fault is injected, for the README table
	args     []string
	env      []string
	setup    func(t *testing.T, args *[]string, env *[]string) // may skip
	inject   func(t *testing.T, r *kcovRun) bool               // false: could not inject
	code     int
	kind     string // result.json error_kind; "" for a run that passed
	message  string // in kcovlab's last message line
	noRunDir bool   // usage errors stop before a run dir
	check    func(t *testing.T, res *results.Result)
	limit    time.Duration // from injection to exit
}

const scenarioLine = `msg="scenario: running" name=overflow`

// qemuSignal sends sig to the run's QEMU once it runs (after stage, a log
// line, and delay).
func qemuSignal(stage string, delay time.Duration, sig syscall.Signal) func(*testing.T, *kcovRun) bool {
	return func(t *testing.T, r *kcovRun) bool {
		if !r.waitLine(stage, 5*time.Minute) {
			return false
		}
		pids := r.qemuPids(30 * time.Second)
		if len(pids) == 0 {
			return false
		}
		time.Sleep(delay)
		return syscall.Kill(pids[len(pids)-1], sig) == nil
	}
}

// kcovSignal sends sig to kcovlab itself after stage and delay; with
// needQEMU it first waits for QEMU's pid.
func kcovSignal(stage string, delay time.Duration, needQEMU bool, sig syscall.Signal) func(*testing.T, *kcovRun) bool {
	return func(t *testing.T, r *kcovRun) bool {
		if !r.waitLine(stage, 5*time.Minute) {
			return false
		}
		if needQEMU && len(r.qemuPids(30*time.Second)) == 0 {
			return false
		}
		time.Sleep(delay)
		return r.cmd.Process.Signal(sig) == nil
	}
}

// freshImageCache makes a cache whose sources and kernels are the real
// cache's (symlinks) but whose image is not built yet, so a run builds the
// image (about a minute) and never a kernel. dir may be a mount point.
func freshImageCache(t *testing.T, dir string) {
	t.Helper()
	real := lab.DefaultCacheDir()
	for _, sub := range []string{"src", "kernels", "trees"} {
		if err := os.Symlink(filepath.Join(real, sub), filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
}

func faultRows(kernel string) []fault {
	boot := []string{"run", "--kernel", kernel, "--accel", "tcg", "--scenario", "smoke"}
	scen := []string{"run", "--kernel", kernel, "--accel", "tcg", "--scenario", "overflow,smoke"}
	imageCache := func(t *testing.T, args *[]string, _ *[]string) {
		dir := t.TempDir()
		freshImageCache(t, dir)
		*args = append(*args, "--cache", dir)
	}
	notRun := func(t *testing.T, res *results.Result) {
		for _, s := range res.Scenarios {
			if s.Name == "smoke" && !strings.HasPrefix(s.Error, "not run") {
				t.Errorf("smoke after a lost guest: %s %q, want not run", s.Verdict, s.Error)
			}
		}
	}
	var rows []fault
	rows = append(rows,
		fault{name: "qemu SIGKILL at boot", how: "SIGKILL to QEMU's pid (run dir qemu.pid) while it boots",
			args: boot, inject: qemuSignal("starting qemu", 0, syscall.SIGKILL),
			code: 3, kind: "infra", message: "guest lost: QEMU died before the guest answered SSH", limit: 10 * time.Second},
		fault{name: "qemu SIGKILL mid-scenario", how: "SIGKILL to QEMU 1 s into overflow",
			args: scen, inject: qemuSignal(scenarioLine, time.Second, syscall.SIGKILL),
			code: 3, kind: "infra", message: "guest lost: QEMU died with no crash on the console", check: notRun, limit: 15 * time.Second},
		fault{name: "hung guest (qemu SIGSTOP) mid-scenario", how: "SIGSTOP to QEMU 1 s into overflow, --scenario-timeout 20s",
			args: append(scen, "--scenario-timeout", "20s"), inject: qemuSignal(scenarioLine, time.Second, syscall.SIGSTOP),
			code: 3, kind: "infra", message: "guest lost: ", check: notRun, limit: 35 * time.Second},
		fault{name: "ssh connection cut", how: "ss -K on the host end of the SSH connection 1 s into overflow",
			args: scen, inject: func(t *testing.T, r *kcovRun) bool {
				if !r.waitLine(scenarioLine, 5*time.Minute) {
					return false
				}
				time.Sleep(time.Second)
				port := r.sshPort()
				out, err := exec.Command("ss", "-K", "dst", "127.0.0.1", "dport", "=", strconv.Itoa(port)).CombinedOutput()
				return port != 0 && err == nil && strings.Contains(string(out), strconv.Itoa(port))
			},
			code: 3, kind: "infra", message: "guest lost: the SSH connection was lost during overflow", check: notRun, limit: 15 * time.Second},
		fault{name: "guest program hangs", how: "irqnoise given 1 ms (--scenario-timeout 1ms): it cannot finish, so to the lab its program hangs",
			args: []string{"run", "--kernel", kernel, "--accel", "tcg", "--scenario", "irqnoise,smoke", "--scenario-timeout", "1ms"},
			code: 3, kind: "infra", message: "guest lost: ", check: notRun, limit: 90 * time.Second},
		fault{name: "kernel panics at boot", how: "v2 with the boot-panic mutant (kcov_init() panics; built by the mutation suite)",
			args: []string{"run", "--kernel", "v2", "--accel", "tcg", "--scenario", "smoke"},
			setup: func(t *testing.T, args *[]string, _ *[]string) {
				mutant := filepath.Join(fixedSrc, "patches", "mutants", "v2", "11-boot-panic.patch")
				o := lab.Options{Kernel: "v2", Mutant: mutant}
				if ok, _ := lab.Built(context.Background(), o); !ok {
					t.Skip("the boot-panic mutant is not built (make mutants, or the e2e mutation suite, builds it)")
				}
				*args = append(*args, "--mutant", mutant)
			},
			code: 3, kind: "boot", message: "boot failed", limit: 90 * time.Second},
	)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
		code := 128 + int(sig)
		rows = append(rows,
			fault{name: name + " during image", how: name + " to kcovlab 2 s into an image build (fresh image cache)",
				args: boot, setup: imageCache, inject: kcovSignal("image: building", 2*time.Second, false, sig),
				code: code, kind: "cancelled", message: "cancelled during image", limit: 10 * time.Second},
			fault{name: name + " during boot", how: name + " to kcovlab once QEMU's pid exists",
				args: boot, inject: kcovSignal("starting qemu", 0, true, sig),
				code: code, kind: "cancelled", message: "cancelled during boot", limit: 10 * time.Second},
			fault{name: name + " during scenario", how: name + " to kcovlab 1 s into overflow",
				args: scen, inject: kcovSignal(scenarioLine, time.Second, true, sig),
				code: code, kind: "cancelled", message: "cancelled during scenarios", limit: 10 * time.Second,
				check: func(t *testing.T, res *results.Result) {
					for _, s := range res.Scenarios {
						if s.Verdict == results.Error && s.ErrorKind != "cancelled" {
							t.Errorf("scenario %s: %s %q: a false verdict after a cancellation", s.Name, s.ErrorKind, s.Error)
						}
					}
				}},
		)
	}
	rows = append(rows,
		fault{name: "hostfwd port taken", how: "another process listens on the port (" + lab.FaultPortEnv + ", test only)",
			args: boot, setup: func(t *testing.T, _ *[]string, env *[]string) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				*env = append(*env, fmt.Sprintf("%s=%d", lab.FaultPortEnv, ln.Addr().(*net.TCPAddr).Port))
			},
			inject: func(t *testing.T, r *kcovRun) bool { return r.waitLine("ssh forward port taken", 5*time.Minute) },
			code:   0, kind: "", message: "", limit: 5 * time.Minute},
		fault{name: "cache on a full filesystem", how: "--cache on a 4 MiB tmpfs the test mounts (sources and kernels linked in)",
			args: boot, setup: func(t *testing.T, args *[]string, _ *[]string) {
				dir := t.TempDir()
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
					t.Skipf("cannot mount a tmpfs: %v %s", err, out)
				}
				t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
				freshImageCache(t, dir)
				*args = append(*args, "--cache", dir)
			},
			inject: func(*testing.T, *kcovRun) bool { return true },
			code:   3, kind: "infra", message: "disk full: ", limit: 5 * time.Minute},
	)
	for _, bad := range []struct{ flag, value, msg string }{
		{"--cpus", "0", "--cpus 0"}, {"--cpus", "-1", "--cpus -1"}, {"--memory", "1", "--memory 1"},
		{"--make-jobs", "0", "--make-jobs 0"}, {"--boot-timeout", "-1s", "--boot-timeout -1s"},
		{"--scenario-timeout", "0", "--scenario-timeout 0s"}, {"--scenario-timeout", "-1s", "--scenario-timeout -1s"},
		{"--accel", "xen", "--accel"}, {"--scenario", "nosuch", "nosuch"}, {"--kernel", "nosuch", "nosuch"},
		{"--kernel-src", "/etc", "not a Linux kernel source tree"},
	} {
		rows = append(rows, fault{name: "bad flag " + bad.flag + " " + bad.value, how: bad.flag + " " + bad.value,
			args: []string{"run", bad.flag, bad.value}, code: 2, message: bad.msg, noRunDir: true, limit: 10 * time.Second})
	}
	rows = append(rows,
		fault{name: "HOME unset", how: "HOME, XDG_CACHE_HOME and KCOVLAB_CACHE empty",
			args: []string{"run"}, env: []string{"HOME=", "XDG_CACHE_HOME=", "KCOVLAB_CACHE="},
			code: 2, message: "HOME is unset", noRunDir: true, limit: 10 * time.Second},
		fault{name: "cache owned by another user", how: "--cache DIR chowned to nobody",
			args: []string{"run"}, setup: func(t *testing.T, args *[]string, _ *[]string) {
				if os.Geteuid() != 0 {
					t.Skip("needs root to chown")
				}
				foreign := t.TempDir()
				os.Chown(foreign, 65534, 65534)
				*args = append(*args, "--cache", foreign)
			},
			code: 2, message: "owned by uid 65534", noRunDir: true, limit: 10 * time.Second},
	)
	return rows
}

// TestFaults injects each fault into a real run of kcovlab on a cached
// kernel and checks it is named: exit code, result.json error_kind, the
// message, no QEMU left (by the pids the run recorded), the run dir kept,
// and the cache still serving the next run. It never builds a kernel:
// faults during a kernel build are not in this suite.
func TestFaults(t *testing.T) {
	needLab(t)
	src := snapshotSources(t)
	kernel := faultKernelFrom(t, src)
	bin := kcovlabBinary(t, src)
	fixedSrc = src
	var injected, named, orphans, corruptions int
	type timing struct {
		f      fault
		detect time.Duration
		ok     bool
	}
	var table []timing
	for _, f := range faultRows(kernel) {
		ok := t.Run(f.name, func(t *testing.T) {
			args, env := append([]string(nil), f.args...), append([]string(nil), f.env...)
			if f.setup != nil {
				f.setup(t, &args, &env)
			}
			injected++
			r := startKcov(t, bin, env, args...)
			at := time.Now()
			if f.inject != nil {
				if !f.inject(t, r) {
					t.Fatalf("could not inject the fault (did the run reach the stage?)")
				}
				at = time.Now()
			}
			code, ended := r.wait(f.limit + time.Minute)
			detect := ended.Sub(at)
			table = append(table, timing{f, detect, false})
			if code != f.code {
				t.Errorf("exit %d, want %d", code, f.code)
			}
			if !strings.Contains(r.message(), f.message) {
				t.Errorf("message %q, want it to contain %q", r.message(), f.message)
			}
			if detect > f.limit {
				t.Errorf("detected after %s, want within %s", detect.Round(time.Second), f.limit)
			}
			for _, pid := range r.qemuPids(0) {
				if alive(pid) {
					orphans++
					t.Errorf("QEMU pid %d outlived the run", pid)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			dir := r.runDir()
			if f.noRunDir {
				if dir != "" {
					t.Errorf("a usage error made a run dir %s", dir)
				}
			} else {
				raw, err := os.ReadFile(filepath.Join(dir, "result.json"))
				if err != nil {
					t.Fatalf("run dir not kept: %v", err)
				}
				var res results.Result
				if err := json.Unmarshal(raw, &res); err != nil {
					t.Fatal(err)
				}
				if res.ErrorKind != f.kind {
					t.Errorf("error_kind %q, want %q (error %q)", res.ErrorKind, f.kind, res.Error)
				}
				if f.check != nil {
					f.check(t, &res)
				}
			}
			if !t.Failed() {
				named++
				table[len(table)-1].ok = true
			}
		})
		_ = ok
	}
	t.Run("cache still serves", func(t *testing.T) {
		r := startKcov(t, bin, nil, "run", "--kernel", kernel, "--accel", "tcg", "--scenario", "smoke")
		if code, _ := r.wait(5 * time.Minute); code != 0 {
			corruptions++
			t.Fatalf("a normal run after the faults exited %d", code)
		}
		raw, _ := os.ReadFile(filepath.Join(r.runDir(), "result.json"))
		var res results.Result
		json.Unmarshal(raw, &res)
		if !res.Kernel.Cached || !res.Image.Cached {
			corruptions++
			t.Errorf("the next run rebuilt: kernel cached %v, image cached %v", res.Kernel.Cached, res.Image.Cached)
		}
	})
	t.Run("two runs at once", func(t *testing.T) {
		a := startKcov(t, bin, nil, "run", "--kernel", kernel, "--accel", "tcg", "--scenario", "smoke")
		b := startKcov(t, bin, nil, "run", "--kernel", kernel, "--accel", "tcg", "--scenario", "smoke")
		injected++
		ca, _ := a.wait(5 * time.Minute)
		cb, _ := b.wait(5 * time.Minute)
		if ca != 0 || cb != 0 {
			corruptions++
			t.Errorf("two runs at once on one cache exited %d and %d", ca, cb)
		} else {
			named++
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "| fault | how injected | named as | exit | detected in |\n|---|---|---|---|---|\n")
	for _, x := range table {
		kind := x.f.kind
		if kind == "" && x.f.code == 2 {
			kind = "usage"
		}
		if kind == "" {
			kind = "(recovered: run passes)"
		}
		mark := ""
		if !x.ok {
			mark = " (FAILED)"
		}
		fmt.Fprintf(&b, "| %s%s | %s | %s: %s | %d | %.1f s |\n", x.f.name, mark, x.f.how, kind, x.f.message, x.f.code, x.detect.Seconds())
	}
	t.Logf("fault table:\n%s", b.String())
	fmt.Printf("faults: %d injected, %d named correctly, %d orphans, %d cache corruptions\n", injected, named, orphans, corruptions)
}
