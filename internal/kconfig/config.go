package kconfig

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// Config is a parsed .config. Symbols that are absent, "is not set" or `=n`
// all read as not set.
type Config struct {
	values map[string]string // symbol without prefix -> value as written
}

// ParseConfig parses a .config in the same line syntax as fragments.
func ParseConfig(r io.Reader) (*Config, error) {
	return parseConfig(".config", r)
}

// ReadConfig reads and parses the .config file at path.
func ReadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel config: %w", err)
	}
	defer f.Close()
	return parseConfig(path, f)
}

func parseConfig(source string, r io.Reader) (*Config, error) {
	c := &Config{values: make(map[string]string)}
	err := scanLines(source, r, func(sym, value string, _ int) {
		if value == "n" {
			delete(c.values, sym)
			return
		}
		c.values[sym] = value
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Value returns the symbol's value as written (strings keep their quotes)
// and true, or ("n", false) when the symbol is absent or not set. sym may
// carry the CONFIG_ prefix.
func (c *Config) Value(sym string) (string, bool) {
	v, ok := c.values[strings.TrimPrefix(sym, symPrefix)]
	if !ok {
		return "n", false
	}
	return v, true
}

// Symbols returns the symbols that are set, sorted, without the prefix.
func (c *Config) Symbols() []string {
	return slices.Sorted(maps.Keys(c.values))
}
