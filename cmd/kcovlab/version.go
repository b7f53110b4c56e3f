package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is kcovlab's version from the build info: the module version,
// the VCS revision and whether the tree was modified ("dev" when go run or
// a test built it without VCS stamps).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v // a module version; a pseudo-version holds the revision and +dirty
	}
	v = "devel"
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if modified == "true" {
			v += "-dirty"
		}
	}
	return v
}

func cmdVersion(args []string, stdout io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprintln(stdout, "usage: kcovlab version\n\nPrints kcovlab's version: module version, VCS revision, -dirty for a modified tree. result.json records it as lab_version.")
		return exitPass
	}
	fmt.Fprintln(stdout, "kcovlab", version())
	return exitPass
}
