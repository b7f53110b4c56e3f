package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/lab"
)

const cacheUsage = `usage: kcovlab cache export KEY FILE | cache import [--key KEY] FILE

export writes the cached kernel with cache key KEY (kcovlab plan prints each
kernel's key; kcovlab kernels lists the built ones), its guest image when
cached, and its selftest source into FILE, every file with its SHA-256.
import puts them into this machine's cache once every checksum matches and
the kernel carries the key the file names (and --key, when given); nothing
reaches the cache otherwise, and an entry the cache has is left alone.

exit codes: 0 done, 2 not a cache file, or another kernel than --key,
3 the file is damaged (a checksum, a missing or extra file) or the cache
could not be written

flags:
`

func cmdCache(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprint(stderr, cacheUsage)
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("cache "+sub, flag.ContinueOnError)
	var o lab.Options
	fs.SetOutput(stderr)
	fs.StringVar(&o.CacheDir, "cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	fs.StringVar(&o.ModuleDir, "src", "", "kcovlab source dir, for the guest image's key (default: found from the working dir)")
	key := fs.String("key", "", "import: the kernel key the file must hold")
	verbose := fs.Bool("v", false, "log debug lines")
	fs.Usage = func() {
		fmt.Fprint(stderr, cacheUsage)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return exitUsage
	}
	o.Log = newLogger(stderr, *verbose)
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	switch {
	case sub == "export" && len(pos) == 2:
		m, err := lab.ExportKernel(ctx, o, pos[0], pos[1])
		if err != nil {
			return in.code(exitCode(err, stderr))
		}
		image := "no image (not cached)"
		if m.Image != "" {
			image = "image " + m.Image
		}
		fmt.Fprintf(stdout, "exported kernel %s (key %s), %s, %d files: %s\n", m.Name, m.Kernel, image, len(m.Files), pos[1])
		return exitPass
	case sub == "import" && len(pos) == 1:
		im, err := lab.ImportKernel(ctx, o, pos[0], *key)
		if err != nil {
			return in.code(exitCode(err, stderr))
		}
		m := im.Manifest
		fmt.Fprintf(stdout, "imported kernel %s (key %s, %s)", m.Name, m.Kernel, newOrKept(im.KernelNew))
		if m.Image != "" {
			fmt.Fprintf(stdout, ", image %s (%s)", m.Image, newOrKept(im.ImageNew))
		}
		fmt.Fprintf(stdout, " into %s\n", o.CacheDir)
		return exitPass
	}
	fmt.Fprint(stderr, cacheUsage)
	return exitUsage
}

func newOrKept(isNew bool) string {
	if isNew {
		return "new"
	}
	return "already cached"
}
