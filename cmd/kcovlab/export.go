package main

import (
	"fmt"
	"io"
)

func cmdExport(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "kcovlab export: want lava")
	return exitUsage
}
