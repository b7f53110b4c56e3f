//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kcovlab/kcovlab/internal/kcov"
	"github.com/kcovlab/kcovlab/scenarios/internal/corpus"
	"golang.org/x/sys/unix"
)

const (
	dirFiles  = 2000    // files in the getdents64 directory
	pipeWant  = 1 << 20 // pipe capacity asked for with F_SETPIPE_SZ
	dentsSize = 32 << 10
)

// env is what the workloads and the corpus act on, set up before any
// coverage is on: a blocking pipe, a tmpfs directory of dirFiles empty
// files held open, and the buffers.
type env struct {
	pr, pw   int
	pipeSize int // the pipe's capacity: pipeWant, or the default if refused
	dir      string
	dirfd    int
	buf      []byte // source and sink of pipe data
	dents    []byte
	page     int
}

func newEnv() (e *env, err error) {
	e = &env{pr: -1, pw: -1, dirfd: -1, buf: make([]byte, pipeWant), dents: make([]byte, dentsSize), page: os.Getpagesize()}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	e.pr, e.pw = p[0], p[1]
	unix.FcntlInt(uintptr(e.pw), unix.F_SETPIPE_SZ, pipeWant) // best effort: pipeRW chunks otherwise
	if e.pipeSize, err = unix.FcntlInt(uintptr(e.pw), unix.F_GETPIPE_SZ, 0); err != nil {
		return nil, fmt.Errorf("F_GETPIPE_SZ: %w", err)
	}
	if e.dir, err = os.MkdirTemp("/tmp", "kcovlab-getdents-"); err != nil {
		return nil, err
	}
	for i := range dirFiles {
		fd, err := unix.Open(filepath.Join(e.dir, fmt.Sprintf("f%04d", i)), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("create file %d in %s: %w", i, e.dir, err)
		}
		unix.Close(fd)
	}
	if e.dirfd, err = unix.Open(e.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("open %s: %w", e.dir, err)
	}
	return e, nil
}

// Close closes the pipe and the directory and removes it.
func (e *env) Close() error {
	for _, fd := range []int{e.pr, e.pw, e.dirfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if e.dir != "" {
		return os.RemoveAll(e.dir)
	}
	return nil
}

// pipeRW writes n bytes into the pipe and reads them back, in chunks of
// the pipe's capacity so that no write blocks.
func (e *env) pipeRW(n int) error {
	for done := 0; done < n; {
		chunk := min(n-done, e.pipeSize, len(e.buf))
		if err := full(unix.Write, e.pw, e.buf[:chunk]); err != nil {
			return fmt.Errorf("pipe write: %w", err)
		}
		if err := full(unix.Read, e.pr, e.buf[:chunk]); err != nil {
			return fmt.Errorf("pipe read: %w", err)
		}
		done += chunk
	}
	return nil
}

// full repeats a read or write until all of b went through.
func full(op func(int, []byte) (int, error), fd int, b []byte) error {
	for len(b) > 0 {
		n, err := op(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("pipe closed")
		}
		b = b[n:]
	}
	return nil
}

// mmapPages maps n anonymous pages with MAP_POPULATE (the kernel faults
// each one in, a loop) and unmaps them (another loop).
func (e *env) mmapPages(n int) error {
	mem, err := unix.Mmap(-1, 0, n*e.page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap %d pages: %w", n, err)
	}
	return unix.Munmap(mem)
}

func (e *env) rewindDir() error {
	_, err := unix.Seek(e.dirfd, 0, 0)
	return err
}

// readDir reads the whole directory with getdents64.
func (e *env) readDir() error {
	for {
		n, err := unix.Getdents(e.dirfd, e.dents)
		if err != nil {
			return fmt.Errorf("getdents64: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// exec runs one corpus program.
func (e *env) exec(p corpus.Program) error {
	for _, o := range p {
		if err := e.op(o); err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
	}
	return nil
}

func (e *env) op(o corpus.Op) error {
	switch o.Kind {
	case corpus.Getpid:
		unix.Getpid()
	case corpus.PipeRW:
		return e.pipeRW(o.Size)
	case corpus.OpenClose:
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	case corpus.Stat:
		var st unix.Stat_t
		return unix.Stat(e.dir, &st)
	case corpus.MmapMunmap:
		return e.mmapPages(o.Size)
	case corpus.Getdents:
		if err := e.rewindDir(); err != nil {
			return err
		}
		_, err := unix.Getdents(e.dirfd, e.dents[:o.Size])
		return err
	default:
		return fmt.Errorf("unknown operation %v", o)
	}
	return nil
}

// workload is one sweep measurement: prep runs with coverage on but
// before the reset, run is the measured interval.
type workload struct {
	name string
	prep func() error
	run  func() error
}

func (e *env) workloads() []workload {
	return []workload{
		{"pipe_1m", nil, func() error { return e.pipeRW(1 << 20) }},
		{"getdents_2000", e.rewindDir, e.readDir},
		{"mmap_512", nil, func() error { return e.mmapPages(512) }},
		{"read_null", nil, func() error { kcov.NullSyscall(); return nil }},
	}
}
