package kbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kcovlab/kcovlab/internal/kconfig"
)

// recipe changes when the way kernels are configured or built changes.
const recipe = "kcovlab-kbuild-1"

// Spec is everything that decides what kernel comes out.
type Spec struct {
	// Name is the kernel's name as the lab knows it; not part of the key.
	Name      string
	Source    *Source
	Fragments []*kconfig.Fragment
	Toolchain Toolchain
	Targets   []string // default: bzImage
	// Selftest is a selftest C file in the source (e.g. the series'
	// tools/testing/selftests/kcov/kcov_test.c) to build as a static binary
	// beside the kernel when the source has it.
	Selftest string
	// Prepare runs under the build lock before the kernel is configured,
	// e.g. to check out the series in the source tree. Not part of the key.
	Prepare func(ctx context.Context) error
}

// Key is the cache key: a hash of the source identity, the fragments, the
// compiler version, the targets and the recipe.
func (s Spec) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nsource %s\ncc %s\nfragments %s\ntargets %s\n",
		recipe, s.Source.ID, s.Toolchain.Version, kconfig.Hash(s.Fragments), strings.Join(s.targets(), " "))
	if s.Selftest != "" {
		fmt.Fprintf(h, "selftest %s\n", s.Selftest)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// treeKey names the reusable build tree: one per source, compiler and set
// of fragment names, so a kernel that differs only in a fragment's content
// or in its source files (a mutant, a bisect step) rebuilds incrementally,
// while flavours with other fragments (pc.config, debug info, lockdep) keep
// their own trees and do not rebuild each other's objects when kernels
// alternate.
func (s Spec) treeKey() string {
	tree := s.Source.TreeID
	if tree == "" {
		tree = s.Source.ID
	}
	names := make([]string, len(s.Fragments))
	for i, f := range s.Fragments {
		names[i] = f.Name
	}
	sort.Strings(names)
	h := sha256.Sum256([]byte(tree + "\n" + s.Toolchain.Version + "\n" + strings.Join(names, " ")))
	return hex.EncodeToString(h[:8])
}

func (s Spec) targets() []string {
	if len(s.Targets) == 0 {
		return []string{"bzImage"}
	}
	return s.Targets
}

// Options say where and how to build.
type Options struct {
	CacheDir string
	Jobs     int
	Log      *slog.Logger
	// ProgressEvery is how often a running build reports (default 20s).
	ProgressEvery time.Duration
}

// Kernel is a finished build in the cache.
type Kernel struct {
	Dir     string
	BzImage string
	Vmlinux string
	Config  string
	Log     string
	// Selftest is the static selftest binary, "" when the source has none.
	Selftest string
	// FuncFiles is the function-to-source index (FuncFilesName), "" when
	// the build could not make one.
	FuncFiles string
	Meta      Meta
	Cached    bool
}

// Meta is saved beside each kernel as meta.json.
type Meta struct {
	Key        string   `json:"key"`
	Name       string   `json:"name,omitempty"`
	Source     string   `json:"source"`
	SourceID   string   `json:"source_id"`
	Compiler   string   `json:"compiler"`
	LLVM       string   `json:"llvm"`
	ConfigHash string   `json:"config_hash"`
	Fragments  []string `json:"fragments"`
	MakeArgv   []string `json:"make_argv"`
	BuildSecs  float64  `json:"build_seconds"`
	Steps      int      `json:"steps"`
	BuiltAt    string   `json:"built_at"`
	// Cold is true when the output tree had never linked a kernel before
	// this build (no vmlinux.o): a cold build, not a rebuild.
	Cold bool `json:"cold,omitempty"`
}

// BuildError says the kernel did not configure or build; it is the kernel's
// (or its config's) fault, not the lab's.
type BuildError struct {
	Stage   string // "config", "validate" or "make"
	Argv    []string
	LogPath string
	Tail    string
	Err     error
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s failed: %v", e.Stage, e.Err)
	if len(e.Argv) > 0 {
		fmt.Fprintf(&b, "\n  command: %s", proc.Quote(e.Argv))
	}
	if e.LogPath != "" {
		fmt.Fprintf(&b, "\n  log: %s", e.LogPath)
	}
	if e.Tail != "" {
		fmt.Fprintf(&b, "\n%s", e.Tail)
	}
	return b.String()
}

func (e *BuildError) Unwrap() error { return e.Err }

// List returns the finished kernels in the cache, newest first.
func List(cacheDir string) ([]Meta, error) {
	dirs, err := filepath.Glob(filepath.Join(cacheDir, "kernels", "*", "meta.json"))
	if err != nil {
		return nil, err
	}
	var out []Meta
	for _, d := range dirs {
		k, err := loadKernel(filepath.Dir(d))
		if err != nil {
			continue
		}
		out = append(out, k.Meta)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BuiltAt > out[j].BuiltAt })
	return out, nil
}

// Lookup returns the cached kernel for spec, or an error if there is none.
func Lookup(spec Spec, opts Options) (*Kernel, error) {
	return loadKernel(filepath.Join(opts.CacheDir, "kernels", spec.Key()))
}

// Build returns the kernel for spec from the cache or builds it.
func Build(ctx context.Context, spec Spec, opts Options) (*Kernel, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if k, err := Lookup(spec, opts); err == nil {
		k.Cached = true
		log.Info("kernel: cached", "key", k.Meta.Key, "dir", k.Dir)
		return k, nil
	}
	unlock, err := Lock(ctx, opts.CacheDir, fmt.Sprintf("building kernel %s (key %s)", spec.Name, spec.Key()), log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have finished it while we waited for the lock.
	if k, err := Lookup(spec, opts); err == nil {
		k.Cached = true
		return k, nil
	}
	Recover(opts.CacheDir, log)
	b := &builder{spec: spec, opts: opts, log: log}
	k, err := b.run(ctx)
	if err != nil && ctx.Err() == nil {
		return nil, DiskFull(opts.CacheDir, err)
	}
	return k, err
}

func loadKernel(dir string) (*Kernel, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	k := &Kernel{
		Dir:     dir,
		BzImage: filepath.Join(dir, "bzImage"),
		Vmlinux: filepath.Join(dir, "vmlinux"),
		Config:  filepath.Join(dir, "config"),
		Log:     filepath.Join(dir, "build.log"),
	}
	if _, err := os.Stat(filepath.Join(dir, selftestName)); err == nil {
		k.Selftest = filepath.Join(dir, selftestName)
	}
	if _, err := os.Stat(filepath.Join(dir, FuncFilesName)); err == nil {
		k.FuncFiles = filepath.Join(dir, FuncFilesName)
	}
	if err := json.Unmarshal(raw, &k.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return k, nil
}

// logTail returns the last n lines of a file, or of the lines that look like
// errors when there are any.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "error:") || strings.Contains(l, "Error ") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		lines = errs
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// stepCounter counts kbuild's "  CC      path" lines as they pass.
type stepCounter struct {
	w   io.Writer
	n   atomic.Int64
	buf []byte
}

func (c *stepCounter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		if isStep(string(c.buf[:i])) {
			c.n.Add(1)
		}
		c.buf = c.buf[i+1:]
	}
	return c.w.Write(p)
}

func isStep(line string) bool {
	if len(line) < 3 || line[0] != ' ' || line[1] != ' ' {
		return false
	}
	f := strings.Fields(line)
	return len(f) >= 2 && strings.ToUpper(f[0]) == f[0]
}

var errNoArtifact = errors.New("build finished without the expected artifact")

// LoadKernel reads the finished kernel in dir (a cache entry, or one being
// imported) from its meta.json.
func LoadKernel(dir string) (*Kernel, error) { return loadKernel(dir) }
