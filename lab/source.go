package lab

import (
	"cmp"
	"context"

	"github.com/kcovlab/kcovlab/internal/kbuild"
)

// lazySource is the base source a kernel's cache key needs: the local tree,
// or the tarball named by its hash and unpacked only when a build needs
// it (unpack, under the build lock). A kernel imported into an empty cache
// (kcovlab cache import) boots without the tree.
func (r *run) lazySource(ctx context.Context) (*kbuild.Source, error) {
	if r.opts.KernelSrc != "" {
		return r.source(ctx)
	}
	return kbuild.TarballSource(cmp.Or(r.opts.Tarball, kbuild.DefaultTarball), r.opts.CacheDir)
}

// unpack fills in base's tree when lazySource left it out.
func (r *run) unpack(ctx context.Context, base *kbuild.Source) error {
	if base.Dir != "" {
		return nil
	}
	src, err := r.source(ctx)
	if err != nil {
		return err
	}
	base.Dir = src.Dir
	return nil
}
