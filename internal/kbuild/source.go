package kbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/proc"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultTarball is Debian's linux-source-6.12 package.
const DefaultTarball = "/usr/src/linux-source-6.12.tar.xz"

// ErrNotKernelTree marks a --kernel-src that is not a Linux source tree.
var ErrNotKernelTree = errors.New("not a Linux kernel source tree")

// Source is a prepared kernel source tree.
type Source struct {
	Dir string
	// ID names the source content: the tarball's sha256, or the git commit
	// (with a hash of uncommitted changes) of a local tree.
	ID string
	// Origin is what the user gave: a tarball path or a directory.
	Origin string
	// TreeID names the build tree: kernels with the same TreeID share one
	// output directory and rebuild incrementally. Empty means ID.
	TreeID string
}

// CheckTree fails unless dir looks like a kernel source tree.
func CheckTree(dir string) error {
	for _, f := range []string{"Makefile", "Kconfig", "arch/x86/Kconfig", "kernel/kcov.c"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%s: %w (no %s); pass a kernel tree with --kernel-src", dir, ErrNotKernelTree, f)
		}
	}
	return nil
}

// Unpacked tells whether tarball is already unpacked in cacheDir, so that
// a caller can ask about the cache without a minute of unpacking.
func Unpacked(tarball, cacheDir string) bool {
	sum, err := fileSHA256(tarball)
	if err != nil {
		return false
	}
	_, err = onlySubdir(filepath.Join(cacheDir, "src", sum[:16]))
	return err == nil
}

// UnpackTarball unpacks tarball under cacheDir/src/<sha> once and returns the
// tree. Later calls find it there; a half-unpacked tree is never reused.
func UnpackTarball(ctx context.Context, tarball, cacheDir string, log *slog.Logger) (*Source, error) {
	sum, err := fileSHA256(tarball)
	if err != nil {
		return nil, fmt.Errorf("kernel source: %w (install linux-source-6.12, or pass --kernel-src DIR)", err)
	}
	id := "tarball:" + sum[:16]
	dest := filepath.Join(cacheDir, "src", sum[:16])
	if tree, err := onlySubdir(dest); err == nil {
		return &Source{Dir: tree, ID: id, Origin: tarball}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	log.Info("source: unpacking", "tarball", tarball)
	argv := UntarArgv(tarball, tmp)
	if out, err := proc.Command(ctx, argv).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("unpack %s: %w: %s", tarball, err, out)
	}
	if err := os.Rename(tmp, dest); err != nil {
		// Another kcovlab unpacked it first: take that tree.
		if tree, serr := onlySubdir(dest); serr == nil {
			return &Source{Dir: tree, ID: id, Origin: tarball}, nil
		}
		return nil, err
	}
	tree, err := onlySubdir(dest)
	if err != nil {
		return nil, fmt.Errorf("unpack %s: %w", tarball, err)
	}
	if err := CheckTree(tree); err != nil {
		return nil, err
	}
	return &Source{Dir: tree, ID: id, Origin: tarball}, nil
}

// LocalTree takes a kernel tree the user already has. Its ID names what is
// checked out (one kernel per commit in the cache); its TreeID is the tree's
// path, so every commit of one tree builds in one output directory and a
// checkout of a neighbouring commit (a bisect step) rebuilds incrementally.
func LocalTree(ctx context.Context, dir string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := CheckTree(abs); err != nil {
		return nil, err
	}
	id, err := treeID(ctx, abs)
	if err != nil {
		return nil, err
	}
	return &Source{Dir: abs, ID: id, Origin: abs, TreeID: localTreeID(abs)}, nil
}

// LocalTreeAt is the Source LocalTree returns for the git tree dir once
// commit is checked out cleanly, without checking it out: for looking up a
// commit's kernel in the cache.
func LocalTreeAt(dir, commit string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Source{Dir: abs, ID: "git:" + commit, Origin: abs, TreeID: localTreeID(abs)}, nil
}

func localTreeID(abs string) string { return "local:" + abs }

// ErrNotTopLevel means a --kernel-src directory is inside a git repository
// but is not its top level: its git state would describe another tree.
var ErrNotTopLevel = errors.New("not the top level of its git repository")

// treeID names a local tree: git HEAD plus a hash of what differs from it
// (changes to tracked files and the untracked files git does not ignore),
// or, outside git, a hash of every file's path, size and mtime.
func treeID(ctx context.Context, dir string) (string, error) {
	head, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err == nil {
		top, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return "", fmt.Errorf("kernel source %s: git rev-parse --show-toplevel: %w", dir, err)
		}
		if !sameDir(strings.TrimSpace(string(top)), dir) {
			return "", fmt.Errorf("kernel source %s: %w (the top level is %s); pass that with --kernel-src", dir, ErrNotTopLevel, strings.TrimSpace(string(top)))
		}
		h := sha256.New()
		diff, err := exec.CommandContext(ctx, "git", "-C", dir, "diff", "HEAD").Output()
		if err != nil {
			return "", fmt.Errorf("kernel source %s: git diff: %w", dir, err)
		}
		h.Write(diff)
		untracked, err := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z", "--others", "--exclude-standard").Output()
		if err != nil {
			return "", fmt.Errorf("kernel source %s: git ls-files: %w", dir, err)
		}
		for _, f := range strings.Split(string(untracked), "\x00") {
			if f == "" {
				continue
			}
			sum, err := contentSHA256(filepath.Join(dir, f))
			if err != nil {
				return "", fmt.Errorf("kernel source %s: %w", dir, err)
			}
			fmt.Fprintf(h, "untracked %s %s\n", f, sum)
		}
		id := "git:" + strings.TrimSpace(string(head))
		if len(diff) > 0 || len(untracked) > 0 {
			id += "+dirty:" + hex.EncodeToString(h.Sum(nil))[:16]
		}
		return id, nil
	}
	h := sha256.New()
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			fmt.Fprintf(h, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("kernel source %s: %w", dir, err)
	}
	return "tree:" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sameDir reports whether a and b name one directory.
func sameDir(a, b string) bool {
	fa, erra := os.Stat(a)
	fb, errb := os.Stat(b)
	return erra == nil && errb == nil && os.SameFile(fa, fb)
}

// contentSHA256 hashes a file's content (a symlink's target name).
func contentSHA256(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		io.WriteString(h, "link "+target)
	} else if fi.Mode().IsRegular() {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileSHA256 hashes a file once per process for each (path, size, mtime):
// a tarball is asked about by every kernel of a run or a listing.
func fileSHA256(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	shaMu.Lock()
	defer shaMu.Unlock()
	if sum, ok := shaMemo[key]; ok {
		return sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	shaMemo[key] = sum
	return sum, nil
}

var (
	shaMu   sync.Mutex
	shaMemo = map[string]string{}
)

// onlySubdir returns the single directory inside dir (a tarball's top level).
func onlySubdir(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) != 1 || !entries[0].IsDir() {
		return "", fmt.Errorf("%s: want one top-level directory, found %d entries", dir, len(entries))
	}
	return filepath.Join(dir, entries[0].Name()), nil
}

// TarballSource names tarball's source without unpacking it: its ID is the
// tarball's sha256, and Dir is the unpacked tree when the cache has one,
// else "" (Unpack fills it in). A kernel found in the cache by key (one
// imported from another machine) then boots without a minute of
// unpacking and 1.5 GB of tree.
func TarballSource(tarball, cacheDir string) (*Source, error) {
	sum, err := fileSHA256(tarball)
	if err != nil {
		return nil, fmt.Errorf("kernel source: %w (install linux-source-6.12, or pass --kernel-src DIR)", err)
	}
	src := &Source{ID: "tarball:" + sum[:16], Origin: tarball}
	if tree, err := onlySubdir(filepath.Join(cacheDir, "src", sum[:16])); err == nil {
		src.Dir = tree
	}
	return src, nil
}
