// Package images builds kcovlab's guest initramfs with u-root: u-root's init
// and a few of its core commands, our guest init (images/kcovinit, which
// serves SSH) and the scenario programs, all compiled from this module into
// one busybox binary by u-root's mkuimage/gobusybox packages.
//
// It needs the Go toolchain on the host (the build runs `go` with GOOS=linux,
// GOARCH=amd64, CGO_ENABLED=0 in the module directory). Each image gets its
// own ed25519 host key, which the host pins when it dials the guest.
// Tests: go test -short ./images/ (the real build is in the e2e suite).
package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/internal/sshlink"
	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"
)

// Recipe version: bump when the image layout changes without a source change.
const recipe = "kcovlab-image-2"

// Where things sit inside the image; kcovinit reads the same paths.
const (
	HostKeyInImage = "etc/kcovlab/ssh_host_ed25519_key"
	InitramfsName  = "initramfs.cpio"
	hostKeyName    = "ssh_host_ed25519_key"
)

// BaseCommands are u-root commands every image carries: init, and a few
// tools for a person who logs in to look around.
var BaseCommands = []string{
	"github.com/u-root/u-root/cmds/core/init",
	"github.com/u-root/u-root/cmds/core/cat",
	"github.com/u-root/u-root/cmds/core/dmesg",
	"github.com/u-root/u-root/cmds/core/ls",
	"github.com/u-root/u-root/cmds/core/ps",
	"github.com/u-root/u-root/cmds/core/gosh",
}

// BuildTags are the Go build tags of the image's busybox: gosh without its
// line editor (which would pull in a terminal UI library); a pty's line
// discipline edits the lines instead.
var BuildTags = []string{"goshsmall"}

// GuestInit is our uinit.
const GuestInit = "github.com/kcovlab/kcovlab/images/kcovinit"

// Options say what goes into an image.
type Options struct {
	// ModuleDir is the root of the kcovlab module (holds go.mod).
	ModuleDir string
	// Programs are extra Go main packages (the scenarios), by import path.
	Programs []string
	// Files are extra host files to put in the image, "HOST:GUEST" with
	// GUEST relative to the image root (e.g. the kernel's selftest binary).
	Files []string
	// CacheDir holds finished images, one directory per content key.
	CacheDir string
	Log      *slog.Logger
}

// Image is a finished initramfs and the host key baked into it.
type Image struct {
	Dir        string
	Initramfs  string
	HostKeyPub string
	Key        string
	// Cached is true when the image came from the cache.
	Cached bool
}

// Key hashes everything that goes into the image: the Go sources of the
// packages built into it and of their dependencies inside this module
// (found with go list), go.mod and go.sum, the Go version, the package
// list, the extra files and the recipe.
func Key(ctx context.Context, opts Options) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", recipe, runtime.Version())
	pkgs := opts.packages()
	fmt.Fprintln(h, strings.Join(pkgs, "\n"))
	fmt.Fprintln(h, "tags", strings.Join(BuildTags, ","))
	for _, f := range opts.Files {
		host, guest, _ := strings.Cut(f, ":")
		b, err := os.ReadFile(host)
		if err != nil {
			return "", fmt.Errorf("image key: %w", err)
		}
		fmt.Fprintf(h, "file %s %d\n", guest, len(b))
		h.Write(b)
	}
	dirs, err := moduleDirs(ctx, opts.ModuleDir, pkgs)
	if err != nil {
		return "", fmt.Errorf("image key: %w", err)
	}
	files := []string{filepath.Join(opts.ModuleDir, "go.mod"), filepath.Join(opts.ModuleDir, "go.sum")}
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "*.go"))
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(opts.ModuleDir, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (o Options) packages() []string {
	return append(append([]string{GuestInit}, BaseCommands...), o.Programs...)
}

// moduleDirs lists the directories of pkgs and their dependencies that lie
// in the module at dir, as built for the guest.
func moduleDirs(ctx context.Context, dir string, pkgs []string) ([]string, error) {
	args := append([]string{"list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}"}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("go list: %w: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("go list: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// Build returns the image for opts, building it when the cache has none.
// A half-built image never appears in the cache: it is built in a temporary
// directory and renamed into place.
func Build(ctx context.Context, opts Options) (*Image, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key, err := Key(ctx, opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(opts.CacheDir, key)
	if img, err := load(dir, key); err == nil {
		img.Cached = true
		log.Info("image: cached", "dir", dir)
		return img, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.CacheDir, ".build-"+key+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	log.Info("image: building u-root initramfs", "packages", len(opts.Programs)+len(BaseCommands)+1)
	if err := build(ctx, opts, tmp, log); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another kcovlab finished the same image first: take that one.
		if img, lerr := load(dir, key); lerr == nil {
			return img, nil
		}
		return nil, fmt.Errorf("build image: %w", err)
	}
	return load(dir, key)
}

func load(dir, key string) (*Image, error) {
	img := &Image{
		Dir:        dir,
		Initramfs:  filepath.Join(dir, InitramfsName),
		HostKeyPub: filepath.Join(dir, hostKeyName+".pub"),
		Key:        key,
	}
	for _, p := range []string{img.Initramfs, img.HostKeyPub} {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func build(ctx context.Context, opts Options, dir string, log *slog.Logger) error {
	if _, err := sshlink.GenerateKey(filepath.Join(dir, hostKeyName), "kcovlab-guest"); err != nil {
		return err
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := golang.Default(
		golang.DisableCGO(),
		golang.WithGOOS("linux"),
		golang.WithGOARCH("amd64"),
		golang.WithWorkingDir(opts.ModuleDir),
		golang.WithBuildTag(BuildTags...),
	)
	cmds := opts.packages()
	ll := llog.New(slog.LevelWarn, func(format string, args ...any) {
		log.Debug("mkuimage: " + fmt.Sprintf(format, args...))
	})
	// mkuimage takes no context: check it before and after the build.
	if err := ctx.Err(); err != nil {
		return err
	}
	err := uimage.Create(ll,
		uimage.WithReplaceEnv(env),
		uimage.WithBaseArchive(uimage.DefaultRamfs()),
		uimage.WithBusyboxCommands(cmds...),
		uimage.WithInit("init"),
		uimage.WithUinit("kcovinit"),
		uimage.WithFiles(filepath.Join(dir, hostKeyName)+":"+HostKeyInImage),
		uimage.WithFiles(opts.Files...),
		uimage.WithSkipLDD(),
		uimage.WithTempDir(work),
		uimage.WithCPIOOutput(filepath.Join(dir, InitramfsName)),
	)
	if err != nil {
		return err
	}
	return ctx.Err()
}
