package bisect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kcovlab/kcovlab/lab"
)

// Check judges a bisect step on one metric of the scenario's result instead
// of its verdict: "errno==0" holds when the metric errno is 0.
type Check struct {
	Metric string
	Op     string // ==, !=, <, <=, >, >=
	Value  float64
}

// checkOps are tried longest first, so "<=" is not read as "<".
var checkOps = []string{"==", "!=", "<=", ">=", "<", ">"}

// ParseCheck reads METRIC OP NUMBER, spaces allowed around OP.
func ParseCheck(expr string) (Check, error) {
	bad := func(why string) (Check, error) {
		return Check{}, &lab.UsageError{Msg: fmt.Sprintf("--check %q: %s; want METRIC OP NUMBER with OP one of %s, e.g. 'errno==0'",
			expr, why, strings.Join(checkOps, " "))}
	}
	i := strings.IndexAny(expr, "=!<>")
	if i < 0 {
		return bad("no comparison")
	}
	c := Check{Metric: strings.TrimSpace(expr[:i])}
	for _, op := range checkOps {
		if strings.HasPrefix(expr[i:], op) {
			c.Op = op
			break
		}
	}
	if c.Op == "" {
		return bad(fmt.Sprintf("%q is not a comparison", expr[i:min(i+2, len(expr))]))
	}
	if c.Metric == "" || strings.ContainsAny(c.Metric, " \t") {
		return bad("the metric name is missing or has spaces")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(expr[i+len(c.Op):]), 64)
	if err != nil {
		return bad("the right side is not a number")
	}
	c.Value = v
	return c, nil
}

// Holds applies the comparison to a metric's value.
func (c Check) Holds(v float64) bool {
	switch c.Op {
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	}
	return false
}

func (c Check) String() string {
	return c.Metric + c.Op + strconv.FormatFloat(c.Value, 'g', -1, 64)
}
