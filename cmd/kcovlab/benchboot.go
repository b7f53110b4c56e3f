package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kcovlab/kcovlab/bench"
	"github.com/kcovlab/kcovlab/lab"
)

const benchUsage = `usage: kcovlab bench boot [flags]

boot  boots a cached kernel (--kernel, v2 by default; nothing is built)
      --boots times under each machine setup (--setups, all by default),
      interleaved, and breaks every boot down: QEMU exec -> first console
      byte -> the kernel's "Run /init" -> kcovinit up -> sshd listening ->
      SSH login -> the first command done, each as median (min..max) with
      the ratio of boot to SSH to the default setup's and the CPUs brought
      up. Then the build numbers the kernel cache recorded (the newest full
      rebuild, kcov.c variant and config-symbol variant; "not measured" when
      there is none). --json FILE writes it all as JSON too.
`

// cmdBench dispatches the bench's subcommands.
func cmdBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "boot":
			return cmdBenchBoot(args[1:], stdout, stderr)
		case "-h", "-help", "--help":
			fmt.Fprint(stdout, benchUsage)
			return exitPass
		}
	}
	fmt.Fprint(stderr, benchUsage)
	return exitUsage
}

func cmdBenchBoot(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench boot", flag.ContinueOnError)
	var o bench.BootOptions
	fs.IntVar(&o.Boots, "boots", 5, "boots per machine setup")
	setups := fs.String("setups", strings.Join(lab.MachineSetups(), ","), "comma-separated machine setups to time")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.Kernel, "kernel", lab.DefaultKernel, "a cached named kernel (kcovlab kernels)")
	verbose := commonFlags(fs, &o.Options, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
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
