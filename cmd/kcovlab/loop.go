package main

import (
	"flag"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// loopFlags registers the daily-loop flags run and shell share (--append
// is every verb's, in commonFlags); apply copies them into o after parsing.
func loopFlags(fs *flag.FlagSet, o *lab.Options) (apply func()) {
	var qemuArgs, puts, execs multiFlag
	fs.StringVar(&o.KernelImage, "kernel-image", "", "boot this bzImage as it is (your own build; no kernel build)")
	fs.StringVar(&o.Vmlinux, "vmlinux", "", "the --kernel-image's vmlinux, to symbolize PCs (its .config beside it tells the kernel class)")
	fs.Var(&qemuArgs, "qemu-arg", "one extra QEMU argument, after kcovlab's (repeatable: --qemu-arg -device --qemu-arg pvpanic)")
	fs.Var(&puts, "put", "copy a static host program into the guest, FILE[:GUESTPATH] (default /bin/BASENAME; repeatable)")
	fs.Var(&execs, "exec", "run this command in the guest after the scenarios, recorded like a scenario (repeatable)")
	fs.BoolVar(&o.GDB, "gdb", false, "start QEMU's gdb stub on a free 127.0.0.1 port and print the gdb command (adds nokaslr)")
	return func() {
		o.QEMUArgs, o.Puts, o.Execs = qemuArgs, puts, execs
	}
}
