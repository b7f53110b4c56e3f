package bisect

import (
	"context"
	"time"

	"github.com/kcovlab/kcovlab/internal/gitbisect"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/lab"
)

// Kernel is a commit a bisect may test and its kernel's cache state.
type Kernel struct {
	CommitInfo
	Key    string `json:"key"`
	Cached bool   `json:"cached"`
}

// Kernels lists the commits strictly between Good and Bad (the ones
// git may ask about), newest first, with their kernels' cache keys and
// whether each is built: what a bisect may have to build. It checks out
// and builds nothing.
func Kernels(ctx context.Context, bo Options) ([]Kernel, error) {
	repo, err := bo.open(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := bo.newReport(ctx, repo, time.Now())
	if err != nil {
		return nil, err
	}
	return bo.kernelsOf(ctx, repo, rep.between())
}

// open fills in the defaults and opens the tree to bisect.
func (bo *Options) open(ctx context.Context) (*gitbisect.Repo, error) {
	if err := bo.defaults(); err != nil {
		return nil, err
	}
	repo, err := gitbisect.Open(ctx, bo.KernelSrc)
	if err != nil {
		return nil, err
	}
	bo.KernelSrc = repo.Dir
	return repo, nil
}

// kernelsOf looks up the kernel of each commit in the cache.
func (bo *Options) kernelsOf(ctx context.Context, repo *gitbisect.Repo, commits []string) ([]Kernel, error) {
	if len(commits) == 0 {
		return nil, nil
	}
	def, err := bo.KernelDef()
	if err != nil {
		return nil, err
	}
	src, err := kbuild.LocalTreeAt(repo.Dir, commits[0])
	if err != nil {
		return nil, err
	}
	spec, err := lab.KernelSpec(ctx, bo.Options, def, src)
	if err != nil {
		return nil, err
	}
	var out []Kernel
	for _, c := range commits {
		if spec.Source, err = kbuild.LocalTreeAt(repo.Dir, c); err != nil {
			return nil, err
		}
		subject, _ := repo.Subject(ctx, c)
		_, lerr := kbuild.Lookup(spec, kbuild.Options{CacheDir: bo.CacheDir})
		out = append(out, Kernel{CommitInfo: CommitInfo{Commit: c, Subject: subject}, Key: spec.Key(), Cached: lerr == nil})
	}
	return out, nil
}
