package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/runs"
)

// poolFlag registers --jobs on a command that makes several runs: how
// many boot at once (0: from the host).
func poolFlag(fs *flag.FlagSet) *int {
	return fs.Int("jobs", 0, "runs (VMs) at once; 0: from the host's cores, the guests' --cpus and the accelerator, 1 while a kernel build holds the cores")
}

// checkPool rejects a negative --jobs; it prints what is wrong and returns
// false.
func checkPool(name string, jobs int, stderr io.Writer) bool {
	if jobs < 0 {
		fmt.Fprintf(stderr, "kcovlab %s: --jobs %d: want 1 or more runs at once (or 0 for the host's default)\n", name, jobs)
		return false
	}
	return true
}

// poolSize is --jobs, or the host's default when it is 0; it logs which.
func poolSize(ctx context.Context, jobs int, o lab.Options, log *slog.Logger) int {
	if jobs > 0 {
		log.Info("pool: runs at once", "jobs", jobs, "why", "--jobs")
		return jobs
	}
	n, why := runs.HostParallel(ctx, o)
	log.Info("pool: runs at once", "jobs", n, "why", why)
	return n
}
