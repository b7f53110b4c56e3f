//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"
)

func TestConsoleProtocol(t *testing.T) {
	fake := func(program string, args []string) ([]byte, int, error) {
		switch program {
		case "smoke":
			return []byte(`{"scenario":"smoke","pass":true}`), 0, nil
		case "unique":
			if strings.Join(args, " ") != "-kernel=unpatched" {
				return nil, 0, errors.New("args not passed: " + strings.Join(args, " "))
			}
			return []byte(`{"scenario":"unique","pass":false}`), 0, nil
		case "ioctl":
			return []byte(`{"scenario":"ioctl","error":"no /sys/kernel/debug/kcov"}`), 0, nil
		case "reset":
			return []byte(`{"scenario":"reset","skip":"no unique mode"}`), 0, nil
		case "overflow":
			return []byte("garbage"), 0, nil
		case "kselftest":
			return []byte("TAP version 13\nnot ok 1 x\n"), 1, nil
		}
		return nil, 0, errors.New("exec: not found")
	}
	in := strings.Join([]string{"run smoke", "run unique -kernel=unpatched", "run ioctl", "run reset",
		"run overflow", "run kselftest", "run nosuch", "run bootgate", "frob", ""}, "\n")
	var out strings.Builder
	serveConsole(strings.NewReader(in), &out, fake)
	for _, want := range []string{
		"KCOVLAB-RESULT smoke pass", "KCOVLAB-RESULT unique fail", "KCOVLAB-RESULT ioctl error",
		"KCOVLAB-RESULT reset skip", "KCOVLAB-RESULT overflow error", "KCOVLAB-RESULT kselftest fail",
		"KCOVLAB-RESULT nosuch error", "KCOVLAB-RESULT bootgate error", `want "run SCENARIO`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), consolePrompt); n != 10 {
		t.Errorf("%d prompts, want one at start and one after each of 9 lines", n)
	}
}
