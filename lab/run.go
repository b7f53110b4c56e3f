package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kcovlab/kcovlab/images"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/series"
	"github.com/kcovlab/kcovlab/internal/sshlink"
	"github.com/kcovlab/kcovlab/internal/symbolize"
	"github.com/kcovlab/kcovlab/internal/vm"
	"github.com/kcovlab/kcovlab/scenarios"
)

// run is the state of one Run; its fields fill in stage by stage.
type run struct {
	opts      Options
	log       *slog.Logger
	scenarios []scenarios.Scenario
	dir       string
	res       *results.Result
	def       KernelDef
	kernel    *kbuild.Kernel
	image     *images.Image
	key       *sshlink.KeyPair
	syms      *symbolize.Table
	symsErr   error
	accel     vm.Accel
	stage     string  // the stage running, for a cancellation's message
	selftest  *string // the kernel's SelftestID, read once (nil: not yet)
	// The daily loop (loop.go, keep.go): the shell to open (kcovlab
	// shell) and its exit code; the class the guest told (--kernel-image
	// without a .config); whether the next boot may outlive the run.
	shell       *Terminal
	shellCode   int
	probedClass string
	detachNext  bool
	onStart     func(console string, started time.Time) // ProbeBoot's console clock (nil in runs)
	// pre is the trial guests booting ahead (preboot.go; nil: none); mu
	// guards what concurrent boots write into the run (startGuestOn).
	pre *preboot
	mu  sync.Mutex
}

func (r *run) do(ctx context.Context) (*results.Result, error) {
	start := time.Now()
	r.res = &results.Result{
		Schema: results.SchemaVersion, RunID: results.NewRunID(start),
		LabVersion: Version, Started: start.UTC(),
	}
	// The kernel is named before it is built: a run that stops early
	// (a series that does not apply) still says which kernel it was.
	r.res.Kernel = results.Kernel{Name: r.def.Name, Series: r.def.Series, Excluded: r.def.Exclude, Mutant: r.def.Mutant, Fragments: r.def.Fragments}
	r.dir = filepath.Join(r.opts.ResultsDir, r.res.RunID)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, &InfraError{Stage: "results", Err: err}
	}
	r.log.Info("run: started", "id", r.res.RunID, "dir", r.dir)
	err := r.stages(ctx)
	if ctx.Err() != nil {
		// Whatever failed after a cancellation failed because of it.
		err = &CancelledError{Stage: r.stage, Cause: context.Cause(ctx)}
		r.log.Warn("run: cancelled", "stage", r.stage, "why", context.Cause(ctx), "dir", r.dir)
	}
	if err != nil {
		r.res.Error, r.res.ErrorKind = err.Error(), ErrorKind(err)
	}
	r.res.AddStage("total", time.Since(start))
	if werr := r.res.Write(r.dir); werr != nil && err == nil {
		err = &InfraError{Stage: "results", Err: werr}
	}
	if werr := report.WriteRunDir(r.dir, []*results.Result{r.res}); werr != nil && err == nil {
		err = &InfraError{Stage: "report", Err: werr}
	}
	r.res.Header(r.opts.Out)
	if r.shell != nil && len(r.res.Scenarios) == 0 {
		// kcovlab shell with nothing to check: no verdict to give.
		fmt.Fprintf(r.opts.Out, "results: %s\n", r.dir)
		return r.res, err
	}
	report.Dedup(r.opts.Out, []*results.Result{r.res})
	report.Summary(r.opts.Out, []*results.Result{r.res}, r.opts.Color)
	fmt.Fprintf(r.opts.Out, "%s\nresults: %s\n", r.res.Verdict(), r.dir)
	if err == nil && r.res.NothingChecked() {
		err = ErrNothingChecked
	} else if err == nil && !r.res.Passed() {
		err = ErrScenarioFailed
	}
	return r.res, err
}

func (r *run) stages(ctx context.Context) error {
	kernel := r.buildKernel
	if r.opts.KernelImage != "" {
		kernel = func(context.Context) error { return r.imageKernel() }
	}
	err := r.timed("kernel", func() error { return kernel(ctx) })
	if r.opts.AfterKernel != nil {
		if herr := r.opts.AfterKernel(ctx, err); err == nil {
			err = herr
		}
	}
	if err != nil {
		return err
	}
	if err := r.timed("image", func() error { return r.buildImage(ctx) }); err != nil {
		return err
	}
	r.chooseAccel(ctx)
	r.stage = "boot"
	return r.boot(ctx)
}

func (r *run) timed(stage string, fn func() error) error {
	r.stage = stage
	t := time.Now()
	err := fn()
	r.res.AddStage(stage, time.Since(t))
	return err
}

func (r *run) buildKernel(ctx context.Context) error {
	def := r.def
	spec, err := r.kernelSpec(ctx, def)
	if err != nil {
		return err
	}
	bopts := kbuild.Options{CacheDir: r.opts.CacheDir, Jobs: r.opts.Jobs, Log: r.log}
	k, err := kbuild.Build(ctx, spec, bopts)
	if err != nil {
		return err
	}
	r.kernel = k
	r.res.Kernel = results.Kernel{
		Name: def.Name, Series: def.Series, Excluded: def.Exclude, Mutant: def.Mutant,
		Key: k.Meta.Key, Source: k.Meta.Source, SourceID: k.Meta.SourceID,
		ConfigHash: k.Meta.ConfigHash, Fragments: k.Meta.Fragments,
		Compiler: k.Meta.Compiler, Cached: k.Cached, BuildSeconds: k.Meta.BuildSecs,
	}
	return nil
}

// kernelSpec resolves the kernel's inputs. A series is applied in the base
// source's git worktree, under the build lock, only when a build is needed.
func (r *run) kernelSpec(ctx context.Context, def KernelDef) (kbuild.Spec, error) {
	base, err := r.lazySource(ctx)
	if err != nil {
		return kbuild.Spec{}, err
	}
	return r.specFor(ctx, def, base)
}

// specFor is kernelSpec on a given base source. A local tree without a
// series is built as it is, with the series' selftest when the tree has it
// (a bisect over the series' commits reaches it).
func (r *run) specFor(ctx context.Context, def KernelDef, base *kbuild.Source) (kbuild.Spec, error) {
	s, err := def.LoadSeries(ctx, r.opts.ModuleDir)
	if err != nil {
		return kbuild.Spec{}, err
	}
	frags, err := kconfig.LoadFragments(r.opts.ConfigDir, def.Fragments...)
	if err != nil {
		return kbuild.Spec{}, err
	}
	tc, err := kbuild.FindClang(ctx, def.MinClang)
	if err != nil {
		return kbuild.Spec{}, &InfraError{Stage: "toolchain", Err: fmt.Errorf("kernel %s: %w", def.Name, err)}
	}
	spec := kbuild.Spec{Name: def.Name, Source: base, Fragments: frags, Toolchain: tc}
	if s != nil || r.opts.KernelSrc != "" {
		spec.Selftest = kselftestSource
	}
	if r.opts.KernelSrc != "" && s == nil {
		return spec, nil
	}
	wt := kbuild.WorktreeFor(base, r.opts.CacheDir, r.log)
	spec.Source = wt.Source(s)
	spec.Prepare = func(ctx context.Context) error {
		if err := r.unpack(ctx, base); err != nil {
			return err
		}
		w, err := kbuild.OpenWorktree(ctx, base, r.opts.CacheDir, r.log)
		if err != nil {
			return err
		}
		_, err = w.Checkout(ctx, s)
		return err
	}
	return spec, nil
}

// kselftestSource is the selftest the series adds.
const kselftestSource = "tools/testing/selftests/kcov/kcov_test.c"

func (r *run) source(ctx context.Context) (*kbuild.Source, error) {
	if r.opts.KernelSrc != "" {
		return kbuild.LocalTree(ctx, r.opts.KernelSrc)
	}
	tarball := r.opts.Tarball
	if tarball == "" {
		tarball = kbuild.DefaultTarball
	}
	src, err := kbuild.UnpackTarball(ctx, tarball, r.opts.CacheDir, r.log)
	if err != nil && ctx.Err() == nil {
		return nil, kbuild.DiskFull(filepath.Join(r.opts.CacheDir, "src"), err)
	}
	return src, err
}

func (r *run) buildImage(ctx context.Context) error {
	// mkuimage takes no context: the build runs on its own and a
	// cancellation returns at once. Its go build children end within
	// seconds; a staging dir they leave is never taken for an image.
	type built struct {
		img *images.Image
		err error
	}
	ch := make(chan built, 1)
	go func() {
		img, err := images.Build(ctx, imageOptions(r.opts, r.kernel, r.log))
		ch <- built{img, err}
	}()
	var b built
	select {
	case b = <-ch:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	img, err := b.img, b.err
	if err != nil {
		return &InfraError{Stage: "image", Err: kbuild.DiskFull(filepath.Join(r.opts.CacheDir, "images"), err)}
	}
	r.image = img
	r.res.Image = results.Image{Key: img.Key, Cached: img.Cached}
	return nil
}

func (r *run) chooseAccel(ctx context.Context) {
	switch r.opts.Accel {
	case "kvm":
		r.accel, r.res.AccelReason = vm.AccelKVM, "requested with --accel kvm"
	case "tcg":
		r.accel, r.res.AccelReason = vm.AccelTCG, "requested with --accel tcg"
	default:
		p := vm.ProbeAccel(ctx, r.opts.QEMU, r.dir)
		r.accel, r.res.AccelReason = p.Accel, p.Reason
	}
	r.res.Accel = string(r.accel)
	r.log.Info("vm: accelerator", "accel", r.accel, "why", r.res.AccelReason)
}

func (r *run) waitSSH(ctx context.Context, m *vm.Machine, port int, cfg sshlink.Config, console string) (*sshlink.Client, error) {
	timeout := r.opts.BootTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
		if r.accel == vm.AccelKVM {
			timeout = time.Minute
		}
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	abortErr := func() error { return qemuGone(console, port, m.ExitErr()) }
	if !waitListening(wctx, console, m.Done(), timeout/2) {
		r.log.Debug("vm: no ssh listening line on the console, dialing anyway")
	}
	c, err := sshlink.WaitReady(wctx, addr, cfg, 100*time.Millisecond, m.Done(), abortErr)
	if err == nil {
		return c, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	var (
		be *BootError
		ie *InfraError
	)
	if errors.As(err, &be) || errors.As(err, &ie) {
		return nil, err
	}
	if errors.Is(err, sshlink.ErrHostKeyMismatch) {
		return nil, &InfraError{Stage: "vm", Err: err}
	}
	be = bootError(console, fmt.Sprintf("no SSH answer within %s", timeout), err)
	be.Timeout = be.Crash == nil
	if be.Timeout {
		be.Reason = fmt.Sprintf("kernel: boot timeout, console stopped (no SSH answer within %s)", timeout)
	}
	return nil, be
}

// qemuGone says whose fault it was that QEMU exited before the guest
// answered SSH, from how it exited: status 0 (a panic under -no-reboot and
// panic=-1, or a reboot) or a crash on the console is the kernel's; a
// signal kcovlab did not send (the OOM killer, a user), a forward port
// another process took, or QEMU failing on its own is the lab's.
func qemuGone(console string, port int, exit error) error {
	raw, _ := os.ReadFile(console)
	crash := FindCrash(string(raw), nil)
	var ee *vm.ExitError
	if errors.As(exit, &ee) && crash == nil {
		switch {
		case ee.HostForwardFailed():
			return &PortClashError{Port: port, Attempts: 1, Err: ee}
		case ee.Cause != nil:
			return exit // killed by kcovlab: cancellation or Close
		default:
			return &InfraError{Stage: "vm", Err: &GuestLostError{
				Reason:      "QEMU died before the guest answered SSH, with no crash on the console",
				ConsoleTail: tail(string(raw), 20), Err: ee}}
		}
	}
	return bootError(console, "QEMU exited before the guest answered SSH", exit)
}

func bootError(console, reason string, err error) *BootError {
	raw, _ := os.ReadFile(console)
	return &BootError{Reason: reason, ConsoleTail: tail(string(raw), 40), Crash: FindCrash(string(raw), nil), Err: err}
}

// ErrorKind names whose fault err is, for result.json: the kernel's
// (series, build, boot), a scenario's, the lab's (infra), the user's
// (usage) or nobody's (cancelled).
func ErrorKind(err error) string {
	var (
		ce *CancelledError
		ue *UsageError
		ae *series.ApplyError
		pe *series.SeriesError
		be *kbuild.BuildError
		bo *BootError
		se *ScenarioError
		ie *InfraError
		df *kbuild.DiskFullError
	)
	switch {
	case errors.As(err, &ce):
		return "cancelled"
	case errors.As(err, &ue):
		return "usage"
	case errors.As(err, &df):
		return "infra"
	case errors.As(err, &ae), errors.As(err, &pe):
		return "series"
	case errors.As(err, &be):
		return "build"
	case errors.As(err, &ie):
		return "infra"
	case errors.As(err, &bo):
		return "boot"
	case errors.As(err, &se):
		return "scenario"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "infra"
}
