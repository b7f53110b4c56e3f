package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/lab"
)

func cmdKernels(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache := fs.String("cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	for _, name := range lab.KernelNames() {
		k := lab.Kernels[name]
		state := "not built"
		if ok, _ := lab.Built(context.Background(), lab.Options{Kernel: name, CacheDir: *cache}); ok {
			state = "built"
		}
		fmt.Fprintf(stdout, "%-16s %s [%s]\n", name, k.Description, state)
		fmt.Fprintf(stdout, "%-16s   %s\n", "", k)
	}
	fmt.Fprintf(stdout, "\n[built]: in the cache from today's inputs (source, series, fragments, compiler)\nevery kernel in %s:\n", *cache)
	built, err := lab.BuiltKernels(*cache)
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab kernels: %v\n", err)
		return exitInfra
	}
	for _, b := range built {
		fmt.Fprintf(stdout, "  %s  %-20s %s  %s\n", b.Key, b.Name, b.Compiler, b.BuiltAt)
	}
	if len(built) == 0 {
		fmt.Fprintln(stdout, "  none yet")
	}
	return exitPass
}
