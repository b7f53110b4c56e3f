package vm

import (
	"os"

	"golang.org/x/sys/unix"
)

// dirWatch signals on C when an entry is created in (or moved into) a
// directory. Signals are coalesced: C holds at most one pending wake-up.
// It lets the QMP dialer wait for QEMU to create its socket instead of
// polling for it.
type dirWatch struct {
	C    chan struct{}
	f    *os.File
	done chan struct{}
}

// watchDir starts watching dir with inotify. The caller must Close it.
func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "inotify_add_watch", Path: dir, Err: err}
	}
	// A non-blocking fd goes to Go's poller, so Close interrupts a pending Read.
	w := &dirWatch{
		C:    make(chan struct{}, 1),
		f:    os.NewFile(uintptr(fd), "inotify:"+dir),
		done: make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

func (w *dirWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 4096) // room for many events; their content is not needed
	for {
		if _, err := w.f.Read(buf); err != nil {
			return
		}
		select {
		case w.C <- struct{}{}:
		default:
		}
	}
}

// Close stops the watch and waits for its goroutine. Close on nil is a no-op.
func (w *dirWatch) Close() {
	if w == nil {
		return
	}
	w.f.Close()
	<-w.done
}
