package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/report"
	"github.com/kcovlab/kcovlab/lab"
)

// parseArgs parses flags before, between and after the positional
// arguments (compare A B --runs 5 as well as compare --runs 5 A B) and
// returns the positional ones; after "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// commonFlags registers the flags run, nightly and compare share.
func commonFlags(fs *flag.FlagSet, o *lab.Options, stderr io.Writer) *bool {
	fs.SetOutput(stderr)
	fs.StringVar(&o.Tarball, "tarball", kbuild.DefaultTarball, "kernel source tarball")
	fs.StringVar(&o.KernelSrc, "kernel-src", "", "local kernel source tree (default: unpack --tarball)")
	fs.StringVar(&o.ModuleDir, "src", "", "kcovlab source dir, for the guest image (default: found from the working dir)")
	fs.StringVar(&o.CacheDir, "cache", lab.DefaultCacheDir(), "cache for sources, kernels and images")
	fs.StringVar(&o.ResultsDir, "results", "", "results root (default: <src>/results)")
	fs.StringVar(&o.Accel, "accel", "auto", "auto (probe KVM, fall back to TCG), kvm or tcg")
	fs.StringVar(&o.QEMU, "qemu", "qemu-system-x86_64", "QEMU binary")
	fs.IntVar(&o.CPUs, "cpus", 2, "guest vCPUs")
	fs.StringVar(&o.Machine, "machine", lab.DefaultMachine, "machine setup: "+strings.Join(lab.MachineSetups(), ", "))
	fs.IntVar(&o.MemoryMB, "memory", 1024, "guest memory in MiB")
	fs.IntVar(&o.Jobs, "make-jobs", runtime.NumCPU(), "make -j of a kernel build")
	fs.DurationVar(&o.BootTimeout, "boot-timeout", 0, "boot-to-SSH limit (default 3m under TCG, 1m under KVM)")
	fs.DurationVar(&o.ScenarioTimeout, "scenario-timeout", 5*time.Minute, "limit per scenario")
	fs.IntVar(&o.BootRuns, "boot-runs", 0, "boots per boot-gate scenario (default: the scenario's; bootgate 5)")
	fs.Func("append", "kernel command-line words for every boot, e.g. 'nokaslr initramfs_async=0' (repeatable)", func(v string) error {
		o.Append = append(o.Append, strings.Fields(v)...)
		if strings.TrimSpace(v) == "" {
			o.Append = append(o.Append, "") // refused by the checks, with the flag's name
		}
		return nil
	})
	return fs.Bool("v", false, "log debug lines (commands run)")
}

// isTerminal is true when w is a terminal (colours and live progress then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && report.IsTerminal(f)
}

// newLogger prints plain timestamped lines: "12:00:01 kernel: building steps=12".
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	if isTerminal(w) {
		return slog.New(newLiveHandler(w, level))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05"))
			}
			return a
		},
	}))
}
