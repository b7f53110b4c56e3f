package kbuild

import (
	"context"
	"errors"
	"fmt"
	"github.com/kcovlab/kcovlab/internal/filecopy"
	"github.com/kcovlab/kcovlab/internal/proc"
	"os"
	"path/filepath"
)

const selftestName = "kcov_test"

// SelftestSourceName is the selftest's C source as built, kept beside the
// kernel: known defects are keyed on its hash, and a kernel moved to
// another machine (kcovlab cache export) has no source tree there.
const SelftestSourceName = "kcov_test.c"

// SelftestOptions describe the static build of one selftest C file.
type SelftestOptions struct {
	CC      string
	Source  string // the .c file
	Headers string // installed uapi headers (make headers: O=/usr/include)
	Include string // tools/testing/selftests, for kselftest_harness.h
	Out     string
}

// Argv is the compiler command line: static, so the guest needs no libc.
func (o SelftestOptions) Argv() []string {
	return []string{o.CC, "-static", "-O2", "-Wall", "-D_GNU_SOURCE",
		"-isystem", o.Headers, "-I", o.Include, "-o", o.Out, o.Source, "-lpthread"}
}

// selftest builds Spec.Selftest when the source has it: the uapi headers
// first (they carry the series' new ioctls), then the static binary.
func (b *builder) selftest(ctx context.Context) error {
	if b.spec.Selftest == "" {
		return nil
	}
	src := filepath.Join(b.spec.Source.Dir, b.spec.Selftest)
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		b.log.Info("kernel: no selftest in this source", "file", b.spec.Selftest)
		return nil
	}
	if err := b.make(ctx, "selftest", []string{"headers"}, false); err != nil {
		return err
	}
	o := SelftestOptions{
		CC: b.spec.Toolchain.CC, Source: src,
		Headers: filepath.Join(b.tree, "usr", "include"),
		Include: filepath.Join(b.spec.Source.Dir, "tools", "testing", "selftests"),
		Out:     filepath.Join(b.staging, selftestName),
	}
	argv := o.Argv()
	lf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "$ %s\n", proc.Quote(argv))
	cmd := proc.Command(ctx, argv)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return &BuildError{Stage: "selftest", Argv: argv, LogPath: b.logPath, Tail: logTail(b.logPath, 15), Err: err}
	}
	if err := filecopy.Copy(filepath.Join(b.staging, SelftestSourceName), src, 0o666); err != nil {
		return err
	}
	b.log.Info("kernel: selftest built", "file", b.spec.Selftest)
	return nil
}
