package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kcovlab/kcovlab/images"
	"github.com/kcovlab/kcovlab/internal/cachefile"
	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/scenarios"
)

// imageOptions say what goes into the guest image of kernel k: every
// scenario program and the kernel's selftest, so one image per selftest
// binary serves any --scenario list.
func imageOptions(o Options, k *kbuild.Kernel, log *slog.Logger) images.Options {
	var progs, files []string
	for _, name := range scenarios.Names() {
		if p := scenarios.All[name].Package; p != "" {
			progs = append(progs, p)
		}
	}
	if k.Selftest != "" {
		files = append(files, k.Selftest+":bin/"+filepath.Base(k.Selftest))
	}
	return images.Options{ModuleDir: o.ModuleDir, Programs: progs, Files: files,
		CacheDir: filepath.Join(o.CacheDir, "images"), Log: log}
}

// KernelKey is the cache key of the kernel opts name, computed from its
// inputs (source, series, fragments, compiler) without building, applying
// or unpacking anything.
func KernelKey(ctx context.Context, opts Options) (string, error) {
	if err := opts.Defaults(); err != nil {
		return "", &UsageError{err.Error()}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return "", err
	}
	spec, err := (&run{opts: opts, log: opts.Log, def: def}).kernelSpec(ctx, def)
	if err != nil {
		return "", err
	}
	return spec.Key(), nil
}

// PrepareKernel builds (or finds in the cache) the kernel opts name and its
// guest image, booting nothing: what a CI build job does before it exports
// them (ExportKernel).
func PrepareKernel(ctx context.Context, opts Options) (results.Kernel, error) {
	if err := opts.Defaults(); err != nil {
		return results.Kernel{}, &UsageError{err.Error()}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return results.Kernel{}, err
	}
	r := &run{opts: opts, log: opts.Log, def: def, res: &results.Result{}}
	if err := r.buildKernel(ctx); err != nil {
		return results.Kernel{}, err
	}
	if err := r.buildImage(ctx); err != nil {
		return r.res.Kernel, err
	}
	return r.res.Kernel, nil
}

// CacheFileError says a cache file was refused: whose fault is the Kind's.
type CacheFileError struct {
	Path string
	Err  error
}

func (e *CacheFileError) Error() string { return fmt.Sprintf("cache file %s: %v", e.Path, e.Err) }
func (e *CacheFileError) Unwrap() error { return e.Err }

// ExportKernel writes the cached kernel with cache key key, and its guest
// image when the cache holds it, to the cache file path (see
// internal/cachefile). The kernel's selftest source goes with it, so known
// defects are still recognised where it is imported.
func ExportKernel(ctx context.Context, opts Options, key, path string) (*cachefile.Manifest, error) {
	if err := opts.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	dir := filepath.Join(opts.CacheDir, "kernels", key)
	k, err := kbuild.LoadKernel(dir)
	if err != nil {
		return nil, &UsageError{fmt.Sprintf("kernel %q is not in the cache %s (kcovlab kernels lists the built ones; kcovlab plan prints each kernel's key)", key, opts.CacheDir)}
	}
	if k.Meta.Key != key {
		return nil, &InfraError{Stage: "cache export", Err: fmt.Errorf("cache entry %s carries key %q in its meta.json: the cache is damaged", dir, k.Meta.Key)}
	}
	m := cachefile.Manifest{Kernel: key, Name: k.Meta.Name}
	ents, err := dirEntries("kernel", dir)
	if err != nil {
		return nil, &InfraError{Stage: "cache export", Err: err}
	}
	if k.Selftest != "" {
		if _, err := os.Stat(filepath.Join(dir, kbuild.SelftestSourceName)); err != nil {
			tmp, err := os.MkdirTemp("", "kcovlab-export-")
			if err != nil {
				return nil, &InfraError{Stage: "cache export", Err: err}
			}
			defer os.RemoveAll(tmp)
			ents = append(ents, exportSelftest(ctx, opts, k, tmp)...)
		}
	}
	if ikey, err := images.Key(ctx, imageOptions(opts, k, opts.Log)); err == nil {
		idir := filepath.Join(opts.CacheDir, "images", ikey)
		if _, err := os.Stat(filepath.Join(idir, images.InitramfsName)); err == nil {
			ients, err := dirEntries("image", idir)
			if err != nil {
				return nil, &InfraError{Stage: "cache export", Err: err}
			}
			ents, m.Image = append(ents, ients...), ikey
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, &InfraError{Stage: "cache export", Err: err}
	}
	defer os.Remove(tmp.Name())
	written, err := cachefile.Write(tmp, m, ents)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return nil, &InfraError{Stage: "cache export", Err: err}
	}
	return written, nil
}

// exportSelftest is the selftest source of a kernel built before the
// source was kept beside it, read from the worktree into tmp; none when
// unreadable.
func exportSelftest(ctx context.Context, opts Options, k *kbuild.Kernel, tmp string) []cachefile.Entry {
	def, err := LookupKernel(k.Meta.Name)
	if err != nil {
		return nil
	}
	r := &run{opts: opts, log: opts.Log, def: def, kernel: &kbuild.Kernel{}}
	src, err := r.selftestSource(ctx)
	if err != nil {
		return nil
	}
	p := filepath.Join(tmp, kbuild.SelftestSourceName)
	if os.WriteFile(p, src, 0o644) != nil {
		return nil
	}
	return []cachefile.Entry{{Path: "kernel/" + kbuild.SelftestSourceName, Host: p}}
}

func dirEntries(prefix, dir string) ([]cachefile.Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ents []cachefile.Entry
	for _, d := range des {
		if d.Type().IsRegular() {
			ents = append(ents, cachefile.Entry{Path: prefix + "/" + d.Name(), Host: filepath.Join(dir, d.Name())})
		}
	}
	return ents, nil
}

// Imported is what ImportKernel put in the cache.
type Imported struct {
	Manifest *cachefile.Manifest
	// KernelNew and ImageNew are false when the cache already held them.
	KernelNew, ImageNew bool
}

// ImportKernel unpacks the cache file path into the cache, once every
// file's checksum matches its manifest and the kernel's meta.json carries
// the manifest's key. wantKey, when set, is the key the caller expects (a
// plan's build job). A file that is no cache file, or holds another
// kernel than wantKey, is a *UsageError; a damaged one an *InfraError
// (the transfer broke). Nothing reaches the cache unless all is well.
func ImportKernel(ctx context.Context, opts Options, path, wantKey string) (*Imported, error) {
	if err := opts.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &UsageError{fmt.Sprintf("cache import: %v", err)}
	}
	defer f.Close()
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, &InfraError{Stage: "cache import", Err: err}
	}
	// Imports take no build lock, so their staging dir is not one that
	// kbuild.Recover removes: a killed import leaves it behind.
	stage, err := os.MkdirTemp(opts.CacheDir, ".import-")
	if err != nil {
		return nil, &InfraError{Stage: "cache import", Err: err}
	}
	defer os.RemoveAll(stage)
	m, err := cachefile.Read(f, stage)
	switch {
	case errors.Is(err, cachefile.ErrNotCacheFile):
		return nil, &UsageError{fmt.Sprintf("cache import %s: %v (kcovlab cache export writes one)", path, err)}
	case err != nil:
		return nil, &InfraError{Stage: "cache import", Err: &CacheFileError{Path: path, Err: err}}
	}
	if wantKey != "" && m.Kernel != wantKey {
		return nil, &UsageError{fmt.Sprintf("cache import %s: it holds kernel %s (key %s), want key %s", path, m.Name, m.Kernel, wantKey)}
	}
	k, err := kbuild.LoadKernel(filepath.Join(stage, "kernel"))
	if err != nil || k.Meta.Key != m.Kernel || !isKey(m.Kernel) {
		return nil, &InfraError{Stage: "cache import", Err: &CacheFileError{Path: path, Err: fmt.Errorf("its meta.json does not carry the manifest's key %q", m.Kernel)}}
	}
	if m.Image != "" && !isKey(m.Image) {
		return nil, &InfraError{Stage: "cache import", Err: &CacheFileError{Path: path, Err: fmt.Errorf("bad image key %q", m.Image)}}
	}
	im := &Imported{Manifest: m}
	if im.KernelNew, err = place(filepath.Join(stage, "kernel"), filepath.Join(opts.CacheDir, "kernels", m.Kernel)); err != nil {
		return nil, &InfraError{Stage: "cache import", Err: err}
	}
	if m.Image != "" {
		if im.ImageNew, err = place(filepath.Join(stage, "image"), filepath.Join(opts.CacheDir, "images", m.Image)); err != nil {
			return nil, &InfraError{Stage: "cache import", Err: err}
		}
	}
	return im, nil
}

// place renames a verified staging dir into the cache, unless the cache
// already has the entry (then it is left alone: entries are never replaced).
func place(from, to string) (bool, error) {
	if _, err := os.Stat(to); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(from, to); err != nil {
		if _, serr := os.Stat(to); serr == nil {
			return false, nil // another import won
		}
		return false, err
	}
	return true, nil
}

// isKey is true for a cache key: 16 lowercase hex digits.
func isKey(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Guest is a kernel and its guest image ready to boot elsewhere (a LAVA
// worker): the files, and each scenario's program arguments as a run here
// would pass them.
type Guest struct {
	Kernel    results.Kernel
	BzImage   string
	Initramfs string
	ImageKey  string
	// Args are each selected scenario's extra arguments (-kernel=CLASS).
	Args map[string][]string
	// Skipped are scenarios that do not apply to this kernel, with why.
	Skipped map[string]string
}

// PrepareGuest builds (or finds) the kernel opts name and its guest image
// and says how each of opts.Scenarios would be run on it, booting nothing.
// A scenario that needs fresh boots of its own, or that is no program, is
// a *UsageError: one boot of another lab cannot run it.
func PrepareGuest(ctx context.Context, opts Options) (*Guest, error) {
	if err := opts.Defaults(); err != nil {
		return nil, &UsageError{err.Error()}
	}
	list, err := SelectScenarios(opts.Scenarios)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.FreshBoots > 0 || s.Format == scenarios.FormatBoot {
			return nil, &UsageError{fmt.Sprintf("scenario %s needs fresh boots of its own, which one boot elsewhere cannot give: run it with kcovlab run", s.Name)}
		}
	}
	def, err := opts.KernelDef()
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, log: opts.Log, def: def, res: &results.Result{}}
	if err := r.buildKernel(ctx); err != nil {
		return nil, err
	}
	if err := r.buildImage(ctx); err != nil {
		return nil, err
	}
	g := &Guest{Kernel: r.res.Kernel, BzImage: r.kernel.BzImage, Initramfs: r.image.Initramfs, ImageKey: r.image.Key,
		Args: map[string][]string{}, Skipped: map[string]string{}}
	class := ""
	if cfg, err := os.ReadFile(r.kernel.Config); err == nil {
		class = kernelClass(cfg)
	}
	for _, s := range list {
		if s.KernelFile != "" && (r.kernel.Selftest == "" || filepath.Base(r.kernel.Selftest) != s.KernelFile) {
			g.Skipped[s.Name] = "this kernel's source has no " + s.KernelFile
			continue
		}
		var args []string
		if s.NeedsKernelClass {
			args = append(args, "-kernel="+class)
		}
		g.Args[s.Name] = args
	}
	return g, nil
}
