package ask

import (
	"fmt"
	"strings"
)

// citation is one line of kernel source an answer rests on, as read from
// the tree the kernel was built from.
type citation struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

func (c citation) String() string { return fmt.Sprintf("%s:%d `%s`", c.Path, c.Line, c.Text) }

// cite finds the first line of src containing want, at or after the first
// line containing after (a function's signature, so that the line is the
// one in that function; "" for the file's start). It fails, naming what is
// missing, when either is not there: an answer must not cite a line the
// built source does not have.
func cite(src []byte, path, after, want string) (citation, error) {
	lines := strings.Split(string(src), "\n")
	start := 0
	if after != "" {
		start = -1
		for i, l := range lines {
			if strings.Contains(l, after) {
				start = i
				break
			}
		}
		if start < 0 {
			return citation{}, fmt.Errorf("%s: no line with %q", path, after)
		}
	}
	for i := start; i < len(lines); i++ {
		if strings.Contains(lines[i], want) {
			return citation{Path: path, Line: i + 1, Text: strings.TrimSpace(lines[i])}, nil
		}
	}
	if after != "" {
		return citation{}, fmt.Errorf("%s: no line with %q after %q", path, want, after)
	}
	return citation{}, fmt.Errorf("%s: no line with %q", path, want)
}
