package main

import (
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/scenarios"
)

// cmdScenarios lists the scenarios.
func cmdScenarios(args []string, stdout io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprintln(stdout, "usage: kcovlab scenarios\n\nLists every scenario with what it checks.")
		return exitPass
	}
	for _, n := range scenarios.Names() {
		fmt.Fprintf(stdout, "%-12s %s\n", n, scenarios.All[n].Summary)
	}
	return exitPass
}
