// Package export is the export verb: a kernel and scenarios written down
// as a job for another test engine, so that a lab kcovlab does not drive
// runs them. Today that engine is LAVA (KernelCI, LKFT): LAVA writes the
// guest's bzImage and initramfs, a job definition and a device file for
// lava-run into a directory.
//
// It owns which scenarios a job can carry and where the files go. It asks
// lab for the kernel and its guest image (lab.PrepareGuest) and builds the
// YAML with internal/lava; it must not import another verb, nor reach
// QEMU, SSH or the guest image's builder.
//
// Host needs: those of lab's kernel and image builds; lava-run only for
// the optional validation test. Tests: go test -short ./export/ (a fake
// guest).
package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/filecopy"
	"github.com/kcovlab/kcovlab/internal/lava"
	"github.com/kcovlab/kcovlab/lab"
)

// LAVAOptions configure LAVA.
type LAVAOptions struct {
	// Options name the kernel (Kernel, Series, ...) and the Scenarios; CPUs,
	// MemoryMB, Accel, BootTimeout and ScenarioTimeout go into the job.
	lab.Options
	// Dir receives bzImage, initramfs.cpio, job.yaml and device.yaml.
	Dir string
	// BaseURL is where a LAVA worker finds the two files [file://DIR].
	BaseURL string

	// prepare [lab.PrepareGuest]; tests replace it.
	prepare func(context.Context, lab.Options) (*lab.Guest, error)
}

// lavaMachine is the machine setup of every LAVA job: lava.Job's -machine.
const lavaMachine = "q35"

// Files LAVA writes into Dir.
const (
	JobFile     = "job.yaml"
	DeviceFile  = "device.yaml"
	KernelFile  = "bzImage"
	RamdiskFile = "initramfs.cpio"
)

// LAVAResult is what LAVA wrote.
type LAVAResult struct {
	Dir   string
	Tests []string
	// Skipped scenarios do not apply to the kernel, with why.
	Skipped map[string]string
}

// LAVA writes a LAVA job for opts' kernel and scenarios into Dir.
func LAVA(ctx context.Context, o LAVAOptions) (*LAVAResult, error) {
	if o.Dir == "" {
		return nil, &lab.UsageError{Msg: "export lava: --out DIR is needed"}
	}
	if o.prepare == nil {
		o.prepare = lab.PrepareGuest
	}
	// LAVA's qemu device type boots q35 (the job says so), whose vCPUs and
	// virtio devices need the kernel's pc.config: the kernel is the "+pc"
	// flavour of the one named.
	o.Machine = lavaMachine
	if err := o.Defaults(); err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	g, err := o.prepare(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &lab.InfraError{Stage: "export", Err: err}
	}
	base := strings.TrimSuffix(o.BaseURL, "/")
	if base == "" {
		base = "file://" + dir
	}
	res := &LAVAResult{Dir: dir, Skipped: g.Skipped}
	jo := lava.JobOptions{
		Name:      fmt.Sprintf("kcovlab %s (%s): %s", g.Kernel.Name, g.Kernel.Key, strings.Join(o.Scenarios, ", ")),
		KernelURL: base + "/" + KernelFile, RamdiskURL: base + "/" + RamdiskFile,
		CPUs: o.CPUs, MemoryMB: o.MemoryMB, KVM: o.Accel == "kvm",
		BootTimeout: o.BootTimeout, TestTimeout: o.ScenarioTimeout * time.Duration(max(1, len(o.Scenarios))),
		Metadata: map[string]string{
			"kcovlab.kernel": g.Kernel.Name, "kcovlab.kernel_key": g.Kernel.Key, "kcovlab.image_key": g.ImageKey,
			"kcovlab.source": g.Kernel.SourceID, "kcovlab.compiler": g.Kernel.Compiler, "kcovlab.version": lab.Version,
		},
	}
	if jo.BootTimeout == 0 {
		jo.BootTimeout = 3 * time.Minute
	}
	for _, name := range o.Scenarios {
		args, ok := g.Args[name]
		if !ok {
			continue
		}
		jo.Tests = append(jo.Tests, lava.Test{Name: name, Args: args})
		res.Tests = append(res.Tests, name)
	}
	if len(jo.Tests) == 0 {
		return nil, &lab.UsageError{Msg: fmt.Sprintf("export lava: no scenario applies to kernel %s (%v)", g.Kernel.Name, g.Skipped)}
	}
	job, err := lava.Job(jo)
	if err != nil {
		return nil, &lab.UsageError{Msg: err.Error()}
	}
	device, err := lava.Device(lava.DeviceOptions{QEMU: o.QEMU, MemoryMB: o.MemoryMB})
	if err != nil {
		return nil, &lab.InfraError{Stage: "export", Err: err}
	}
	for _, f := range []struct {
		name string
		data []byte
		from string
	}{{KernelFile, nil, g.BzImage}, {RamdiskFile, nil, g.Initramfs}, {JobFile, job, ""}, {DeviceFile, device, ""}} {
		if err := write(filepath.Join(dir, f.name), f.data, f.from); err != nil {
			return nil, &lab.InfraError{Stage: "export", Err: err}
		}
	}
	return res, nil
}

// write puts data, or a copy of the file from, at path.
func write(path string, data []byte, from string) error {
	if from == "" {
		return os.WriteFile(path, data, 0o644)
	}
	return filecopy.Copy(path, from, 0o666)
}
