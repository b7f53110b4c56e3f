package kbuild

import (
	"fmt"
	"strconv"
)

// MakeOptions describe one make invocation in a kernel tree.
type MakeOptions struct {
	SourceDir string
	OutDir    string
	LLVM      string // value of LLVM=
	Jobs      int
	Targets   []string
}

// Argv turns o into make's argument vector. Reproducibility variables are
// fixed so two builds of the same inputs differ only where kbuild insists.
func (o MakeOptions) Argv() ([]string, error) {
	if o.SourceDir == "" || o.OutDir == "" {
		return nil, fmt.Errorf("make: source and output dirs are required")
	}
	if o.LLVM == "" {
		return nil, fmt.Errorf("make: LLVM= is required (kcovlab builds with clang only)")
	}
	if len(o.Targets) == 0 {
		return nil, fmt.Errorf("make: no targets")
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 1
	}
	argv := []string{
		"make", "-C", o.SourceDir, "O=" + o.OutDir,
		"-j" + strconv.Itoa(jobs),
		"ARCH=x86_64",
		"LLVM=" + o.LLVM,
		"KBUILD_BUILD_USER=kcovlab",
		"KBUILD_BUILD_HOST=kcovlab",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01",
	}
	return append(argv, o.Targets...), nil
}

// UntarArgv unpacks a kernel tarball into dir.
func UntarArgv(tarball, dir string) []string {
	return []string{"tar", "-xf", tarball, "-C", dir, "--no-same-owner"}
}
