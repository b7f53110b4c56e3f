package main

import (
	"flag"
	"fmt"
	"io"
	"sync"
)

// Every subcommand makes its flag set with newFlagSet, which gives it the
// same usage output (the command's text, then its flags, hidden aliases
// left out) and records it, so that `kcovlab completion` knows each
// command's flags without running it.

var (
	flagSetsMu sync.Mutex
	flagSets   = map[string]*flag.FlagSet{}
	hidden     = map[*flag.FlagSet]map[string]bool{}
)

// newFlagSet returns a subcommand's flag set writing errors to stderr;
// usage is printed before the flags on -h.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		if usage == "" {
			usage = fmt.Sprintf("usage: kcovlab %s [flags]\n\nflags:\n", name)
		}
		fmt.Fprint(fs.Output(), usage)
		printFlags(fs)
	}
	flagSetsMu.Lock()
	flagSets[name] = fs
	flagSetsMu.Unlock()
	return fs
}

// hideFlag leaves a flag (an old spelling kept working) out of the usage
// and the completion.
func hideFlag(fs *flag.FlagSet, name string) {
	flagSetsMu.Lock()
	defer flagSetsMu.Unlock()
	if hidden[fs] == nil {
		hidden[fs] = map[string]bool{}
	}
	hidden[fs][name] = true
}

func isHidden(fs *flag.FlagSet, name string) bool {
	flagSetsMu.Lock()
	defer flagSetsMu.Unlock()
	return hidden[fs][name]
}

// printFlags is fs.PrintDefaults without the hidden flags.
func printFlags(fs *flag.FlagSet) {
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		if !isHidden(fs, f.Name) {
			shown.Var(f.Value, f.Name, f.Usage)
		}
	})
	shown.PrintDefaults()
}

// visibleFlags lists a subcommand's flags as completion offers them
// ("--name"), with whether each takes a value; nil for a command without
// flags. It runs the command's flag definitions only (as -h does).
func visibleFlags(cmd string) []completionFlag {
	flagSetsMu.Lock()
	fs := flagSets[cmd]
	flagSetsMu.Unlock()
	if fs == nil {
		dispatch([]string{cmd, "-h"}, io.Discard, io.Discard)
		flagSetsMu.Lock()
		fs = flagSets[cmd]
		flagSetsMu.Unlock()
	}
	if fs == nil {
		return nil
	}
	var out []completionFlag
	fs.VisitAll(func(f *flag.Flag) {
		if isHidden(fs, f.Name) {
			return
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		out = append(out, completionFlag{Name: f.Name, Value: !(ok && b.IsBoolFlag())})
	})
	return out
}

type completionFlag struct {
	Name  string
	Value bool // takes a value
}
