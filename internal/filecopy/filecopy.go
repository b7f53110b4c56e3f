// Package filecopy copies one regular file's bytes to a new path: kernel
// artifacts into the cache's staging directory (internal/kbuild), a kernel
// and its image into a LAVA export (export), a shard's run files into a
// merge (runs). It copies bytes only, never ownership or times, and walks
// no directory: callers that copy trees choose what to take. Plain Go, no
// host tools; tests: go test -short ./internal/filecopy/.
package filecopy

import (
	"io"
	"os"
)

// Copy copies src to dst: dst is created with perm (less the umask), or
// truncated when it exists.
func Copy(dst, src string, perm os.FileMode) error {
	return copyTo(dst, src, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
}

// CopyNew is Copy to a dst that must not exist yet: an existing dst is an
// error (os.ErrExist) and is left as it was.
func CopyNew(dst, src string, perm os.FileMode) error {
	return copyTo(dst, src, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
}

func copyTo(dst, src string, flag int, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, flag, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
