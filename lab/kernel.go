package lab

import (
	"context"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
)

// BuildKernel builds (or takes from the cache) the kernel opts name,
// without booting it: the built kernel and its identity.
func BuildKernel(ctx context.Context, opts Options) (*kbuild.Kernel, results.Kernel, error) {
	if err := opts.Defaults(); err != nil {
		return nil, results.Kernel{}, &UsageError{err.Error()}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return nil, results.Kernel{}, err
	}
	r := &run{opts: opts, log: opts.Log, def: def, res: &results.Result{}}
	if err := r.buildKernel(ctx); err != nil {
		return nil, results.Kernel{}, err
	}
	return r.kernel, r.res.Kernel, nil
}

// KernelSource is the base source opts build from: the local tree
// (KernelSrc) or the unpacked tarball. opts must have its defaults.
func KernelSource(ctx context.Context, opts Options) (*kbuild.Source, error) {
	return (&run{opts: opts, log: opts.Log}).source(ctx)
}

// KernelSpec is what def builds to on the base source: the inputs of its
// cache key, without building or applying anything. opts must have its
// defaults.
func KernelSpec(ctx context.Context, opts Options, def KernelDef, base *kbuild.Source) (kbuild.Spec, error) {
	return (&run{opts: opts, log: opts.Log, def: def}).specFor(ctx, def, base)
}

// KernelSourceFile reads path (relative to the kernel tree, e.g.
// kernel/kcov.c) from the source the kernel opts name is built from: the
// series' branch of the base source's worktree, with the patches it
// applies, or the local tree. opts must have its defaults.
func KernelSourceFile(ctx context.Context, opts Options, path string) ([]byte, error) {
	def, err := opts.KernelDef()
	if err != nil {
		return nil, err
	}
	return (&run{opts: opts, log: opts.Log, def: def}).sourceFile(ctx, path)
}
