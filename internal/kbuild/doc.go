// Package kbuild builds the kernels kcovlab boots: it unpacks a kernel source
// once, configures it from tinyconfig plus config fragments, checks that every
// requested symbol landed, and builds bzImage and vmlinux with clang into a
// cache keyed by a hash of every input.
//
// Host needs: make, clang-NN (or clang) with lld and llvm tools of the same
// version, flex, bison, bc, libelf and libssl headers, tar and xz. One build
// runs at a time per cache (a lock file). Finished kernels are published by an
// atomic rename, so an interrupted build never looks complete.
//
// Tests: go test -short ./internal/kbuild/ (argv builders, keys, the cache
// logic with a fake make); real builds run in the e2e suite.
package kbuild
