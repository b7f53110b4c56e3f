package main

import (
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/lab"
)

func cmdStop(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, "usage: kcovlab stop RUN_DIR\n\nStops the guest `kcovlab run --keep` left up in RUN_DIR (SIGTERM to its QEMU,\nSIGKILL after 10 s) and removes its kept.json.\n\nexample:\n  kcovlab stop results/20261129-021500-123456\n")
		return exitPass
	}
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: kcovlab stop RUN_DIR")
		return exitUsage
	}
	if err := lab.Stop(args[0]); err != nil {
		return exitCode(err, stderr)
	}
	fmt.Fprintf(stdout, "stopped the guest kept in %s\n", args[0])
	return exitPass
}
