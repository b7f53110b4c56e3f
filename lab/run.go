package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	accel     vm.Accel
}

func (r *run) do(ctx context.Context) (*results.Result, error) {
	start := time.Now()
	r.res = &results.Result{
		Schema: results.SchemaVersion, RunID: results.NewRunID(start),
		LabVersion: Version, Started: start.UTC(),
	}
	r.dir = filepath.Join(r.opts.ResultsDir, r.res.RunID)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, &InfraError{Stage: "results", Err: err}
	}
	r.log.Info("run: started", "id", r.res.RunID, "dir", r.dir)
	err := r.stages(ctx)
	if err != nil {
		r.res.Error, r.res.ErrorKind = err.Error(), errorKind(err)
	}
	r.res.AddStage("total", time.Since(start))
	if werr := r.res.Write(r.dir); werr != nil && err == nil {
		err = &InfraError{Stage: "results", Err: werr}
	}
	if werr := report.WriteRunDir(r.dir, []*results.Result{r.res}); werr != nil && err == nil {
		err = &InfraError{Stage: "report", Err: werr}
	}
	r.res.Header(r.opts.Out)
	report.Summary(r.opts.Out, []*results.Result{r.res}, r.opts.Color)
	fmt.Fprintf(r.opts.Out, "%s\nresults: %s\n", r.res.Verdict(), r.dir)
	if err == nil && !r.res.Passed() {
		err = ErrScenarioFailed
	}
	return r.res, err
}

func (r *run) stages(ctx context.Context) error {
	if err := r.timed("kernel", func() error { return r.buildKernel(ctx) }); err != nil {
		return err
	}
	if err := r.timed("image", func() error { return r.buildImage(ctx) }); err != nil {
		return err
	}
	r.chooseAccel(ctx)
	return r.boot(ctx)
}

func (r *run) timed(stage string, fn func() error) error {
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
		Name: def.Name, Series: def.Series, Excluded: def.Exclude,
		Key: k.Meta.Key, Source: k.Meta.Source, SourceID: k.Meta.SourceID,
		ConfigHash: k.Meta.ConfigHash, Fragments: k.Meta.Fragments,
		Compiler: k.Meta.Compiler, Cached: k.Cached, BuildSeconds: k.Meta.BuildSecs,
	}
	return nil
}

// kernelSpec resolves the kernel's inputs. A series is applied in the base
// source's git worktree, under the build lock, only when a build is needed.
func (r *run) kernelSpec(ctx context.Context, def KernelDef) (kbuild.Spec, error) {
	base, err := r.source(ctx)
	if err != nil {
		return kbuild.Spec{}, err
	}
	return r.specFor(ctx, def, base)
}

// specFor is kernelSpec on a given base source. A local tree without a
// series is built as it is, with the series' selftest when the tree has it
// (a bisect over the series' commits reaches it).
func (r *run) specFor(ctx context.Context, def KernelDef, base *kbuild.Source) (kbuild.Spec, error) {
	s, err := def.loadSeries(ctx, r.opts.ModuleDir)
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
	return kbuild.UnpackTarball(ctx, tarball, r.opts.CacheDir, r.log)
}

func (r *run) buildImage(ctx context.Context) error {
	// Every image carries every scenario program and the kernel's selftest,
	// so one image per selftest binary serves any --scenario list.
	var progs, files []string
	for _, name := range scenarios.Names() {
		if p := scenarios.All[name].Package; p != "" {
			progs = append(progs, p)
		}
	}
	if r.kernel.Selftest != "" {
		files = append(files, r.kernel.Selftest+":bin/"+filepath.Base(r.kernel.Selftest))
	}
	img, err := images.Build(ctx, images.Options{
		ModuleDir: r.opts.ModuleDir, Programs: progs, Files: files,
		CacheDir: filepath.Join(r.opts.CacheDir, "images"), Log: r.log,
	})
	if err != nil {
		return &InfraError{Stage: "image", Err: err}
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
	abortErr := func() error {
		return bootError(console, "QEMU exited before the guest answered SSH", m.ExitErr())
	}
	c, err := sshlink.WaitReady(wctx, addr, cfg, 500*time.Millisecond, m.Done(), abortErr)
	if err == nil {
		return c, nil
	}
	var be *BootError
	if errors.As(err, &be) || ctx.Err() != nil {
		return nil, err
	}
	return nil, bootError(console, fmt.Sprintf("no SSH answer within %s", timeout), err)
}

func bootError(console, reason string, err error) *BootError {
	raw, _ := os.ReadFile(console)
	return &BootError{Reason: reason, ConsoleTail: tail(string(raw), 40), Crash: FindCrash(string(raw)), Err: err}
}

func errorKind(err error) string {
	var (
		ae *series.ApplyError
		pe *series.SeriesError
		be *kbuild.BuildError
		bo *BootError
		se *ScenarioError
		ie *InfraError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case errors.As(err, &ae), errors.As(err, &pe):
		return "series"
	case errors.As(err, &be):
		return "build"
	case errors.As(err, &bo):
		return "boot"
	case errors.As(err, &se):
		return "scenario"
	case errors.As(err, &ie):
		return "infra"
	}
	return "infra"
}
