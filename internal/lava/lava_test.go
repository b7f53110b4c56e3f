package lava

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func opts() JobOptions {
	return JobOptions{Name: "kcovlab v2", KernelURL: "file:///k/bzImage", RamdiskURL: "file:///k/initramfs.cpio",
		CPUs: 2, MemoryMB: 1024, Tests: []Test{{Name: "smoke"}, {Name: "unique", Args: []string{"-kernel=unique"}}},
		Metadata: map[string]string{"kcovlab.kernel_key": "bfe1f6f46fa19748"}, BootTimeout: 3 * time.Minute, TestTimeout: 10 * time.Minute}
}

// jobDoc is the part of a LAVA job definition the test reads back.
type jobDoc struct {
	DeviceType string `yaml:"device_type"`
	Context    struct {
		Arch         string   `yaml:"arch"`
		NoKVM        bool     `yaml:"no_kvm"`
		ExtraOptions []string `yaml:"extra_options"`
	} `yaml:"context"`
	Actions []struct {
		Deploy *struct {
			To     string `yaml:"to"`
			Images map[string]struct {
				ImageArg string `yaml:"image_arg"`
				URL      string `yaml:"url"`
			} `yaml:"images"`
		} `yaml:"deploy"`
		Boot *struct {
			Method  string   `yaml:"method"`
			Media   string   `yaml:"media"`
			Prompts []string `yaml:"prompts"`
		} `yaml:"boot"`
		Test *struct {
			Interactive []struct {
				Prompts []string `yaml:"prompts"`
				Script  []struct {
					Name      string `yaml:"name"`
					Command   string `yaml:"command"`
					Successes []struct {
						Message string `yaml:"message"`
					} `yaml:"successes"`
					Failures []struct {
						Message string `yaml:"message"`
					} `yaml:"failures"`
				} `yaml:"script"`
			} `yaml:"interactive"`
		} `yaml:"test"`
	} `yaml:"actions"`
}

func TestJobStructure(t *testing.T) {
	raw, err := Job(opts())
	if err != nil {
		t.Fatal(err)
	}
	var j jobDoc
	if err := yaml.Unmarshal(raw, &j); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if j.DeviceType != "qemu" || j.Context.Arch != "amd64" || !j.Context.NoKVM || !strings.Contains(strings.Join(j.Context.ExtraOptions, " "), "-smp 2") {
		t.Fatalf("header: %+v", j)
	}
	if len(j.Actions) != 3 || j.Actions[0].Deploy == nil || j.Actions[1].Boot == nil || j.Actions[2].Test == nil {
		t.Fatalf("want deploy, boot, test; got %s", raw)
	}
	d := j.Actions[0].Deploy
	k, r := d.Images["kernel"], d.Images["ramdisk"]
	if d.To != "tmpfs" || k.URL != "file:///k/bzImage" || !strings.Contains(k.ImageArg, "-kernel {kernel}") ||
		!strings.Contains(k.ImageArg, ConsoleFlag) || r.URL != "file:///k/initramfs.cpio" || r.ImageArg != "-initrd {ramdisk}" {
		t.Fatalf("deploy: %+v", d)
	}
	if b := j.Actions[1].Boot; b.Method != "qemu" || b.Media != "tmpfs" || b.Prompts[0] != Prompt {
		t.Fatalf("boot: %+v", b)
	}
	it := j.Actions[2].Test.Interactive
	if len(it) != 1 || len(it[0].Script) != 2 {
		t.Fatalf("test: %+v", it)
	}
	u := it[0].Script[1]
	if u.Name != "unique" || u.Command != "run unique -kernel=unique" || u.Successes[0].Message != "KCOVLAB-RESULT unique pass" ||
		u.Failures[0].Message != "KCOVLAB-RESULT unique fail" || u.Failures[1].Message != "KCOVLAB-RESULT unique error" {
		t.Fatalf("test case unique: %+v", u)
	}
}

func TestJobRefusals(t *testing.T) {
	for name, edit := range map[string]func(*JobOptions){
		"no scenario":       func(o *JobOptions) { o.Tests = nil },
		"no kernel URL":     func(o *JobOptions) { o.KernelURL = "" },
		"a bad case name":   func(o *JobOptions) { o.Tests = []Test{{Name: "two words"}} },
		"an upper-case one": func(o *JobOptions) { o.Tests = []Test{{Name: "Smoke"}} },
	} {
		o := opts()
		edit(&o)
		if _, err := Job(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKVMUsesTheDevicesCPU(t *testing.T) {
	o := opts()
	o.KVM = true
	raw, _ := Job(o)
	var j jobDoc
	yaml.Unmarshal(raw, &j)
	if j.Context.NoKVM || strings.Contains(strings.Join(j.Context.ExtraOptions, " "), "-cpu") {
		t.Fatalf("kvm: %+v", j.Context)
	}
}

func TestDevice(t *testing.T) {
	raw, err := Device(DeviceOptions{MemoryMB: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		DeviceType string `yaml:"device_type"`
		Actions    struct {
			Deploy struct {
				Methods map[string]any `yaml:"methods"`
			} `yaml:"deploy"`
			Boot struct {
				Methods struct {
					QEMU struct {
						Parameters struct {
							Command string   `yaml:"command"`
							Options []string `yaml:"options"`
						} `yaml:"parameters"`
					} `yaml:"qemu"`
				} `yaml:"methods"`
			} `yaml:"boot"`
		} `yaml:"actions"`
	}
	if err := yaml.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	p := d.Actions.Boot.Methods.QEMU.Parameters
	if d.DeviceType != "qemu" || p.Command != "qemu-system-x86_64" || !strings.Contains(strings.Join(p.Options, " "), "-m 1024") {
		t.Fatalf("device: %s", raw)
	}
	if _, ok := d.Actions.Deploy.Methods["image"]; !ok {
		t.Fatalf("deploy to tmpfs needs the image method: %s", raw)
	}
}
