package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
	"github.com/kcovlab/kcovlab/scenarios"
)

// Kernels and scenarios are named the same way in every subcommand:
// --kernel NAME[,NAME...] and --scenario NAME[,NAME...], each flag
// repeatable (the lists add up), "all" meaning every one. A subcommand that
// takes one kernel or one scenario says so when given more.

// all names every kernel or every scenario.
const all = "all"

// nameList is a repeatable flag of comma-separated names.
type nameList struct {
	names []string
	set   bool // given on the command line (the first use replaces the default)
}

func newNameList(def ...string) *nameList { return &nameList{names: def} }

func (l *nameList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.names, ",")
}

func (l *nameList) Set(v string) error {
	if !l.set {
		l.names, l.set = nil, true
	}
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return fmt.Errorf("empty name in %q", v)
		}
		l.names = append(l.names, n)
	}
	return nil
}

// list is the names with "all" expanded to every known one, in order and
// without repeats.
func (l *nameList) list(every []string) []string {
	var out []string
	for _, n := range l.names {
		add := []string{n}
		if n == all {
			add = every
		}
		for _, a := range add {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// kernelsOf expands and checks --kernel: every name must be a named kernel,
// or, with seriesOK, a series (an mbox, a directory of .patch files or
// REPO:RANGE).
func kernelsOf(l *nameList, seriesOK bool) ([]string, error) {
	names := l.list(lab.KernelNames())
	for _, n := range names {
		if _, err := lab.LookupKernel(n); err == nil || (seriesOK && looksLikeSeries(n)) {
			continue
		}
		err := fmt.Errorf("--kernel: unknown kernel %q (known: %s, or %s; `kcovlab kernels` lists them)", n, strings.Join(lab.KernelNames(), ", "), all)
		if seriesOK {
			err = fmt.Errorf("--kernel: unknown kernel %q: not a named kernel (%s) nor a series (an mbox, a directory of .patch files or REPO:RANGE)", n, strings.Join(lab.KernelNames(), ", "))
		}
		return nil, err
	}
	return names, nil
}

// looksLikeSeries is true for a series spec: REPO:RANGE, or a file or
// directory that exists.
func looksLikeSeries(spec string) bool {
	if repo, rng, ok := strings.Cut(spec, ":"); ok && repo != "" && rng != "" {
		return true
	}
	_, err := os.Stat(spec)
	return err == nil
}

// scenariosOf expands and checks --scenario.
func scenariosOf(l *nameList) ([]string, error) {
	names := l.list(scenarios.Names())
	for _, n := range names {
		if _, ok := scenarios.All[n]; !ok {
			return nil, fmt.Errorf("--scenario: unknown scenario %q (known: %s, or %s; `kcovlab scenarios` lists them)", n, strings.Join(scenarios.Names(), ", "), all)
		}
	}
	return names, nil
}

// one is the single name a subcommand takes from a list flag.
func one(flagName string, names []string, why string) (string, error) {
	switch len(names) {
	case 0:
		return "", nil
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("--%s %s: %s", flagName, strings.Join(names, ","), why)
}

// kernelFlag registers --kernel (and the hidden alias --kernels, the
// spelling nightly and ask had) on fs.
func kernelFlag(fs *flag.FlagSet, usage string, def ...string) *nameList {
	l := newNameList(def...)
	fs.Var(l, "kernel", usage)
	fs.Var(l, "kernels", "")
	hideFlag(fs, "kernels")
	return l
}

// scenarioFlag registers --scenario on fs.
func scenarioFlag(fs *flag.FlagSet, usage string, def ...string) *nameList {
	l := newNameList(def...)
	fs.Var(l, "scenario", usage)
	return l
}

// checkInputs checks the files a run's flags name before anything runs:
// --fragments in the fragment directory, --series (a shipped name, an
// existing mbox or directory, or REPO:RANGE) and --mutant.
func checkInputs(o *lab.Options) error {
	dir := o.ModuleDir
	if dir == "" {
		d, err := lab.FindModuleDir()
		if err != nil {
			return err
		}
		dir = d
	}
	cfgDir := o.ConfigDir
	if cfgDir == "" {
		cfgDir = filepath.Join(dir, "kernel-configs")
	}
	for _, f := range o.Fragments {
		if _, err := os.Stat(filepath.Join(cfgDir, f)); err != nil {
			return fmt.Errorf("--fragments: no fragment %q in %s", f, cfgDir)
		}
	}
	if s := o.Series; s != "" && !looksLikeSeries(s) {
		if fi, err := os.Stat(filepath.Join(dir, "patches", s)); err != nil || !fi.IsDir() || strings.ContainsAny(s, "/") {
			return fmt.Errorf("--series %s: not a shipped series (patches/v2, patches/v4), an existing mbox or directory of .patch files, nor REPO:RANGE", s)
		}
	}
	if m := o.Mutant; m != "" {
		if fi, err := os.Stat(m); err != nil || fi.IsDir() {
			return fmt.Errorf("--mutant %s: not a patch file (the mutants are patches/mutants/SERIES/NN-NAME.patch)", m)
		}
	}
	return nil
}
