package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kcovlab/kcovlab/lab"
	"golang.org/x/term"
)

func cmdShell(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	var o lab.Options
	scen := fs.String("scenario", "", "scenarios to run before the shell opens (default none)")
	fs.StringVar(&o.Kernel, "kernel", "", "named kernel to build and boot (see `kcovlab kernels`)")
	fs.StringVar(&o.Series, "series", "", "series to apply (as for run)")
	attach := fs.String("attach", "", "open the shell of the guest `kcovlab run --keep` left up in this run dir (boots nothing)")
	verbose := commonFlags(fs, &o, stderr)
	apply := loopFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: kcovlab shell [run flags]
       kcovlab shell --attach RUN_DIR

Boots the kernel and image as run does (scenarios, --put and --exec first,
if given) and opens u-root's shell (gosh) in the guest over SSH, on a pty
when stdin is a terminal. Leaving the shell (exit, Ctrl-D) stops QEMU.

examples:
  kcovlab shell --kernel v2
  kcovlab shell --kernel-image ~/linux/arch/x86/boot/bzImage --vmlinux ~/linux/vmlinux --append nokaslr
  kcovlab shell --attach results/20261129-021500-123456

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitPass
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcovlab shell: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	apply()
	if *scen != "" {
		o.Scenarios = strings.Split(*scen, ",")
	}
	t, restore, err := userTerminal()
	if err != nil {
		fmt.Fprintf(stderr, "kcovlab shell: %v\n", err)
		return exitInfra
	}
	defer restore()
	ctx, in := withInterrupts(stderr)
	defer in.stop()
	var code int
	if *attach != "" {
		code, err = lab.Attach(ctx, *attach, t)
	} else {
		if !checkCommon("shell", &o, stderr) {
			return exitUsage
		}
		// stdout is the shell's: the run's summary and notes go to stderr.
		o.Log, o.Out = newLogger(stderr, *verbose), stderr
		code, err = lab.Shell(ctx, o, t)
	}
	restore()
	if err != nil {
		return in.code(exitCode(err, stderr))
	}
	return code
}

// userTerminal is the user's terminal for the guest's shell: stdin in raw
// mode (restore puts it back) with window changes passed on when it is a
// terminal, plain streams otherwise.
func userTerminal() (lab.Terminal, func(), error) {
	t := lab.Terminal{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return t, func() {}, nil
	}
	cols, rows, err := term.GetSize(fd)
	if err != nil {
		cols, rows = 80, 24
	}
	t.Term, t.Rows, t.Cols = os.Getenv("TERM"), rows, cols
	if t.Term == "" {
		t.Term = "xterm"
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return t, nil, fmt.Errorf("raw terminal: %w", err)
	}
	resize := make(chan lab.WindowSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				if c, r, err := term.GetSize(fd); err == nil {
					select {
					case resize <- lab.WindowSize{Rows: r, Cols: c}:
					default:
					}
				}
			case <-stop:
				return
			}
		}
	}()
	t.Resize = resize
	done := false
	return t, func() {
		if !done {
			done = true
			signal.Stop(winch)
			close(stop)
			term.Restore(fd, old)
		}
	}, nil
}
