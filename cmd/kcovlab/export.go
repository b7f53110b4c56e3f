package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kcovlab/kcovlab/export"
)

const exportUsage = `usage: kcovlab export lava --kernel NAME --scenario a,b --out DIR [--base-url URL]

Writes a LAVA job for the kernel and the scenarios into DIR: the kernel's
bzImage and its guest initramfs (built, or taken from the cache), job.yaml
(device_type qemu, both deployed to tmpfs, boot method qemu, an interactive
test that runs each scenario program on the guest's serial console and maps
its verdict to a LAVA test case) and device.yaml, a qemu device for
lava-run on a worker:

  lava-run --job-id 1 --output-dir out --device DIR/device.yaml DIR/job.yaml

The job downloads the two files from --base-url (default file://DIR, a
worker on this machine). In LAVA the scenario programs judge themselves:
the host-side judges (console watch, symbolized evidence, guardrace's and
irqnoise's host checks, the selftest's known defects) do not run there, and
scenarios that need fresh boots of their own (bootgate, guardrace) are
refused; a skip counts as a LAVA pass.

flags:
`

func cmdExport(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "lava" {
		fmt.Fprint(stderr, exportUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("export lava", flag.ContinueOnError)
	var o export.LAVAOptions
	scen := fs.String("scenario", "smoke", "comma-separated scenarios the job runs")
	fs.StringVar(&o.Kernel, "kernel", "", "named kernel (see `kcovlab kernels`; default vanilla)")
	fs.StringVar(&o.Series, "series", "", "series instead of a named kernel's (as kcovlab run --series)")
	fs.StringVar(&o.Dir, "out", "", "directory for bzImage, initramfs.cpio, job.yaml, device.yaml")
	fs.StringVar(&o.BaseURL, "base-url", "", "where the LAVA worker downloads bzImage and initramfs.cpio (default file://OUT)")
	verbose := commonFlags(fs, &o.Options, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab export lava: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	o.Scenarios = strings.Split(*scen, ",")
	if !checkCommon("export", &o.Options, stderr) {
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	res, err := export.LAVA(ctx, o)
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	fmt.Fprintf(stdout, "LAVA job: %s/%s (test cases: %s), device: %s/%s\n", res.Dir, export.JobFile, strings.Join(res.Tests, ", "), res.Dir, export.DeviceFile)
	var skipped []string
	for n, why := range res.Skipped {
		skipped = append(skipped, n+" ("+why+")")
	}
	sort.Strings(skipped)
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "left out: %s\n", strings.Join(skipped, ", "))
	}
	return exitPass
}
