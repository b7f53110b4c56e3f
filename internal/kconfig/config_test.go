package kconfig

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	const text = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.12.0 Kernel Configuration
#
CONFIG_CC_IS_CLANG=y
CONFIG_CLANG_VERSION=190106
CONFIG_GCC_VERSION=0
CONFIG_CC_VERSION_TEXT="Debian clang version 19.1.6 (3)"
CONFIG_KCOV=y
CONFIG_VIRTIO_NET=m
CONFIG_PHYSICAL_START=0x1000000
# CONFIG_RANDOMIZE_BASE is not set
CONFIG_OLD=n

#
# General setup
#
CONFIG_LATER=y
CONFIG_LATER=m
CONFIG_UNSET_LATER=y
# CONFIG_UNSET_LATER is not set
`
	cfg := mustParseConfig(t, text)
	tests := []struct {
		sym  string
		want string
		ok   bool
	}{
		{"CC_IS_CLANG", "y", true},
		{"CONFIG_CC_IS_CLANG", "y", true},
		{"CLANG_VERSION", "190106", true},
		{"GCC_VERSION", "0", true},
		{"CC_VERSION_TEXT", `"Debian clang version 19.1.6 (3)"`, true},
		{"VIRTIO_NET", "m", true},
		{"PHYSICAL_START", "0x1000000", true},
		{"RANDOMIZE_BASE", "n", false},
		{"OLD", "n", false},
		{"ABSENT", "n", false},
		{"LATER", "m", true},
		{"UNSET_LATER", "n", false},
	}
	for _, tt := range tests {
		t.Run(tt.sym, func(t *testing.T) {
			got, ok := cfg.Value(tt.sym)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Value(%s) = %q, %v; want %q, %v", tt.sym, got, ok, tt.want, tt.ok)
			}
		})
	}
	want := []string{"CC_IS_CLANG", "CC_VERSION_TEXT", "CLANG_VERSION", "GCC_VERSION", "KCOV",
		"LATER", "PHYSICAL_START", "VIRTIO_NET"}
	if got := cfg.Symbols(); !reflect.DeepEqual(got, want) {
		t.Errorf("Symbols() = %v, want %v", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
	}{
		{"garbage", "CONFIG_A=y\nthis is not a config\n", 2},
		{"bad value", "CONFIG_A=maybe", 1},
		{"unterminated", "CONFIG_A=y\n\nCONFIG_S=\"x\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tt.text))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != tt.line || pe.Source != ".config" {
				t.Errorf("err = %v, want *ParseError at .config:%d", err, tt.line)
			}
		})
	}
}

func TestReadConfig(t *testing.T) {
	cfg, err := ReadConfig(filepath.Join("testdata", "final.config"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := cfg.Value("KCOV"); v != "y" || !ok {
		t.Errorf("KCOV = %q, %v; want y, true", v, ok)
	}
	missing := filepath.Join(t.TempDir(), ".config")
	if _, err := ReadConfig(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing: err = %v, want fs.ErrNotExist naming %s", err, missing)
	}
	bad := writeTree(t, map[string]string{".config": "CONFIG_A=y\nCONFIG_B=?\n"})
	var pe *ParseError
	if _, err := ReadConfig(filepath.Join(bad, ".config")); !errors.As(err, &pe) || pe.Source != filepath.Join(bad, ".config") {
		t.Errorf("bad: err = %v, want *ParseError naming the path", err)
	}
}
