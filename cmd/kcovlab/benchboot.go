package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/bench"
	"github.com/kcovlab/kcovlab/lab"
)

// benchBootAbout is `kcovlab bench`'s line for boot.
const benchBootAbout = "boots a cached kernel (--kernel, v2 by default) --boots times under each machine setup (--setups), interleaved; each boot broken down (QEMU exec, first console byte, Run /init, kcovinit up, sshd listening, SSH login, first command) as median (min..max) with the ratio to the default setup; then the build numbers the cache recorded; --json FILE"

func cmdBenchBoot(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench boot", "usage: kcovlab bench boot [flags]\n\n"+benchBootAbout+"\n\nflags:\n", stderr)
	var o bench.BootOptions
	fs.IntVar(&o.Boots, "boots", 5, "boots per machine setup")
	setups := fs.String("setups", strings.Join(lab.MachineSetups(), ","), "comma-separated machine setups to time")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.Kernel, "kernel", lab.DefaultKernel, "a cached named kernel (kcovlab kernels)")
	verbose := commonFlags(fs, &o.Options, stderr)
	if rest, err := parseArgs(fs, args); err != nil {
		return exitUsage
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "kcovlab bench boot: unexpected arguments %q\n", rest)
		return exitUsage
	}
	if o.Boots < 1 {
		fmt.Fprintf(stderr, "kcovlab bench boot: --boots %d: want 1 or more\n", o.Boots)
		return exitUsage
	}
	o.Setups = strings.Split(*setups, ",")
	if !checkCommon("bench boot", &o.Options, stderr) {
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	rep, err := bench.Boot(ctx, o)
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	rep.WriteText(stdout)
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintf(stderr, "kcovlab bench boot: %v\n", err)
			return exitInfra
		}
	}
	return in.code(exitPass)
}
