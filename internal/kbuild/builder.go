package kbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/filecopy"
	"github.com/kcovlab/kcovlab/internal/kconfig"
	"github.com/kcovlab/kcovlab/internal/proc"
	"github.com/kcovlab/kcovlab/internal/series"
)

// builder carries one build from config to the published cache entry.
type builder struct {
	spec    Spec
	opts    Options
	log     *slog.Logger
	tree    string // O= directory, reused across builds of the same source
	staging string // becomes the cache entry on success
	logPath string
	meta    Meta
}

func (b *builder) run(ctx context.Context) (*Kernel, error) {
	if b.spec.Prepare != nil {
		if err := b.spec.Prepare(ctx); err != nil {
			b.logNotPrepared(err)
			return nil, err
		}
	}
	key := b.spec.Key()
	b.tree = filepath.Join(b.opts.CacheDir, "build", b.spec.treeKey())
	kernels := filepath.Join(b.opts.CacheDir, "kernels")
	for _, d := range []string{b.tree, kernels} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	staging, err := os.MkdirTemp(kernels, ".build-"+key+"-")
	if err != nil {
		return nil, err
	}
	b.staging = staging
	b.logPath = filepath.Join(staging, "build.log")
	b.meta = Meta{
		Key: key, Name: b.spec.Name, Source: b.spec.Source.Origin, SourceID: b.spec.Source.ID,
		Compiler: b.spec.Toolchain.Version, LLVM: b.spec.Toolchain.LLVM,
		ConfigHash: kconfig.Hash(b.spec.Fragments),
	}
	for _, f := range b.spec.Fragments {
		b.meta.Fragments = append(b.meta.Fragments, f.Name)
	}
	if _, err := os.Stat(filepath.Join(b.tree, "vmlinux.o")); errors.Is(err, fs.ErrNotExist) {
		b.meta.Cold = true
	}
	k, err := b.steps(ctx)
	if err != nil {
		kept := b.keepFailed(key)
		var be *BuildError
		if errors.As(err, &be) && kept != "" && strings.HasPrefix(be.LogPath, b.staging) {
			be.LogPath = kept + strings.TrimPrefix(be.LogPath, b.staging)
		}
		return nil, err
	}
	return k, nil
}

// logNotPrepared says why the source could not be prepared (nothing was
// built, so there is no build log to keep): for a series that does not
// apply, the patch, the file, the hunk and why.
func (b *builder) logNotPrepared(err error) {
	var ae *series.ApplyError
	switch {
	case ctxErr(err):
		return
	case errors.As(err, &ae):
		args := []any{"patch", ae.Patch, "file", ae.File}
		if ae.Hunk > 0 {
			args = append(args, "hunk", fmt.Sprintf("%d %s", ae.Hunk, ae.HunkHeader), "line", ae.Line)
		}
		b.log.Error("kernel: series did not apply, nothing built", append(args, "why", ae.Reason)...)
	default:
		b.log.Error("kernel: source not prepared, nothing built", "err", err)
	}
}

func ctxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// keepFailed moves a failed build's staging dir (with its log) aside so the
// user can read it; it is never taken for a finished kernel.
func (b *builder) keepFailed(key string) string {
	failed := filepath.Join(b.opts.CacheDir, "failed", key+"-"+time.Now().UTC().Format("20060102T150405"))
	if err := os.MkdirAll(filepath.Dir(failed), 0o755); err == nil && os.Rename(b.staging, failed) == nil {
		b.log.Error("kernel: build failed, log kept", "dir", failed)
		return failed
	}
	os.RemoveAll(b.staging)
	return ""
}

func (b *builder) steps(ctx context.Context) (*Kernel, error) {
	start := time.Now()
	b.log.Info("kernel: configuring", "tree", b.tree, "compiler", b.spec.Toolchain.CC)
	if err := b.configure(ctx); err != nil {
		return nil, err
	}
	b.log.Info("kernel: building", "targets", b.spec.targets(), "log", b.logPath)
	if err := b.make(ctx, "make", b.spec.targets(), true); err != nil {
		return nil, err
	}
	if err := b.selftest(ctx); err != nil {
		return nil, err
	}
	b.meta.BuildSecs = time.Since(start).Seconds()
	b.meta.BuiltAt = time.Now().UTC().Format(time.RFC3339)
	return b.publish()
}

func (b *builder) makeOptions(targets []string) MakeOptions {
	return MakeOptions{
		SourceDir: b.spec.Source.Dir, OutDir: b.tree,
		LLVM: b.spec.Toolchain.LLVM, Jobs: b.opts.Jobs, Targets: targets,
	}
}

func (b *builder) configure(ctx context.Context) error {
	if err := b.make(ctx, "config", []string{"tinyconfig"}, false); err != nil {
		return err
	}
	dotconfig := filepath.Join(b.tree, ".config")
	if err := kconfig.AppendFragments(dotconfig, b.spec.Fragments); err != nil {
		return &BuildError{Stage: "config", Err: err}
	}
	if err := b.make(ctx, "config", []string{"olddefconfig"}, false); err != nil {
		return err
	}
	cfg, err := kconfig.ReadConfig(dotconfig)
	if err != nil {
		return &BuildError{Stage: "config", Err: err}
	}
	idx, err := kconfig.IndexKconfigArch(b.spec.Source.Dir, "x86")
	if err != nil {
		return &BuildError{Stage: "validate", Err: err}
	}
	if err := kconfig.Validate(cfg, b.spec.Fragments, idx); err != nil {
		return &BuildError{Stage: "validate", LogPath: dotconfig, Err: err}
	}
	return nil
}

// make runs one make invocation, appending its output to build.log; with
// progress it reports the step count (and a full build's count, once one
// ran in this tree).
func (b *builder) make(ctx context.Context, stage string, targets []string, progress bool) error {
	argv, err := b.makeOptions(targets).Argv()
	if err != nil {
		return &BuildError{Stage: stage, Err: err}
	}
	b.meta.MakeArgv = argv
	lf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "$ %s\n", proc.Quote(argv))
	b.log.Debug("run", "argv", proc.Quote(argv))
	counter := &stepCounter{w: lf}
	cmd := proc.Command(ctx, argv)
	cmd.Stdout, cmd.Stderr = counter, counter
	if err := cmd.Start(); err != nil {
		return &BuildError{Stage: stage, Argv: argv, Err: err}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if progress {
			b.report(counter, stop)
		}
	}()
	err = cmd.Wait()
	close(stop)
	<-done
	b.meta.Steps += int(counter.n.Load())
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("kernel %s: %w", stage, ctx.Err())
		}
		return &BuildError{Stage: stage, Argv: argv, LogPath: b.logPath, Tail: logTail(b.logPath, 15), Err: err}
	}
	return nil
}

func (b *builder) report(c *stepCounter, stop <-chan struct{}) {
	every := b.opts.ProgressEvery
	if every <= 0 {
		every = 20 * time.Second
	}
	total := previousSteps(b.tree)
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n := c.n.Load()
			attrs := []any{"steps", n, "elapsed", time.Since(start).Round(time.Second).String()}
			if total > 0 {
				attrs = append(attrs, "full_build_steps", total)
			}
			b.log.Info("kernel: building", attrs...)
		}
	}
}

// previousSteps is the most steps a build in tree took: a full build's
// count, shown beside a running build's progress.
func previousSteps(tree string) int {
	raw, err := os.ReadFile(filepath.Join(tree, ".kcovlab-steps"))
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(raw), &n)
	return n
}

func (b *builder) publish() (*Kernel, error) {
	artifacts := map[string]string{
		"bzImage": filepath.Join(b.tree, "arch/x86/boot/bzImage"),
		"vmlinux": filepath.Join(b.tree, "vmlinux"),
		"config":  filepath.Join(b.tree, ".config"),
	}
	for name, src := range artifacts {
		if err := filecopy.Copy(filepath.Join(b.staging, name), src, 0o666); err != nil {
			return nil, &BuildError{Stage: "make", LogPath: b.logPath, Err: fmt.Errorf("%w: %s: %v", errNoArtifact, name, err)}
		}
	}
	b.indexFunctions()
	if b.meta.Steps > previousSteps(b.tree) {
		os.WriteFile(filepath.Join(b.tree, ".kcovlab-steps"), []byte(fmt.Sprint(b.meta.Steps)), 0o644)
	}
	raw, err := json.MarshalIndent(b.meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.staging, "meta.json"), raw, 0o644); err != nil {
		return nil, err
	}
	final := filepath.Join(b.opts.CacheDir, "kernels", b.meta.Key)
	if err := os.Rename(b.staging, final); err != nil {
		return nil, fmt.Errorf("publish kernel: %w", err)
	}
	b.log.Info("kernel: built", "key", b.meta.Key, "seconds", int(b.meta.BuildSecs), "steps", b.meta.Steps)
	return loadKernel(final)
}

// indexFunctions publishes the function-to-file index; a kernel without
// it still works, its PCs just name no file.
func (b *builder) indexFunctions() {
	index, err := IndexFunctions(b.tree, b.spec.Source.Dir)
	if err == nil {
		var f *os.File
		if f, err = os.Create(filepath.Join(b.staging, FuncFilesName)); err == nil {
			err = errors.Join(WriteFuncFiles(f, index), f.Close())
		}
	}
	if err != nil {
		b.log.Warn("kernel: no function-to-file index", "err", err)
	}
}
