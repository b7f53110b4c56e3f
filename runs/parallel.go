package runs

import (
	"context"
	"fmt"
	"runtime"

	"github.com/kcovlab/kcovlab/lab"
)

// TCGOvercommit is how many guest vCPUs a host core carries under TCG. A
// TCG guest has one host thread per vCPU (MTTCG), but a run's guest spends
// much of its time waiting (firmware, SSH, the host's judging). Measured on
// 2 cores with 2-vCPU guests (compare vanilla v2 --runs 4 --scenario
// smoke,ioctl, 8 runs, load average 16-23 from another build): --jobs 2
// 103 s, 4 75 s, 8 70 s, with boots of up to 41 s at 4 and 59 s at 8
// against a 3 min limit. Four vCPUs per core takes most of the gain and
// keeps boots well inside the limit.
const TCGOvercommit = 4

// DefaultParallel is how many runs boot at once by default on a host with
// cores CPUs, for guests of cpus vCPUs under accel ("kvm" or "tcg"), and
// why: under KVM one vCPU per core, under TCG TCGOvercommit vCPUs per core,
// and one while a kernel build has the cores (buildHolder says who).
func DefaultParallel(cores, cpus int, accel string, building bool, buildHolder string) (int, string) {
	cpus = max(cpus, 1)
	if building {
		return 1, fmt.Sprintf("a kernel build holds the cores (%s)", buildHolder)
	}
	if accel == "kvm" {
		return max(1, cores/cpus), fmt.Sprintf("KVM: %d cores / %d vCPUs per guest", cores, cpus)
	}
	return max(1, TCGOvercommit*cores/cpus), fmt.Sprintf("TCG: %d cores x %d / %d vCPUs per guest", cores, TCGOvercommit, cpus)
}

// HostParallel is DefaultParallel for this host and o's guests (--cpus,
// --accel, probing KVM for auto; the build lock of o's cache).
func HostParallel(ctx context.Context, o lab.Options) (int, string) {
	cpus, cache := o.CPUs, o.CacheDir
	if cpus == 0 {
		cpus = 2
	}
	if cache == "" {
		cache = lab.DefaultCacheDir()
	}
	accel, _ := lab.Accelerator(ctx, o)
	building, holder := lab.BuildRunning(cache)
	return DefaultParallel(runtime.NumCPU(), cpus, accel, building, holder)
}
