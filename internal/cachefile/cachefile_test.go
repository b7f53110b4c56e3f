package cachefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// pack writes a cache file of two files and returns its bytes.
func pack(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bzImage"), bytes.Repeat([]byte("k"), 5000), 0o644)
	os.WriteFile(filepath.Join(dir, "key"), []byte("secret"), 0o600)
	var b bytes.Buffer
	_, err := Write(&b, Manifest{Kernel: "0123456789abcdef", Name: "vanilla", Image: "fedcba9876543210"}, []Entry{
		{Path: "kernel/bzImage", Host: filepath.Join(dir, "bzImage")},
		{Path: "image/key", Host: filepath.Join(dir, "key")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	dest := t.TempDir()
	m, err := Read(bytes.NewReader(pack(t)), dest)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kernel != "0123456789abcdef" || m.Image != "fedcba9876543210" || len(m.Files) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	st, err := os.Stat(filepath.Join(dest, "image", "key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("image/key: %v %v (mode kept?)", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "kernel", "bzImage")); len(b) != 5000 {
		t.Fatalf("kernel/bzImage: %d bytes", len(b))
	}
}

// rewrite unpacks a cache file's tar entries, lets edit change them, and
// packs them again (a fabricated bad file whose gzip framing is sound).
func rewrite(t *testing.T, file []byte, edit func(hdrs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte)) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var hdrs []*tar.Header
	var bodies [][]byte
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var b bytes.Buffer
		b.ReadFrom(tr)
		hdrs, bodies = append(hdrs, h), append(bodies, b.Bytes())
	}
	hdrs, bodies = edit(hdrs, bodies)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for i, h := range hdrs {
		h.Size = int64(len(bodies[i]))
		tw.WriteHeader(h)
		tw.Write(bodies[i])
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

func TestRefusals(t *testing.T) {
	good := pack(t)
	flip := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) {
		b[1][100] ^= 1
		return h, b
	}
	drop := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) { return h[:2], b[:2] }
	extra := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) {
		return append(h, &tar.Header{Name: "kernel/extra", Mode: 0o644, Typeflag: tar.TypeReg}), append(b, []byte("x"))
	}
	escape := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) {
		var m Manifest
		json.Unmarshal(b[0], &m)
		m.Files[0].Path = "../../etc/passwd"
		b[0], _ = json.Marshal(m)
		return h, b
	}
	noManifest := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) { return h[1:], b[1:] }
	otherFormat := func(h []*tar.Header, b [][]byte) ([]*tar.Header, [][]byte) {
		var m Manifest
		json.Unmarshal(b[0], &m)
		m.Format = "kcovlab-cache-0"
		b[0], _ = json.Marshal(m)
		return h, b
	}
	cases := []struct {
		name    string
		file    []byte
		corrupt bool // else: not a cache file
	}{
		{"a byte flipped in a file", rewrite(t, good, flip), true},
		{"cut short", good[:len(good)/2], true},
		{"a listed file missing", rewrite(t, good, drop), true},
		{"a file the manifest does not list", rewrite(t, good, extra), true},
		{"a path outside the directory", rewrite(t, good, escape), true},
		{"no manifest first", rewrite(t, good, noManifest), false},
		{"another format", rewrite(t, good, otherFormat), false},
		{"not gzip at all", []byte("hello, this is a text file\n"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.file), t.TempDir())
			var ce *CorruptError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case c.corrupt && !errors.As(err, &ce):
				t.Fatalf("want a CorruptError, got %v", err)
			case !c.corrupt && !errors.Is(err, ErrNotCacheFile):
				t.Fatalf("want ErrNotCacheFile, got %v", err)
			}
			t.Log(err)
		})
	}
}

func TestWriteRefusesBadPath(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, p := range []string{"../f", "/abs", "a/../../b", ManifestName, ""} {
		if _, err := Write(new(bytes.Buffer), Manifest{}, []Entry{{Path: p, Host: f}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}
