package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/internal/vm"
)

// The daily loop: a kernel developer's own build booted as it is
// (KernelImage, Vmlinux), extra kernel command-line words and QEMU
// arguments, their own static programs copied in and run as steps (Puts,
// Execs), the guest kept up (Keep) or opened as a shell (Shell), and QEMU's
// gdb stub (GDB).

// checkLoop validates the daily-loop options before anything is built or
// booted; each problem names the flag and the value.
func (o *Options) checkLoop() error {
	if o.KernelImage == "" {
		if o.Vmlinux != "" {
			return fmt.Errorf("--vmlinux %s: only with --kernel-image (a built kernel's vmlinux is found by kcovlab)", o.Vmlinux)
		}
	} else {
		for flag, set := range map[string]bool{"--kernel": o.Kernel != "", "--series": o.Series != "",
			"--kernel-src": o.KernelSrc != "", "--mutant": o.Mutant != "", "--exclude": len(o.Exclude) > 0,
			"--fragments": len(o.Fragments) > 0} {
			if set {
				return fmt.Errorf("--kernel-image %s with %s: boot your own build or let kcovlab build one, not both", o.KernelImage, flag)
			}
		}
		if err := CheckBzImage(o.KernelImage); err != nil {
			return err
		}
		if o.Vmlinux != "" {
			if err := checkVmlinux(o.Vmlinux); err != nil {
				return err
			}
		}
	}
	for _, w := range o.Append {
		if w == "" || strings.ContainsAny(w, " \t\n\"'") {
			return fmt.Errorf("--append %q: want kernel parameters without quotes, e.g. --append 'nokaslr loglevel=8'", w)
		}
	}
	for _, a := range o.QEMUArgs {
		if a == "" {
			return fmt.Errorf("--qemu-arg \"\": want one QEMU argument per flag, e.g. --qemu-arg -device --qemu-arg pvpanic")
		}
	}
	for _, p := range o.Puts {
		if _, _, err := ParsePut(p); err != nil {
			return err
		}
	}
	for _, e := range o.Execs {
		if strings.TrimSpace(e) == "" {
			return fmt.Errorf("--exec %q: want a command line, e.g. --exec '/bin/kcov-example'", e)
		}
	}
	return nil
}

// ParsePut reads a --put value, FILE[:GUESTPATH]: a regular host file and
// the absolute guest path it goes to [/bin/BASENAME, on the guest's PATH].
func ParsePut(v string) (host, guest string, err error) {
	host, guest, _ = strings.Cut(v, ":")
	fi, serr := os.Stat(host)
	switch {
	case host == "":
		return "", "", fmt.Errorf("--put %q: want FILE[:GUESTPATH]", v)
	case serr != nil:
		return "", "", fmt.Errorf("--put %s: %w", v, serr)
	case !fi.Mode().IsRegular():
		return "", "", fmt.Errorf("--put %s: %s is not a regular file", v, host)
	}
	if guest == "" {
		guest = "/bin/" + filepath.Base(host)
	}
	if !filepath.IsAbs(guest) || strings.ContainsAny(guest, " \t\n\"'\\") || strings.HasSuffix(guest, "/") {
		return "", "", fmt.Errorf("--put %s: guest path %q: want an absolute file path without spaces or quotes, e.g. %s:/bin/prog", v, guest, host)
	}
	return host, guest, nil
}

// CheckBzImage refuses a file that is not an x86 bzImage (the boot
// sector's 0x55AA and the setup header's "HdrS" magic), naming the file.
func CheckBzImage(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--kernel-image %s: %w", path, err)
	}
	defer f.Close()
	hdr := make([]byte, 0x206)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return fmt.Errorf("--kernel-image %s: too short for a bzImage: pass arch/x86/boot/bzImage of your build", path)
	}
	if hdr[0x1fe] != 0x55 || hdr[0x1ff] != 0xaa || string(hdr[0x202:0x206]) != "HdrS" {
		return fmt.Errorf("--kernel-image %s: not a bzImage (no x86 boot header): pass arch/x86/boot/bzImage of your build, not vmlinux", path)
	}
	return nil
}

func checkVmlinux(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("--vmlinux %s: not an ELF kernel image: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("--vmlinux %s: an ELF for %s, want x86-64", path, f.Machine)
	}
	return nil
}

// imageKernel takes the kernel from --kernel-image instead of building
// one. Its .config, when found beside the files (a kernel tree's .config,
// the cache's config), tells the kernel class; otherwise the guest is
// asked (probeClass).
func (r *run) imageKernel() error {
	img, _ := filepath.Abs(r.opts.KernelImage)
	raw, err := os.ReadFile(img)
	if err != nil {
		return &UsageError{fmt.Sprintf("--kernel-image %s: %v", img, err)}
	}
	sum := sha256.Sum256(raw)
	k := &kbuild.Kernel{Dir: filepath.Dir(img), BzImage: img, Cached: true}
	if r.opts.Vmlinux != "" {
		k.Vmlinux, _ = filepath.Abs(r.opts.Vmlinux)
		if ff := filepath.Join(filepath.Dir(k.Vmlinux), kbuild.FuncFilesName); fileExists(ff) {
			k.FuncFiles = ff
		}
	}
	for _, c := range configCandidates(img, k.Vmlinux) {
		if fileExists(c) {
			k.Config = c
			break
		}
	}
	if k.Config != "" {
		setup, err := vm.LookupSetup(r.opts.Machine)
		if err != nil {
			return &UsageError{err.Error()}
		}
		cfg, err := kconfig.ReadConfig(k.Config)
		if err != nil {
			return &UsageError{fmt.Sprintf("--kernel-image %s: its config %s: %v", img, k.Config, err)}
		}
		if err := kernelFitsMachine(cfg, setup); err != nil {
			return &UsageError{fmt.Sprintf("--kernel-image %s (config %s): %v", img, k.Config, err)}
		}
	}
	r.kernel = k
	r.res.Kernel = results.Kernel{Name: "image", Key: hex.EncodeToString(sum[:])[:16],
		Source: "image:" + img, SourceID: bzImageVersion(raw), Cached: true}
	r.loop().KernelImage, r.loop().Vmlinux, r.loop().Config = img, k.Vmlinux, k.Config
	r.log.Info("kernel: booting your image", "bzimage", img, "vmlinux", k.Vmlinux, "config", k.Config, "version", r.res.Kernel.SourceID)
	return nil
}

// configCandidates are where a build's .config sits: beside vmlinux at the
// top of a kernel tree, three levels up from arch/x86/boot/bzImage, or as
// "config" beside both (kcovlab's cache).
func configCandidates(bzImage, vmlinux string) []string {
	var out []string
	if vmlinux != "" {
		d := filepath.Dir(vmlinux)
		out = append(out, filepath.Join(d, ".config"), filepath.Join(d, "config"))
	}
	d := filepath.Dir(bzImage)
	return append(out, filepath.Join(d, "config"), filepath.Join(d, "..", "..", "..", ".config"))
}

// bzImageVersion reads the kernel version string the setup header points
// at (kernel_version, offset 0x20e, relative to 0x200), "" if none.
func bzImageVersion(raw []byte) string {
	if len(raw) < 0x210 {
		return ""
	}
	off := int(raw[0x20e]) | int(raw[0x20f])<<8
	if off == 0 || off+0x200 >= len(raw) {
		return ""
	}
	s := raw[off+0x200:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return string(s)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// loop returns result.json's loop record, made on first use.
func (r *run) loop() *results.Loop {
	if r.res.Loop == nil {
		r.res.Loop = &results.Loop{}
	}
	return r.res.Loop
}

// needsGuest is true when the plain guest must boot even without plain
// scenarios: something runs in it or a person uses it.
func (r *run) needsGuest() bool {
	return len(r.opts.Execs) > 0 || len(r.opts.Puts) > 0 || r.opts.Keep || r.shell != nil
}

// probeClass asks the guest what KCOV_UNIQUE_ENABLE answers (the unique
// scenario's -probe) when no .config came with --kernel-image. A probe
// that fails leaves the class unknown: scenarios that need it skip.
func (r *run) probeClass(ctx context.Context, g *guest) {
	if r.opts.KernelImage == "" || r.kernel.Config != "" {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, errOut, code, err := g.client.Output(pctx, "unique -probe")
	class := strings.TrimSpace(string(out))
	switch {
	case err != nil || code != 0:
		r.log.Warn("kernel: cannot tell the kernel class; scenarios that need it skip", "exit", code, "err", err, "stderr", strings.TrimSpace(string(errOut)))
		return
	case class != classUnique && class != classNoUnique && class != classUnpatched:
		r.log.Warn("kernel: the class probe answered nonsense", "out", class)
		return
	}
	r.probedClass = class
	r.loop().KernelClass = class
	r.log.Info("kernel: class from the guest (KCOV_UNIQUE_ENABLE)", "class", class)
}

// putFiles copies the --put files into the guest.
func (r *run) putFiles(ctx context.Context, g *guest) error {
	for _, p := range r.opts.Puts {
		host, guestPath, err := ParsePut(p)
		if err != nil {
			return &UsageError{err.Error()}
		}
		t := time.Now()
		if err := g.client.Put(ctx, host, guestPath); err != nil {
			return &InfraError{Stage: "put", Err: err}
		}
		r.loop().Puts = append(r.loop().Puts, host+":"+guestPath)
		r.log.Info("put: copied", "file", host, "to", guestPath, "seconds", time.Since(t).Seconds())
	}
	return nil
}

// execName names the i-th --exec step in result.json and the run dir.
func execName(i, n int) string {
	if n == 1 {
		return "exec"
	}
	return "exec" + strconv.Itoa(i+1)
}

// runExecs runs each --exec command as a step, recorded like a scenario.
// It stops at a crash or a lost guest, as runScenarios does.
func (r *run) runExecs(ctx context.Context, g *guest) {
	if len(r.opts.Execs) == 0 {
		return
	}
	outDir := filepath.Join(r.dir, "scenarios")
	os.MkdirAll(outDir, 0o755)
	r.loop().Execs = r.opts.Execs
	for i, command := range r.opts.Execs {
		name := execName(i, len(r.opts.Execs))
		r.log.Info("exec: running", "name", name, "command", command)
		mark := markConsole(g.console)
		res := runExec(ctx, g.client, name, command, r.opts.ScenarioTimeout, outDir, r.symbols())
		judgeConsole(&res, mark.since(), scenarioEnv{syms: r.syms})
		if crash := g.crashedAfter(ctx, res); crash != nil {
			res.Verdict, res.ErrorKind, res.Error = results.Error, results.ErrorCrash, "kernel crashed: "+crash.Title+"\n"+crash.Report
		}
		r.log.Info("exec: done", "name", name, "verdict", res.Verdict, "exit", res.ExitCode, "seconds", res.Seconds)
		r.res.Scenarios = append(r.res.Scenarios, res)
		if g.lost != nil || res.ErrorKind == results.ErrorCrash {
			return
		}
	}
}

// symbols opens the kernel's symbols once; nil when there is no vmlinux.
func (r *run) symbols() *symbolize.Table {
	if r.syms == nil && r.kernel.Vmlinux != "" {
		syms, err := symbolize.Open(r.kernel.Vmlinux)
		if err != nil {
			r.log.Warn("exec: PCs stay unsymbolized", "err", err)
			return nil
		}
		if r.kernel.FuncFiles != "" {
			if f, err := os.Open(r.kernel.FuncFiles); err == nil {
				syms.AddFuncFiles(f)
				f.Close()
			}
		}
		r.syms = syms
	}
	return r.syms
}

// runExec runs one user command in the guest: exit 0 passes, anything else
// fails. Its stdout and stderr go to outDir/NAME.stdout|stderr; the PCs it
// printed (see ParsePCs) are symbolized into outDir/NAME.pcs.
func runExec(ctx context.Context, g guestRunner, name, command string, timeout time.Duration, outDir string, syms *symbolize.Table) results.Scenario {
	res := results.Scenario{Name: name, Metrics: map[string]float64{}, Evidence: []string{"command: " + command}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	stdout, stderr, code, err := g.Output(ctx, command)
	res.ExitCode, res.Seconds = code, time.Since(start).Seconds()
	os.WriteFile(filepath.Join(outDir, name+".stdout"), stdout, 0o644)
	os.WriteFile(filepath.Join(outDir, name+".stderr"), stderr, 0o644)
	if err != nil {
		res.Verdict, res.Error, res.ErrorKind = results.Error, (&ScenarioError{Scenario: name, Err: err}).Error(), results.ErrorChannel
		if ctx.Err() != nil {
			res.ErrorKind = results.ErrorTimeout
		}
		return res
	}
	res.Metrics["exit_code"] = float64(code)
	pcs := ParsePCs(stdout)
	if len(pcs) > 0 {
		res.Metrics["pcs"] = float64(len(pcs))
		res.Metrics["unique_pcs"] = float64(len(uniquePCs(pcs)))
		text, named, top := describePCs(pcs, syms)
		res.Metrics["pcs_symbolized"] = float64(named)
		os.WriteFile(filepath.Join(outDir, name+".pcs"), []byte(text), 0o644)
		res.Evidence = append(res.Evidence, top...)
	}
	if code == 0 {
		res.Verdict = results.Pass
		return res
	}
	res.Verdict = results.Fail
	res.Error = fmt.Sprintf("%s exited %d", command, code)
	if e := strings.TrimSpace(tail(string(stderr), 10)); e != "" {
		res.Error += ": " + e
	}
	return res
}

// pcLine is the PC format an --exec program may print on stdout: a line
// holding one hexadecimal address with 0x, nothing else (the kcov.rst
// example's printf("0x%lx\n", ...)). Kernel text addresses among them are
// symbolized.
var pcLine = regexp.MustCompile(`^\s*0x([0-9a-fA-F]{1,16})\s*$`)

// ParsePCs returns the PCs in a program's stdout, in order (see pcLine).
func ParsePCs(stdout []byte) []uint64 {
	var pcs []uint64
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := pcLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		if pc, err := strconv.ParseUint(string(m[1]), 16, 64); err == nil {
			pcs = append(pcs, pc)
		}
	}
	return pcs
}

func uniquePCs(pcs []uint64) map[uint64]bool {
	u := make(map[uint64]bool, len(pcs))
	for _, pc := range pcs {
		u[pc] = true
	}
	return u
}

// describePCs writes one line per PC, "0xADDR function+off (file)", counts
// the PCs a symbol was found for and names the functions with most PCs.
func describePCs(pcs []uint64, syms *symbolize.Table) (text string, named int, top []string) {
	var b strings.Builder
	perFn := map[string]int{}
	for _, pc := range pcs {
		desc := ""
		if syms != nil {
			if fn, _, ok := syms.Func(pc); ok {
				named++
				perFn[fn]++
				desc = syms.Describe(pc)
			}
		}
		fmt.Fprintf(&b, "0x%x %s\n", pc, desc)
	}
	fns := make([]string, 0, len(perFn))
	for fn := range perFn {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool {
		if perFn[fns[i]] != perFn[fns[j]] {
			return perFn[fns[i]] > perFn[fns[j]]
		}
		return fns[i] < fns[j]
	})
	if len(fns) > 5 {
		fns = fns[:5]
	}
	for _, fn := range fns {
		top = append(top, fmt.Sprintf("pcs in %s: %d", fn, perFn[fn]))
	}
	if named == 0 && len(pcs) > 0 {
		top = append(top, "PCs not symbolized: no vmlinux (pass --vmlinux) or not kernel text")
	}
	return b.String(), named, top
}

// loopVM adds the daily-loop options to a boot: the user's kernel
// command-line words and QEMU arguments, the gdb stub on a free loopback
// port (with nokaslr, so vmlinux's addresses hold), and detaching for
// the guest that --keep leaves up.
func (r *run) loopVM(vo *vm.Options) error {
	vo.Append = append(vo.Append, r.opts.Append...)
	vo.ExtraArgs = append(vo.ExtraArgs, r.opts.QEMUArgs...)
	if len(r.opts.Append) > 0 {
		r.loop().Append = r.opts.Append
	}
	if len(r.opts.QEMUArgs) > 0 {
		r.loop().QEMUArgs = r.opts.QEMUArgs
	}
	if r.opts.GDB {
		port, err := vm.FreePort()
		for err == nil && port == vo.SSHPort {
			port, err = vm.FreePort()
		}
		if err != nil {
			return &InfraError{Stage: "vm", Err: err}
		}
		vo.GDBPort = port
		vo.Append = append(vo.Append, "nokaslr")
		r.loop().GDBPort = port
		vmlinux := r.kernel.Vmlinux
		if vmlinux == "" {
			vmlinux = "VMLINUX"
		}
		line := fmt.Sprintf("gdb %s -ex 'target remote 127.0.0.1:%d'", proc.Quote([]string{vmlinux}), port)
		r.log.Info("vm: gdb stub", "port", port, "connect", line)
		fmt.Fprintf(r.opts.Out, "gdb: %s\n", line)
	}
	if r.detachNext {
		vo.Detach, vo.OutputLog = true, filepath.Join(r.dir, "qemu.out")
	}
	return nil
}

// loopSteps runs what the user brought into the guest after the
// scenarios: --put files, --exec steps, then the shell (kcovlab shell).
func (r *run) loopSteps(ctx context.Context, g *guest) error {
	if g.lost != nil || g.crashed() != nil || ctx.Err() != nil {
		return nil
	}
	if err := r.putFiles(ctx, g); err != nil {
		return err
	}
	r.runExecs(ctx, g)
	if r.shell != nil && g.lost == nil && g.crashed() == nil {
		return r.openShell(ctx, g)
	}
	return nil
}
