package kbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Toolchain is the clang a kernel is built with.
type Toolchain struct {
	// CC is the compiler command, e.g. "clang-22".
	CC string
	// LLVM is the value of make's LLVM= variable: "-22" for suffixed tools,
	// "1" for unsuffixed ones.
	LLVM string
	// Major is clang's major version.
	Major int
	// Version is the first line of `CC --version`.
	Version string
}

var clangName = regexp.MustCompile(`^clang(-(\d+))?$`)
var clangVersion = regexp.MustCompile(`clang version (\d+)\.`)

// FindClang returns the newest clang on PATH whose major version is at least
// minMajor (0 for any). The tools of the same suffix (ld.lld-NN, llvm-ar-NN)
// must be there too; a clang without them is skipped.
func FindClang(ctx context.Context, minMajor int) (Toolchain, error) {
	var found []Toolchain
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			m := clangName.FindStringSubmatch(e.Name())
			if m == nil || seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			tc, err := probeClang(ctx, e.Name(), m[1])
			if err == nil {
				found = append(found, tc)
			}
		}
	}
	return pickClang(found, minMajor)
}

func pickClang(found []Toolchain, minMajor int) (Toolchain, error) {
	var best Toolchain
	var seen []string
	for _, tc := range found {
		seen = append(seen, fmt.Sprintf("%s (%d)", tc.CC, tc.Major))
		if tc.Major >= minMajor && tc.Major > best.Major {
			best = tc
		}
	}
	if best.CC == "" {
		have := "none"
		if len(seen) > 0 {
			have = strings.Join(seen, ", ")
		}
		return Toolchain{}, fmt.Errorf("need clang >= %d with lld and llvm tools of the same version (found: %s); "+
			"install e.g. clang-22 lld-22 llvm-22 from Debian", minMajor, have)
	}
	return best, nil
}

func probeClang(ctx context.Context, cc, suffix string) (Toolchain, error) {
	for _, tool := range []string{"ld.lld", "llvm-ar", "llvm-nm", "llvm-objcopy"} {
		if _, err := exec.LookPath(tool + suffix); err != nil {
			return Toolchain{}, err
		}
	}
	out, err := exec.CommandContext(ctx, cc, "--version").Output()
	if err != nil {
		return Toolchain{}, err
	}
	first, _, _ := strings.Cut(string(out), "\n")
	m := clangVersion.FindStringSubmatch(first)
	if m == nil {
		return Toolchain{}, fmt.Errorf("%s: unrecognised version %q", cc, first)
	}
	major, _ := strconv.Atoi(m[1])
	llvm := "1"
	if suffix != "" {
		llvm = suffix
	}
	return Toolchain{CC: cc, LLVM: llvm, Major: major, Version: strings.TrimSpace(first)}, nil
}
