package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/lab"
)

const kernelsUsage = `usage: kcovlab kernels [--kernel-src TREE | --tarball FILE] [--cache DIR]

Lists the named kernels, each with whether it is built in the cache from
today's inputs for the source given (the default tarball, another
--tarball, or a --kernel-src tree), then every kernel in the cache
whatever it was built from: its name, the source it was built from, its
compiler and when.

examples:
  kcovlab kernels
  kcovlab kernels --kernel-src ~/linux     # which named kernels are built from ~/linux

flags:
`

func cmdKernels(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kernels", kernelsUsage, stderr)
	o := lab.Options{}
	fs.StringVar(&o.CacheDir, "cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	fs.StringVar(&o.Tarball, "tarball", kbuild.DefaultTarball, "kernel source tarball")
	fs.StringVar(&o.KernelSrc, "kernel-src", "", "local kernel source tree (default: unpack --tarball)")
	fs.StringVar(&o.ModuleDir, "src", "", "kcovlab source dir (default: found from the working dir)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab kernels: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if o.KernelSrc != "" {
		if err := kbuild.CheckTree(o.KernelSrc); err != nil {
			fmt.Fprintf(stderr, "kcovlab kernels: %v\n", err)
			return exitUsage
		}
	}
	source := o.Tarball
	if o.KernelSrc != "" {
		source = o.KernelSrc
	}
	ctx := context.Background()
	fmt.Fprintf(stdout, "named kernels, [built] from %s:\n", source)
	var whyUnknown error
	for _, name := range lab.KernelNames() {
		k := lab.Kernels[name]
		state := "not built"
		bo := o
		bo.Kernel = name
		switch ok, err := lab.Built(ctx, bo); {
		case err != nil:
			state, whyUnknown = "unknown", err
		case ok:
			state = "built"
		}
		fmt.Fprintf(stdout, "%-16s %s [%s]\n", name, k.Description, state)
		fmt.Fprintf(stdout, "%-16s   %s\n", "", k)
	}
	if whyUnknown != nil {
		fmt.Fprintf(stderr, "kcovlab kernels: [unknown]: %v\n", whyUnknown)
	}
	fmt.Fprintf(stdout, "\n[built]: in the cache from today's inputs (source, series, fragments, compiler)\nevery kernel in %s:\n", o.CacheDir)
	built, err := lab.BuiltKernels(o.CacheDir)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab kernels: %v\n", err)
		return exitInfra
	}
	writeCacheTable(stdout, built)
	return exitPass
}

// writeCacheTable lists cached kernels: key, name, the source they were
// built from (a tarball or a --kernel-src tree), build time and compiler.
func writeCacheTable(w io.Writer, built []kbuild.Meta) {
	if len(built) == 0 {
		fmt.Fprintln(w, "  none yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tNAME\tSOURCE\tBUILT\tCOMPILER")
	for _, b := range built {
		name := b.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", b.Key, name, b.Source, b.BuiltAt, b.Compiler)
	}
	tw.Flush()
}
