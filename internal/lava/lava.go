// Package lava writes what a LAVA lab needs to boot a kcovlab guest and run
// its scenarios: a job definition (device_type qemu, the kernel and the
// initramfs deployed to tmpfs, boot method qemu, an interactive test that
// drives the guest's console protocol, one LAVA test case per scenario)
// and a device file for lava-run on a worker.
//
// The guest side of the protocol is kcovinit's (images/kcovinit,
// kcovlab.console=1): a prompt, "run NAME ARGS", and a line
// "KCOVLAB-RESULT NAME VERDICT". The builders are pure: options in, YAML
// out. Tests: go test -short ./internal/lava/ (parsing the YAML back).
package lava

import (
	"bytes"
	"fmt"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// The guest's console protocol (images/kcovinit/console.go).
const (
	Prompt       = "kcovlab# "
	ResultMarker = "KCOVLAB-RESULT"
	ConsoleFlag  = "kcovlab.console=1"
)

// Test is one scenario the job runs.
type Test struct {
	Name string
	// Args follow the program's own (e.g. -kernel=unique).
	Args []string
}

// JobOptions describe one LAVA job: one boot, the tests in order.
type JobOptions struct {
	Name string
	// KernelURL and RamdiskURL are where the worker downloads the bzImage
	// and the initramfs (file:// for a worker on this machine).
	KernelURL, RamdiskURL string
	CPUs, MemoryMB        int
	KVM                   bool
	Tests                 []Test
	Metadata              map[string]string
	BootTimeout           time.Duration
	TestTimeout           time.Duration
}

type duration struct {
	Minutes int `yaml:"minutes"`
}

func minutes(d time.Duration) duration {
	m := int((d + time.Minute - 1) / time.Minute)
	return duration{Minutes: max(m, 1)}
}

type image struct {
	ImageArg string `yaml:"image_arg"`
	URL      string `yaml:"url"`
}

type message struct {
	Message string `yaml:"message"`
}

type command struct {
	Name      string    `yaml:"name"`
	Command   string    `yaml:"command"`
	Successes []message `yaml:"successes"`
	Failures  []message `yaml:"failures"`
}

type interactive struct {
	Name    string    `yaml:"name"`
	Prompts []string  `yaml:"prompts"`
	Echo    string    `yaml:"echo"`
	Script  []command `yaml:"script"`
}

type job struct {
	DeviceType string              `yaml:"device_type"`
	JobName    string              `yaml:"job_name"`
	Timeouts   map[string]duration `yaml:"timeouts"`
	Priority   string              `yaml:"priority"`
	Visibility string              `yaml:"visibility"`
	Context    map[string]any      `yaml:"context"`
	Metadata   map[string]string   `yaml:"metadata,omitempty"`
	Actions    []map[string]any    `yaml:"actions"`
}

// Append is the kernel command line of a LAVA boot: the serial console,
// panics end QEMU, and kcovinit serves the console protocol (no SSH key).
const Append = "console=ttyS0,115200 panic=-1 oops=panic " + ConsoleFlag

var testName = regexp.MustCompile(`^[a-z0-9_-]+$`)

// Job is the job definition's YAML.
func Job(o JobOptions) ([]byte, error) {
	if len(o.Tests) == 0 {
		return nil, fmt.Errorf("lava job %q: no scenario to run", o.Name)
	}
	if o.KernelURL == "" || o.RamdiskURL == "" {
		return nil, fmt.Errorf("lava job %q: kernel and initramfs URLs are needed", o.Name)
	}
	extra := []string{fmt.Sprintf("-smp %d", o.CPUs), "-machine q35", "-no-reboot"}
	if !o.KVM {
		extra = append(extra, "-cpu max")
	}
	var script []command
	for _, t := range o.Tests {
		if !testName.MatchString(t.Name) {
			return nil, fmt.Errorf("lava job %q: scenario name %q is no LAVA test case name", o.Name, t.Name)
		}
		line := "run " + t.Name
		for _, a := range t.Args {
			line += " " + a
		}
		mark := func(v string) message { return message{Message: ResultMarker + " " + t.Name + " " + v} }
		script = append(script, command{Name: t.Name, Command: line,
			// LAVA's interactive test knows pass and fail only: a skip
			// (the scenario does not apply) is not a failure of the kernel.
			Successes: []message{mark("pass"), mark("skip")},
			Failures:  []message{mark("fail"), mark("error")},
		})
	}
	j := job{
		DeviceType: "qemu",
		JobName:    o.Name,
		Timeouts: map[string]duration{
			"job":        minutes(o.BootTimeout + o.TestTimeout + 5*time.Minute),
			"action":     minutes(o.TestTimeout),
			"connection": minutes(o.TestTimeout),
		},
		Priority:   "medium",
		Visibility: "public",
		Context: map[string]any{
			"arch": "amd64", "no_kvm": !o.KVM, "memory": o.MemoryMB, "extra_options": extra,
		},
		Metadata: o.Metadata,
		Actions: []map[string]any{
			{"deploy": map[string]any{
				"to":      "tmpfs",
				"timeout": duration{Minutes: 5},
				"images": map[string]image{
					"kernel":  {ImageArg: fmt.Sprintf("-kernel {kernel} -append '%s'", Append), URL: o.KernelURL},
					"ramdisk": {ImageArg: "-initrd {ramdisk}", URL: o.RamdiskURL},
				},
			}},
			{"boot": map[string]any{
				"method": "qemu", "media": "tmpfs", "timeout": minutes(o.BootTimeout),
				"prompts": []string{Prompt},
			}},
			{"test": map[string]any{
				"timeout": minutes(o.TestTimeout),
				"interactive": []interactive{{
					Name: "kcovlab", Prompts: []string{Prompt}, Echo: "discard", Script: script,
				}},
			}},
		},
	}
	return marshal(j)
}

// DeviceOptions describe the worker's qemu device.
type DeviceOptions struct {
	QEMU     string // the binary [qemu-system-x86_64]
	MemoryMB int
}

// Device is a rendered qemu device configuration for lava-run --device,
// for a worker that runs the job on this machine.
func Device(o DeviceOptions) ([]byte, error) {
	qemu := o.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	d := map[string]any{
		"device_type":             "qemu",
		"available_architectures": []string{"amd64", "x86_64"},
		"constants": map[string]any{
			"posix": map[string]string{
				"lava_test_sh_cmd": "/bin/sh", "lava_test_results_dir": "/lava-%s", "lava_test_shell_file": "~/.bashrc",
			},
			"shutdown-message":     "The system is going down for reboot NOW",
			"kernel-start-message": "Linux version [0-9]",
			"default-shell-prompt": "lava-test: # ",
			"spawn_maxread":        "4092",
		},
		"actions": map[string]any{
			"deploy": map[string]any{
				"connections": map[string]any{"serial": nil, "lxc": nil},
				"methods": map[string]any{
					"image": map[string]any{"parameters": map[string]any{
						"guest": map[string]any{"size": 512, "interface": "ide", "driveid": "lavatest"}}},
				},
			},
			"boot": map[string]any{
				"connections": map[string]any{"serial": nil},
				"methods": map[string]any{
					"qemu": map[string]any{"parameters": map[string]any{
						"command":      qemu,
						"boot_options": map[string]string{"root": "/dev/ram0", "console": "ttyS0,115200", "boot_order": "c"},
						"options": []string{"-nographic", "-net nic,model=virtio -net user",
							fmt.Sprintf("-m %d", o.MemoryMB), "-monitor none"},
					}},
				},
			},
		},
		"timeouts": map[string]any{
			"actions": map[string]duration{
				"boot-qemu-image": {Minutes: 2}, "boot-image-retry": {Minutes: 2}, "http-download": {Minutes: 5}, "download-retry": {Minutes: 5},
			},
			"connections": map[string]duration{"lava-test-shell": {Minutes: 1}},
		},
	}
	return marshal(d)
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	err := enc.Close()
	return b.Bytes(), err
}
