// Package cases is the expected-results table of the KCOV ioctls as
// check.Case rows: KCOV_UNIQUE_ENABLE and KCOV_RESET_TRACE from the dedup
// series, with KCOV_ENABLE rows beside them for contrast. Each row names
// the kernel/kcov.c lines of the series that decide its answer, and its
// Run sets up fresh fds, probes one ioctl and checks what it must leave
// behind. Run rows on a thread of their own (kcov.OnNewThread), so a row
// that fails half-way cannot leave coverage on for the next one.
//
// The rows only build for Linux and need a KCOV kernel; the ioctl and
// reset scenarios run them in the guest. The judging logic they feed is
// in package check and is tested on any host.
package cases
