package e2e

// The daily loop end to end on cached kernels only (nothing is built):
// run --exec with the kcov.rst example program and its unique-mode
// variant, --kernel-image, --keep, --gdb, and kcovlab shell on a pty.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/testutil"
	"github.com/kcovlab/kcovlab/lab"
)

// cachedKernel returns the named kernel from the cache; the test skips
// when it is not built (these tests never build one).
func cachedKernel(t *testing.T, name string) *kbuild.Kernel {
	t.Helper()
	needLab(t)
	ctx := context.Background()
	opts := labOptions(t)
	opts.Kernel = name
	if ok, err := lab.Built(ctx, opts); err != nil || !ok {
		t.Skipf("kernel %s is not built (%v): build it with kcovlab run --kernel %s", name, err, name)
	}
	k, _, err := lab.BuildKernel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kcovDoc returns Documentation/dev-tools/kcov.rst of the base source: the
// unpacked tree in the cache, else the Debian tarball.
func kcovDoc(t *testing.T) string {
	t.Helper()
	const rel = "Documentation/dev-tools/kcov.rst"
	cache := lab.DefaultCacheDir()
	if m, _ := filepath.Glob(filepath.Join(cache, "src", "*", "linux-source-6.12", rel)); len(m) > 0 {
		raw, err := os.ReadFile(m[0])
		if err == nil {
			return string(raw)
		}
	}
	out, err := exec.Command("tar", "-xOf", kbuild.DefaultTarball, "linux-source-6.12/"+rel).Output()
	if err != nil {
		t.Fatalf("kcov.rst from %s: %v", kbuild.DefaultTarball, err)
	}
	return string(out)
}

// codeBlock returns the first ".. code-block:: c" after marker in rst
// (its indented lines); for a patch, lines start with "+".
func codeBlock(t *testing.T, rst, marker, prefix string) string {
	t.Helper()
	i := strings.Index(rst, marker)
	if i < 0 {
		t.Fatalf("no %q in the doc", marker)
	}
	j := strings.Index(rst[i:], prefix+".. code-block:: c")
	if j < 0 {
		t.Fatalf("no code block after %q", marker)
	}
	var b strings.Builder
	lines := strings.Split(rst[i+j:], "\n")[1:]
	for _, l := range lines {
		l, ok := strings.CutPrefix(l, prefix)
		if !ok {
			break
		}
		if l != "" && l[0] != ' ' && l[0] != '\t' {
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// replace replaces old in s, failing the test when s lacks it: a doc
// change must not silently make another program.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the example program lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// kcovExamples compiles, statically with gcc, the coverage example of
// kcov.rst and its unique-mode variant as the series' docs (patch 08 of
// v2) describe it: KCOV_UNIQUE_ENABLE with a BITMAP_SIZE bitmap instead of
// KCOV_ENABLE, the trace's count at cover[BITMAP_SIZE] and the PCs after it.
func kcovExamples(t *testing.T) (trace, unique string) {
	t.Helper()
	testutil.NeedCommands(t, "gcc")
	base := codeBlock(t, kcovDoc(t), "\nCoverage collection\n", "")
	patch, err := os.ReadFile(filepath.Join("..", "patches", "v2", "0008-kcov-add-ioctl-KCOV_UNIQUE_ENABLE.patch"))
	if err != nil {
		t.Fatal(err)
	}
	frag := codeBlock(t, string(patch), "+Unique coverage collection", "+")
	fragLine := func(prefix string) string {
		for _, l := range strings.Split(frag, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return l
			}
		}
		t.Fatalf("the series' example lacks %q:\n%s", prefix, frag)
		return ""
	}
	u := replace(t, base, "#define KCOV_TRACE_CMP 1\n", "#define KCOV_TRACE_CMP 1\n"+
		fragLine("#define KCOV_UNIQUE_ENABLE")+"\n"+fragLine("#define BITMAP_SIZE")+"\n")
	u = replace(t, u, "if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC))", strings.TrimSpace(fragLine("if (ioctl(fd, KCOV_UNIQUE_ENABLE")))
	u = replace(t, u, "__atomic_store_n(&cover[0], 0, __ATOMIC_RELAXED);",
		strings.TrimSpace(fragLine("__atomic_store_n(&cover[BITMAP_SIZE]"))+"\n"+fragLine("memset(cover, 0"))
	u = replace(t, u, "n = __atomic_load_n(&cover[0], __ATOMIC_RELAXED);", strings.TrimSpace(fragLine("n = __atomic_load_n(&cover[BITMAP_SIZE]")))
	u = replace(t, u, "cover[i + 1]", "cover[BITMAP_SIZE + i + 1]")
	dir := t.TempDir()
	build := func(name, src string) string {
		c := filepath.Join(dir, name+".c")
		os.WriteFile(c, []byte(src), 0o644)
		bin := filepath.Join(dir, name)
		if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, c).CombinedOutput(); err != nil {
			t.Fatalf("gcc -static %s: %v\n%s\n%s", name, err, out, src)
		}
		return bin
	}
	return build("kcov-example", base), build("kcov-unique-example", u)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func scenarioNamed(t *testing.T, r *results.Result, name string) results.Scenario {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s in %+v", name, r.Scenarios)
	return results.Scenario{}
}

// checkExecPCs asserts an --exec step of a kcov example passed and its PCs
// were all symbolized, read(-1)'s path among them.
func checkExecPCs(t *testing.T, dir string, s results.Scenario, withFiles bool) {
	t.Helper()
	if s.Verdict != results.Pass || s.ExitCode != 0 {
		t.Fatalf("%s: verdict %s exit %d: %s", s.Name, s.Verdict, s.ExitCode, s.Error)
	}
	if s.Metrics["pcs"] < 3 || s.Metrics["pcs_symbolized"] != s.Metrics["pcs"] {
		t.Errorf("%s: pcs %v, symbolized %v", s.Name, s.Metrics["pcs"], s.Metrics["pcs_symbolized"])
	}
	pcs := readFile(t, filepath.Join(dir, "scenarios", s.Name+".pcs"))
	if !strings.Contains(pcs, "ksys_read+0x") || withFiles && !strings.Contains(pcs, "(fs/read_write.c)") {
		t.Errorf("%s.pcs does not name read's path:\n%s", s.Name, pcs)
	}
	if out := readFile(t, filepath.Join(dir, "scenarios", s.Name+".stdout")); !strings.HasPrefix(out, "0xffffffff8") {
		t.Errorf("%s.stdout is not the program's PCs: %q", s.Name, out)
	}
}

// TestLoopExec copies the kcov.rst example and its unique-mode variant
// into a v2 guest and runs them as steps: output, exit code and time are
// recorded and every PC symbolized; in unique mode no PC repeats. Red: the
// unique variant on vanilla (KCOV_UNIQUE_ENABLE is ENOTTY, the program
// exits 1) fails the step and the run.
func TestLoopExec(t *testing.T) {
	cachedKernel(t, "v2")
	traceBin, uniqueBin := kcovExamples(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	opts := labOptions(t)
	opts.Kernel, opts.Scenarios = "v2", []string{"smoke"}
	opts.Puts = []string{traceBin, uniqueBin + ":/usr/local/bin/kcov-unique"}
	opts.Execs = []string{"kcov-example", "/usr/local/bin/kcov-unique"}
	r, err := lab.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	dir := filepath.Join(opts.ResultsDir, r.RunID)
	e1, e2 := scenarioNamed(t, r, "exec1"), scenarioNamed(t, r, "exec2")
	checkExecPCs(t, dir, e1, true)
	checkExecPCs(t, dir, e2, true)
	if e2.Metrics["unique_pcs"] != e2.Metrics["pcs"] {
		t.Errorf("unique mode recorded a PC twice: %v", e2.Metrics)
	}
	if r.Loop == nil || len(r.Loop.Puts) != 2 || r.Loop.Puts[1] != uniqueBin+":/usr/local/bin/kcov-unique" || len(r.Loop.Execs) != 2 {
		t.Errorf("result.json loop = %+v", r.Loop)
	}
	back, err := results.Read(dir)
	if err != nil || len(back.Scenarios) != 3 || back.Scenarios[2].Seconds <= 0 {
		t.Errorf("result.json: %v %+v", err, back)
	}
	t.Logf("MEASURED trace pcs=%v unique pcs=%v exec1_s=%.2f exec2_s=%.2f", e1.Metrics["pcs"], e2.Metrics["pcs"], e1.Seconds, e2.Seconds)

	cachedKernel(t, "vanilla")
	opts = labOptions(t)
	opts.Kernel, opts.Scenarios = "vanilla", []string{"smoke"}
	opts.Puts, opts.Execs = []string{uniqueBin}, []string{"kcov-unique-example"}
	r, err = lab.Run(ctx, opts)
	if !errors.Is(err, lab.ErrScenarioFailed) {
		t.Fatalf("the unique example on vanilla: run error %v, want ErrScenarioFailed", err)
	}
	bad := scenarioNamed(t, r, "exec")
	if bad.Verdict != results.Fail || bad.ExitCode != 1 || !strings.Contains(bad.Error, "exited 1: ioctl: Inappropriate ioctl for device") {
		t.Errorf("unique example on vanilla: %s exit %d %q", bad.Verdict, bad.ExitCode, bad.Error)
	}
}

// TestLoopKernelImage boots the cached v2 bzImage and vmlinux by path from
// a directory with no .config: the kernel class comes from the guest's
// KCOV_UNIQUE_ENABLE, the unique scenario passes on it, the selftest
// scenario skips with its reason, and the example's PCs are symbolized
// from that vmlinux.
func TestLoopKernelImage(t *testing.T) {
	k := cachedKernel(t, "v2")
	traceBin, _ := kcovExamples(t)
	dir := t.TempDir()
	for _, f := range []string{k.BzImage, k.Vmlinux} {
		if err := os.Symlink(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	opts := labOptions(t)
	opts.KernelImage, opts.Vmlinux = filepath.Join(dir, "bzImage"), filepath.Join(dir, "vmlinux")
	opts.Scenarios = []string{"smoke", "unique", "kselftest"}
	opts.Puts, opts.Execs = []string{traceBin}, []string{"kcov-example"}
	opts.Append = []string{"loglevel=7"}
	r, err := lab.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.Kernel.Name != "image" || r.Loop == nil || r.Loop.KernelClass != "unique" || r.Loop.Config != "" {
		t.Errorf("kernel %+v loop %+v: want image, class unique from the guest", r.Kernel, r.Loop)
	}
	if u := scenarioNamed(t, r, "unique"); u.Verdict != results.Pass {
		t.Errorf("unique on the image: %s %s", u.Verdict, u.Error)
	}
	if ks := scenarioNamed(t, r, "kselftest"); ks.Verdict != results.Skip || !strings.Contains(ks.Error, "no kcov_test") {
		t.Errorf("kselftest on an image without it: %s %q", ks.Verdict, ks.Error)
	}
	// No funcs.tsv beside a user's vmlinux: functions, without files.
	checkExecPCs(t, filepath.Join(opts.ResultsDir, r.RunID), scenarioNamed(t, r, "exec"), false)
	if argv := strings.Join(r.QEMUArgv, " "); !strings.Contains(argv, " loglevel=7") || !strings.Contains(argv, "-kernel "+opts.KernelImage) {
		t.Errorf("qemu argv lacks the image or --append: %s", argv)
	}
}

// TestLoopKeep leaves the guest up, reaches it through the recorded
// command's path (kcovlab shell --attach), stops it and checks that no
// QEMU is left. Red: once stopped, attaching fails.
func TestLoopKeep(t *testing.T) {
	cachedKernel(t, "v2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := labOptions(t)
	var out bytes.Buffer
	opts.Kernel, opts.Scenarios, opts.Keep, opts.Out = "v2", []string{"smoke"}, true, &out
	r, err := lab.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	dir := filepath.Join(opts.ResultsDir, r.RunID)
	t.Cleanup(func() { lab.Stop(dir) })
	if r.Loop == nil || r.Loop.Kept == nil {
		t.Fatalf("no kept guest recorded: %+v", r.Loop)
	}
	pid := r.Loop.Kept.Pid
	if !strings.Contains(out.String(), "kcovlab shell --attach "+dir) || !strings.Contains(out.String(), "kcovlab stop "+dir) ||
		!strings.Contains(out.String(), fmt.Sprintf("-p %d ", r.Loop.Kept.SSHPort)) {
		t.Errorf("the run did not print how to connect and stop:\n%s", out.String())
	}
	if !alive(pid) || len(qemuFor(t, dir)) != 1 {
		t.Fatalf("the kept QEMU (pid %d) is not running: %v", pid, qemuFor(t, dir))
	}
	var sh bytes.Buffer
	// gosh's line mode ends with status 0 whatever exit says.
	code, err := lab.Attach(ctx, dir, lab.Terminal{Stdin: strings.NewReader("echo kept-$((20+22)); exit\n"),
		Stdout: &sh, Stderr: io.Discard, Term: "xterm", Rows: 24, Cols: 80})
	if err != nil || code != 0 || !strings.Contains(sh.String(), "kept-42") {
		t.Errorf("attach: code %d, err %v, output %q", code, err, sh.String())
	}
	if !alive(pid) {
		t.Error("leaving an attached shell stopped the kept guest")
	}
	if err := lab.Stop(dir); err != nil {
		t.Fatal(err)
	}
	if alive(pid) || len(qemuFor(t, dir)) != 0 {
		t.Errorf("QEMU left after stop: pid %d alive %v, %v", pid, alive(pid), qemuFor(t, dir))
	}
	if _, err := lab.Attach(ctx, dir, lab.Terminal{Stdin: strings.NewReader("exit\n"), Stdout: io.Discard, Stderr: io.Discard}); err == nil {
		t.Error("attach after stop: no error")
	}
}

// gdbPacket sends one gdb remote-protocol packet and returns the reply's
// payload, checking acks and the reply's checksum.
func gdbPacket(rw *bufio.ReadWriter, payload string) (string, error) {
	var sum byte
	for i := 0; i < len(payload); i++ {
		sum += payload[i]
	}
	fmt.Fprintf(rw, "$%s#%02x", payload, sum)
	if err := rw.Flush(); err != nil {
		return "", err
	}
	for { // acks ('+') may come before the reply packet
		b, err := rw.ReadByte()
		if err != nil {
			return "", err
		}
		if b == '$' {
			break
		}
		if b != '+' {
			return "", fmt.Errorf("not a gdb reply to %q: %q", payload, b)
		}
	}
	body, err := rw.ReadString('#')
	if err != nil {
		return "", err
	}
	body = strings.TrimSuffix(body, "#")
	cs := make([]byte, 2)
	if _, err := io.ReadFull(rw, cs); err != nil {
		return "", err
	}
	sum = 0
	for i := 0; i < len(body); i++ {
		sum += body[i]
	}
	if fmt.Sprintf("%02x", sum) != string(cs) {
		return "", fmt.Errorf("reply %q: checksum %s, want %02x", body, cs, sum)
	}
	rw.WriteByte('+')
	return body, rw.Flush()
}

// stopReply is a stop reply packet: T or S and the signal in two hex
// digits (QEMU stops the guest for the debugger: SIGINT or SIGTRAP).
var stopReply = regexp.MustCompile(`^[TS][0-9a-f]{2}`)

func gdbHandshake(port int) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	stop, err := gdbPacket(rw, "?")
	if err != nil {
		return "", err
	}
	if _, err := gdbPacket(rw, "D"); err != nil {
		return stop, err
	}
	return stop, nil
}

// TestLoopGDB starts the gdb stub (the guest kept up so it can be
// reached), speaks the remote protocol to it (stop reason, detach), and
// when gdb is installed runs the printed command line in batch mode and
// reads the stopped PC as a vmlinux symbol. Red: the handshake against
// the SSH port fails.
func TestLoopGDB(t *testing.T) {
	k := cachedKernel(t, "v2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := labOptions(t)
	var out bytes.Buffer
	opts.Kernel, opts.Scenarios, opts.GDB, opts.Keep, opts.Out = "v2", []string{"smoke"}, true, true, &out
	r, err := lab.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	dir := filepath.Join(opts.ResultsDir, r.RunID)
	defer lab.Stop(dir)
	port := r.Loop.GDBPort
	want := fmt.Sprintf("gdb: gdb %s -ex 'target remote 127.0.0.1:%d'", k.Vmlinux, port)
	if port == 0 || !strings.Contains(out.String(), want) || !strings.Contains(strings.Join(r.QEMUArgv, " "), fmt.Sprintf("-gdb tcp:127.0.0.1:%d", port)) {
		t.Fatalf("gdb port %d; printed %q; argv %q", port, out.String(), r.QEMUArgv)
	}
	stop, err := gdbHandshake(port)
	if err != nil || !stopReply.MatchString(stop) {
		t.Errorf("gdb stub handshake: stop reply %q, %v", stop, err)
	}
	if _, err := gdbHandshake(r.Loop.Kept.SSHPort); err == nil {
		t.Error("the handshake passed against the SSH port: it cannot tell a stub")
	}
	if _, err := exec.LookPath("gdb"); err == nil {
		gout, err := exec.CommandContext(ctx, "gdb", "-batch", "-nx", k.Vmlinux,
			"-ex", fmt.Sprintf("target remote 127.0.0.1:%d", port), "-ex", "x/i $pc", "-ex", "detach").CombinedOutput()
		if err != nil || !strings.Contains(string(gout), "<") {
			t.Errorf("gdb: %v\n%s", err, gout)
		}
		t.Logf("gdb says:\n%s", gout)
	}
	if err := lab.Stop(dir); err != nil {
		t.Error(err)
	}
}

// TestLoopShell runs `kcovlab shell` on a pty, as a person would: it
// boots, opens gosh over SSH with a pty, runs what is typed, exits with
// the shell's status, and leaves no QEMU behind.
func TestLoopShell(t *testing.T) {
	cachedKernel(t, "v2")
	bin := filepath.Join(t.TempDir(), "kcovlab")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kcovlab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	results := filepath.Join(t.TempDir(), "results")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "shell", "--kernel", "v2", "--results", results, "--src", "..")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		mu   sync.Mutex
		seen bytes.Buffer
	)
	opened, printed := make(chan struct{}), make(chan struct{})
	go func() {
		r := bufio.NewReader(f)
		var once1, once2 sync.Once
		for {
			b, err := r.ReadByte()
			if err != nil {
				return
			}
			mu.Lock()
			seen.WriteByte(b)
			s := seen.String()
			mu.Unlock()
			if strings.Contains(s, "shell: open") {
				once1.Do(func() { close(opened) })
			}
			if strings.Contains(s, "hi-42") {
				once2.Do(func() { close(printed) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	terminal := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen.String()
	}
	select {
	case <-opened:
	case err := <-exited:
		t.Fatalf("kcovlab shell ended (%v) before the shell opened:\n%s", err, terminal())
	case <-ctx.Done():
		t.Fatalf("the shell never opened:\n%s", terminal())
	}
	fmt.Fprint(f, "echo hi-$((40+2)); exit\r")
	// The shell runs the line and exits at once, so kcovlab may exit
	// before the reader above has read what it printed: after an exit,
	// the output already written still gets a moment to be read.
	var exitErr error
	exitedEarly := false
	select {
	case <-printed:
		exitErr = <-exited
	case exitErr = <-exited:
		exitedEarly = true
	case <-time.After(2 * time.Minute):
		t.Fatalf("no echo from the guest shell:\n%s", terminal())
	}
	if exitedEarly {
		select {
		case <-printed:
		case <-time.After(5 * time.Second):
			t.Fatalf("kcovlab shell ended (%v) with no echo from the guest shell:\n%s", exitErr, terminal())
		}
	}
	if err := exitErr; err != nil {
		t.Errorf("kcovlab shell exit: %v, want the shell's 0; terminal:\n%s", err, terminal())
	}
	if left := runningQEMU(t, results); len(left) > 0 {
		t.Errorf("QEMU left behind after the shell: %v", left)
	}
}
