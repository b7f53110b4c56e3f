package callsites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

// builtKernel is a kernel from the lab's cache, as far as these tests care.
type builtKernel struct {
	name, vmlinux string
	unique, cmps  bool // CONFIG_KCOV_UNIQUE, CONFIG_KCOV_ENABLE_COMPARISONS
}

// builtKernels lists the cached kernels; one replaced while the test reads
// it is left out.
func builtKernels(t testing.TB) []builtKernel {
	t.Helper()
	var out []builtKernel
	for _, dir := range testutil.BuiltKernels(t) {
		var meta struct {
			Key  string `json:"key"`
			Name string `json:"name"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err == nil {
			err = json.Unmarshal(raw, &meta)
		}
		config, cerr := os.ReadFile(filepath.Join(dir, "config"))
		if err != nil || cerr != nil {
			t.Logf("%s: left out: %v %v", dir, err, cerr)
			continue
		}
		k := builtKernel{
			name:    meta.Name,
			vmlinux: filepath.Join(dir, "vmlinux"),
			unique:  bytes.Contains(config, []byte("\nCONFIG_KCOV_UNIQUE=y\n")),
			cmps:    bytes.Contains(config, []byte("\nCONFIG_KCOV_ENABLE_COMPARISONS=y\n")),
		}
		if k.name == "" {
			k.name = "vanilla-" + meta.Key // the default kernel has no name
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		t.Skip("no readable kernel in the cache")
	}
	return out
}

func TestBuiltKernels(t *testing.T) {
	for i, k := range builtKernels(t) {
		t.Run(k.name, func(t *testing.T) {
			r, err := Scan(context.Background(), k.vmlinux, Options{})
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s was replaced by a rebuild: %v", k.name, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			r.Name = k.name
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", b.String())
			checkKernel(t, k, r)
			if i == 0 {
				checkOneWorker(t, k, r)
			}
		})
	}
}

func checkKernel(t *testing.T, k builtKernel, r *Report) {
	t.Helper()
	if r.Cost.PCSites == 0 || r.Sizes.Text == 0 {
		t.Errorf("no PC call sites or no .text: %+v %+v", r.Cost, r.Sizes)
	}
	if k.cmps && r.Cost.CmpSites == 0 {
		t.Error("CONFIG_KCOV_ENABLE_COMPARISONS=y but no comparison call sites")
	}
	if r.Decode.BadBytes*10_000 > r.Decode.Bytes {
		t.Errorf("more than 0.01%% of the code did not decode: %+v", r.Decode)
	}
	if !k.unique {
		if r.Instrumentation != ModePC || r.Guards != nil {
			t.Errorf("CONFIG_KCOV_UNIQUE is off: got %s, guards %+v", r.Instrumentation, r.Guards)
		}
		return
	}
	if r.Instrumentation != ModePCGuard {
		t.Errorf("CONFIG_KCOV_UNIQUE=y: got %s", r.Instrumentation)
	}
	if g := r.Guards; g == nil || !g.Match || !g.OneToOne {
		t.Errorf("CONFIG_KCOV_UNIQUE=y: guards do not match the guard call sites: %+v", g)
	}
}

// checkOneWorker scans again with one worker: the counts must not depend
// on how the functions were shared out.
func checkOneWorker(t *testing.T, k builtKernel, many *Report) {
	t.Helper()
	one, err := Scan(context.Background(), k.vmlinux, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	one.Name, one.Elapsed = many.Name, many.Elapsed
	if !reflect.DeepEqual(one, many) {
		t.Errorf("one worker and GOMAXPROCS workers disagree:\n%+v\n%+v", one, many)
	}
}

func BenchmarkScanVmlinux(b *testing.B) {
	k := builtKernels(b)[0]
	b.Logf("%s: %s", k.name, k.vmlinux)
	for b.Loop() {
		if _, err := Scan(context.Background(), k.vmlinux, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
