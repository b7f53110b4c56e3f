package export

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
	"go.yaml.in/yaml/v3"
)

// fakeGuest stands in for lab.PrepareGuest: two small files, unique gets
// the kernel class, kselftest does not apply.
func fakeGuest(t *testing.T) func(context.Context, lab.Options) (*lab.Guest, error) {
	dir := t.TempDir()
	bz, rd := filepath.Join(dir, "bzImage"), filepath.Join(dir, "initramfs.cpio")
	os.WriteFile(bz, []byte("kernel"), 0o644)
	os.WriteFile(rd, []byte("initramfs"), 0o644)
	return func(_ context.Context, o lab.Options) (*lab.Guest, error) {
		g := &lab.Guest{Kernel: results.Kernel{Name: o.Kernel, Key: "bfe1f6f46fa19748"}, BzImage: bz, Initramfs: rd,
			Args: map[string][]string{}, Skipped: map[string]string{}}
		for _, s := range o.Scenarios {
			switch s {
			case "kselftest":
				g.Skipped[s] = "this kernel's source has no kcov_test"
			case "unique":
				g.Args[s] = []string{"-kernel=unique"}
			default:
				g.Args[s] = nil
			}
		}
		return g, nil
	}
}

func TestLAVA(t *testing.T) {
	out := t.TempDir()
	o := LAVAOptions{Options: lab.Options{Kernel: "v2", Scenarios: []string{"smoke", "unique", "kselftest"}}, Dir: out, prepare: fakeGuest(t)}
	res, err := LAVA(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Tests, ",") != "smoke,unique" || res.Skipped["kselftest"] == "" {
		t.Fatalf("tests %v skipped %v", res.Tests, res.Skipped)
	}
	for _, f := range []string{KernelFile, RamdiskFile, JobFile, DeviceFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, JobFile))
	var job struct {
		DeviceType string            `yaml:"device_type"`
		Metadata   map[string]string `yaml:"metadata"`
		Actions    []map[string]any  `yaml:"actions"`
	}
	if err := yaml.Unmarshal(raw, &job); err != nil {
		t.Fatal(err)
	}
	if job.DeviceType != "qemu" || job.Metadata["kcovlab.kernel_key"] != "bfe1f6f46fa19748" || len(job.Actions) != 3 {
		t.Fatalf("job.yaml: %s", raw)
	}
	if !strings.Contains(string(raw), "url: file://"+out+"/bzImage") || !strings.Contains(string(raw), "command: run unique -kernel=unique") {
		t.Fatalf("job.yaml does not point at the files or run unique with its class:\n%s", raw)
	}

	t.Run("nothing applies", func(t *testing.T) {
		o := o
		o.Scenarios, o.Dir = []string{"kselftest"}, t.TempDir()
		var ue *lab.UsageError
		if _, err := LAVA(context.Background(), o); !errors.As(err, &ue) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no --out", func(t *testing.T) {
		o := o
		o.Dir = ""
		if _, err := LAVA(context.Background(), o); err == nil {
			t.Fatal("accepted")
		}
	})

	// lava-run validates the job against the device when lava-dispatcher is
	// installed (it is not a host package: it pulls in ~150 packages).
	lavaRun, err := exec.LookPath("lava-run")
	if err != nil {
		t.Log("lava-run not installed: job and device not validated by LAVA itself")
		return
	}
	cmd := exec.Command(lavaRun, "--validate", "--job-id", "1", "--output-dir", t.TempDir(),
		"--device", filepath.Join(out, DeviceFile), filepath.Join(out, JobFile))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lava-run --validate: %v\n%s", err, b)
	}
}

func TestPrepareGuestRefusesFreshBoots(t *testing.T) {
	for _, s := range []string{"guardrace", "bootgate"} {
		_, err := lab.PrepareGuest(context.Background(), lab.Options{Kernel: "vanilla", Scenarios: []string{s}, CacheDir: t.TempDir()})
		var ue *lab.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "fresh boots") {
			t.Errorf("%s: %v", s, err)
		}
	}
}
