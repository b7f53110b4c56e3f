// Package kconfig reads, merges and checks Linux kernel configuration for
// kcovlab's clang KCOV kernels.
//
// A Fragment is a small file of CONFIG_ assignments (kernel-configs/*.config)
// that the lab appends to a defconfig with AppendFragments before running
// `make olddefconfig`. Kconfig silently drops any request whose dependencies
// are unmet, so after the build's config step Validate compares every
// fragment entry with the final .config and returns a *ValidationError that
// lists each symbol that did not land. Given a DepLookup (usually a
// *KconfigIndex built by IndexKconfig from the kernel source tree) each
// mismatch also names the symbol's `depends on` expression and the symbols in
// it that are not satisfied.
//
// The package needs nothing on the host beyond the files it is pointed at: it
// never runs make or the kernel's kconfig tools. IndexKconfig only scans
// Kconfig files textually; it does not follow `source` lines or expand
// macros, so dependencies inherited through a sourcing file are not seen.
// Use IndexKconfigArch to keep other architectures' definitions of a symbol
// out of its dependencies.
//
// Tests run with plain `go test` against a synthetic tree in testdata/;
// golden files there are rewritten with `go test ./internal/kconfig/ -update`.
// A test that indexes a real kernel tree runs only when
// /tmp/proto/linux-source-6.12 exists and -short is not given.
package kconfig
