package kbuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockPoll is how often a run waiting for another's build lock tries again.
// flock(2) has no way to wait on a context, and the holder is another
// process: there is no event to wait on but the lock itself.
const lockPoll = 250 * time.Millisecond

// Lock takes the cache's build lock (an exclusive flock on
// CACHE/build.lock), which every change to the shared source trees, git
// worktrees and O= build trees happens under. While another process holds
// it, Lock logs who (its pid and what it builds, which the holder writes
// into the file) and waits until it is free or ctx ends. what says what
// this process will build. Call the returned func to release it.
func Lock(ctx context.Context, cacheDir, what string, log *slog.Logger) (func(), error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(cacheDir, "build.lock")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	var t *time.Ticker
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if t == nil {
			holder, _ := os.ReadFile(path)
			log.Info("kernel: waiting for the build lock", "path", path, "held_by", strings.TrimSpace(string(holder)))
			t = time.NewTicker(lockPoll)
			defer t.Stop()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the build lock %s: %w", path, context.Cause(ctx))
		case <-t.C:
		}
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(fmt.Sprintf("pid %d: %s\n", os.Getpid(), what)), 0)
	}
	return func() {
		f.Truncate(0)
		f.Close()
	}, nil
}

// Recover removes what a run killed mid-build (SIGKILL, a power cut) left
// in the cache: staging dirs of unpacks, builds, worktrees and series
// (.unpack-*, .build-*, .tree-*, .series-*), failed builds older than
// failedKeep, and git's index.lock in the worktrees, which would stop every
// later checkout. Call it only while holding the build lock, so that no
// live process is using any of them.
func Recover(cacheDir string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Not images/: image builds do not take the build lock, so a staging
	// dir there may belong to a live run.
	for _, sub := range []string{"src", "kernels", "trees", "."} {
		entries, _ := os.ReadDir(filepath.Join(cacheDir, sub))
		for _, e := range entries {
			if !e.IsDir() || !isStaging(e.Name()) {
				continue
			}
			p := filepath.Join(cacheDir, sub, e.Name())
			if err := os.RemoveAll(p); err == nil {
				log.Info("cache: removed a killed run's leftovers", "dir", p)
			}
		}
	}
	locks, _ := filepath.Glob(filepath.Join(cacheDir, "trees", "*", ".git", "index.lock"))
	for _, l := range locks {
		if err := os.Remove(l); err == nil {
			log.Info("cache: removed a stale git lock", "path", l)
		}
	}
	failed, _ := os.ReadDir(filepath.Join(cacheDir, "failed"))
	for _, e := range failed {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > failedKeep {
			os.RemoveAll(filepath.Join(cacheDir, "failed", e.Name()))
		}
	}
}

// failedKeep is how long a failed build's log is kept for the user.
const failedKeep = 7 * 24 * time.Hour

func isStaging(name string) bool {
	for _, p := range []string{".unpack-", ".build-", ".tree-", ".series-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// DiskFullError means the disk holding Path filled up: the lab's fault,
// not the kernel's.
type DiskFullError struct {
	Path string
	Err  error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full: %s: free space and run again: %v", e.Path, e.Err)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// minFree is the free space below which a failed build is taken for a
// full disk rather than the kernel's fault.
const minFree = 64 << 20

// DiskFull returns a *DiskFullError for err when err is ENOSPC or the
// filesystem holding path has less than minFree left, else err.
func DiskFull(path string, err error) error {
	if err == nil {
		return nil
	}
	var de *DiskFullError
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) {
		return &DiskFullError{Path: path, Err: err}
	}
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) == nil && st.Bavail*uint64(st.Bsize) < minFree {
		return &DiskFullError{Path: path, Err: err}
	}
	return err
}

// LockHeld reports whether the cache's build lock is held now (a build,
// an unpack or a checkout under way, in any process, this one included),
// and what its holder wrote there, without waiting.
func LockHeld(cacheDir string) (bool, string) {
	path := filepath.Join(cacheDir, "build.lock")
	f, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		return errors.Is(err, syscall.EWOULDBLOCK), strings.TrimSpace(string(holder))
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, ""
}
