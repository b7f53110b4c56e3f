package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKernel puts a made-up built kernel into a cache and returns its key.
func fakeKernel(t *testing.T, cache, key, metaKey string) {
	t.Helper()
	dir := filepath.Join(cache, "kernels", key)
	os.MkdirAll(dir, 0o755)
	meta, _ := json.Marshal(map[string]string{"key": metaKey, "name": "vanilla"})
	os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644)
	os.WriteFile(filepath.Join(dir, "bzImage"), bytes.Repeat([]byte{0x90}, 4096), 0o644)
}

// flipByte rewrites a cache file with one byte of kernel/bzImage flipped
// and the gzip framing intact: only the checksum can tell.
func flipByte(t *testing.T, in, out string) {
	rewrite(t, in, out, func(name string, body []byte) []byte {
		if name == "kernel/bzImage" {
			body[10] ^= 0xff
		}
		return body
	})
}

// otherKey rewrites a cache file's manifest to name another kernel key
// than its meta.json carries, every checksum intact.
func otherKey(t *testing.T, in, out string) {
	rewrite(t, in, out, func(name string, body []byte) []byte {
		if name == "manifest.json" {
			return bytes.Replace(body, []byte("0123456789abcdef"), []byte("0123456789abcdee"), 1)
		}
		return body
	})
}

func rewrite(t *testing.T, in, out string, edit func(name string, body []byte) []byte) {
	t.Helper()
	raw, _ := os.ReadFile(in)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var body bytes.Buffer
		body.ReadFrom(tr)
		b := edit(h.Name, body.Bytes())
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	os.WriteFile(out, b.Bytes(), 0o644)
}

func TestCacheExportImport(t *testing.T) {
	from, dir := t.TempDir(), t.TempDir()
	const key = "0123456789abcdef"
	fakeKernel(t, from, key, key)
	fakeKernel(t, from, "fedcba9876543210", "0000000000000000") // meta.json disagrees with its dir
	file := filepath.Join(dir, "k.kcache")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := mainErr(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("cache", "export", "--cache", from, "--src", "../..", key, file); code != exitPass || !strings.Contains(out, "exported kernel vanilla") {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	if code, _, errs := run("cache", "export", "--cache", from, "--src", "../..", "fedcba9876543210", filepath.Join(dir, "x.kcache")); code != exitInfra || !strings.Contains(errs, "damaged") {
		t.Fatalf("export of an entry whose meta.json names another key: %d %s", code, errs)
	}
	otherKey(t, file, filepath.Join(dir, "liar.kcache"))
	flipByte(t, file, filepath.Join(dir, "flipped.kcache"))
	raw, _ := os.ReadFile(file)
	os.WriteFile(filepath.Join(dir, "short.kcache"), raw[:len(raw)/2], 0o644)
	os.WriteFile(filepath.Join(dir, "text.kcache"), []byte("not a cache file\n"), 0o644)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"import", []string{file}, exitPass, "imported kernel vanilla (key " + key + ", new)"},
		{"import again", []string{file}, exitPass, "already cached"},
		{"the key the plan wants", []string{"--key", key, file}, exitPass, "imported"},
		{"another kernel than --key", []string{"--key", "1111111111111111", file}, exitUsage, "want key 1111111111111111"},
		{"a flipped byte", []string{filepath.Join(dir, "flipped.kcache")}, exitInfra, "kernel/bzImage: checksum mismatch"},
		{"cut short", []string{filepath.Join(dir, "short.kcache")}, exitInfra, "corrupt"},
		{"not a cache file", []string{filepath.Join(dir, "text.kcache")}, exitUsage, "not a kcovlab cache file"},
		{"meta.json with another key", []string{filepath.Join(dir, "liar.kcache")}, exitInfra, "does not carry the manifest's key"},
		{"no such file", []string{filepath.Join(dir, "none.kcache")}, exitUsage, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			if strings.HasPrefix(tc.name, "import again") || strings.HasPrefix(tc.name, "the key") {
				run("cache", "import", "--cache", cache, file)
			}
			code, out, errs := run(append([]string{"cache", "import", "--cache", cache, "--src", "../.."}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errs, tc.want)
			}
			if code != exitPass {
				if ks, _ := os.ReadDir(filepath.Join(cache, "kernels")); len(ks) > 0 {
					t.Fatalf("a refused file reached the cache: %v", ks)
				}
			}
		})
	}
	if code, _, errs := run("cache", "export", "--cache", from, "--src", "../..", "aaaaaaaaaaaaaaaa", file); code != exitUsage || !strings.Contains(errs, "not in the cache") {
		t.Fatalf("export of a kernel not in the cache: %d %s", code, errs)
	}
}
