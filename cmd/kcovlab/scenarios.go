package main

import (
	"fmt"
	"io"

	"github.com/kcovlab/kcovlab/scenarios"
)

// cmdScenarios lists the scenarios.
func cmdScenarios(stdout io.Writer) int {
	for _, n := range scenarios.Names() {
		fmt.Fprintf(stdout, "%-12s %s\n", n, scenarios.All[n].Summary)
	}
	return exitPass
}
