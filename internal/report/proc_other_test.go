//go:build !linux

package report

import "os/exec"

func killGroupOnCancel(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {}
