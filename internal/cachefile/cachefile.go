// Package cachefile packs cache entries (a built kernel's directory and its
// guest image's) into one file that moves between machines, and unpacks it
// again only when every byte is as it was packed.
//
// A cache file is a gzip'd tar whose first entry is manifest.json: the
// format, the kernel's cache key and name, the image key, and every file
// with its size, mode and SHA-256. Read refuses a file that is not one
// (ErrNotCacheFile), and a file whose content does not match its manifest,
// is cut short, holds a path outside its directory or a file the manifest
// does not list, or lacks one it does (*CorruptError).
//
// It knows nothing of kernels or images beyond paths: lab decides what goes
// in and where it is unpacked to. Tests: go test -short ./internal/cachefile/.
package cachefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Format names the layout; Read refuses any other.
const Format = "kcovlab-cache-1"

// ManifestName is the first entry of every cache file.
const ManifestName = "manifest.json"

// Manifest lists what a cache file holds.
type Manifest struct {
	Format string `json:"format"`
	// Kernel is the kernel's cache key, Name its name as the lab knows it.
	Kernel string `json:"kernel"`
	Name   string `json:"name"`
	// Image is the guest image's key, "" when no image was packed.
	Image string `json:"image,omitempty"`
	Files []File `json:"files"`
}

// File is one packed file.
type File struct {
	Path   string `json:"path"`
	Mode   uint32 `json:"mode"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Entry is a host file to pack at Path (slash-separated, relative).
type Entry struct {
	Path string
	Host string
}

// ErrNotCacheFile marks a file that is no kcovlab cache file at all.
var ErrNotCacheFile = errors.New("not a kcovlab cache file")

// CorruptError says a cache file does not hold what its manifest lists.
type CorruptError struct {
	Path string // the entry, "" for the whole file
	Err  error
}

func (e *CorruptError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("cache file corrupt: %v", e.Err)
	}
	return fmt.Sprintf("cache file corrupt: %s: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Write packs entries into w, manifest first, and returns the manifest
// written: m with its Format and Files filled in from the entries. A file
// that changes while it is packed is an error.
func Write(w io.Writer, m Manifest, entries []Entry) (*Manifest, error) {
	m.Format, m.Files = Format, nil
	if err := m.write(w, entries); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) write(w io.Writer, entries []Entry) error {
	for _, e := range entries {
		if err := checkPath(e.Path); err != nil {
			return err
		}
		f, err := hashFile(e.Host)
		if err != nil {
			return err
		}
		f.Path = e.Path
		m.Files = append(m.Files, f)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(raw)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(raw); err != nil {
		return err
	}
	for i, e := range entries {
		if err := writeEntry(tw, m.Files[i], e.Host); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeEntry(tw *tar.Writer, f File, host string) error {
	in, err := os.Open(host)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := tw.WriteHeader(&tar.Header{Name: f.Path, Mode: int64(f.Mode), Size: f.Size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(in, f.Size))
	if err != nil {
		return err
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s changed while it was packed", host)
	}
	return nil
}

func hashFile(p string) (File, error) {
	in, err := os.Open(p)
	if err != nil {
		return File{}, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s: not a regular file", p)
	}
	h := sha256.New()
	n, err := io.Copy(h, in)
	if err != nil {
		return File{}, err
	}
	return File{Mode: uint32(st.Mode().Perm()), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// checkPath refuses a path that would leave the directory it is unpacked in.
func checkPath(p string) error {
	if p == "" || p == ManifestName || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("bad path %q in a cache file", p)
	}
	return nil
}

// ReadManifest reads only the manifest of the cache file at p.
func ReadManifest(p string) (*Manifest, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, m, err := open(f)
	return m, err
}

// open checks the gzip and tar framing and reads the manifest.
func open(r io.Reader) (*tar.Reader, *Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%v)", ErrNotCacheFile, err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName {
		return nil, nil, fmt.Errorf("%w (no %s first)", ErrNotCacheFile, ManifestName)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(tr, 1<<20)); err != nil {
		return nil, nil, &CorruptError{Path: ManifestName, Err: err}
	}
	var m Manifest
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		return nil, nil, &CorruptError{Path: ManifestName, Err: err}
	}
	if m.Format != Format {
		return nil, nil, fmt.Errorf("%w (format %q, want %q: made by another kcovlab version?)", ErrNotCacheFile, m.Format, Format)
	}
	return tr, &m, nil
}

// Read unpacks the cache file r into dest (made if missing) and returns its
// manifest once every file the manifest lists is there with its size and
// SHA-256. On an error dest may hold part of the files: unpack into a
// staging directory and move it into place only when Read succeeds.
func Read(r io.Reader, dest string) (*Manifest, error) {
	tr, m, err := open(r)
	if err != nil {
		return nil, err
	}
	want := map[string]File{}
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, &CorruptError{Path: ManifestName, Err: err}
		}
		want[f.Path] = f
	}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &CorruptError{Err: fmt.Errorf("cut short after %d of %d files: %w", len(seen), len(want), err)}
		}
		f, ok := want[hdr.Name]
		switch {
		case !ok:
			return nil, &CorruptError{Path: hdr.Name, Err: errors.New("not in the manifest")}
		case seen[hdr.Name]:
			return nil, &CorruptError{Path: hdr.Name, Err: errors.New("packed twice")}
		case hdr.Typeflag != tar.TypeReg:
			return nil, &CorruptError{Path: hdr.Name, Err: errors.New("not a regular file")}
		}
		seen[hdr.Name] = true
		if err := unpackFile(tr, f, dest); err != nil {
			return nil, err
		}
	}
	for _, f := range m.Files {
		if !seen[f.Path] {
			return nil, &CorruptError{Path: f.Path, Err: errors.New("listed in the manifest but missing")}
		}
	}
	return m, nil
}

func unpackFile(r io.Reader, f File, dest string) error {
	out := filepath.Join(dest, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(f.Mode&0o777))
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &CorruptError{Path: f.Path, Err: err}
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return &CorruptError{Path: f.Path, Err: fmt.Errorf("checksum mismatch: %d bytes sha256 %.16s, manifest says %d bytes sha256 %.16s", n, got, f.Size, f.SHA256)}
	}
	return nil
}
