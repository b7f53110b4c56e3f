//go:build !linux

package report

import "os"

// IsTerminal reports whether f is a character device, the best guess for a
// terminal off Linux.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
