// Package callsites measures what sanitizer coverage costs in a kernel
// image: how many call sites each coverage hook has
// (__sanitizer_cov_trace_pc, __sanitizer_cov_trace_pc_guard, the comparison
// and switch hooks), how many bytes of code they take, and how big the
// __sancov_guards array is that CONFIG_KCOV_UNIQUE adds.
//
// Scan reads vmlinux with debug/elf and decodes the x86-64 code of every
// function symbol with golang.org/x/arch/x86/x86asm, counting the direct
// calls and jumps whose target is a hook, then decodes the bytes between
// the functions too (dead copies of overridden weak functions keep their
// sites and guards). Bytes that do not decode are skipped one at a time
// and counted. For the guard hook it also decodes the guard pointer load
// before each call and checks that every site names a guard of its own.
// It needs nothing on the host and takes about a second for a 20 MB
// vmlinux. Compare puts two reports side by
// side (trace-pc against trace-pc-guard, same config); WriteText renders
// either as a fixed-width table, and both are plain JSON-able structs.
//
// Tests compile testdata/sites.c with clang (clang, clang-22 or clang-19 on
// PATH; skipped when none is) under both coverage modes and check the counts
// against the hook relocations of the object file. TestBuiltKernels scans
// the kernels already built in the lab's cache and is skipped under -short.
package callsites
