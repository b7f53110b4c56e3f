package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLiveHandlerRewritesProgressInPlace(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(newLiveHandler(&b, slog.LevelInfo))
	log.Info("kernel: configuring", "tree", "/t")
	log.Info("kernel: building", "steps", 10)
	log.Info("kernel: building", "steps", 20)
	log.Info("kernel: built", "seconds", 3)
	log.Debug("hidden")
	out := b.String()
	lines := strings.Split(out, "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("want 3 lines, got %q", out)
	}
	if !strings.HasSuffix(lines[0], "kernel: configuring tree=/t") {
		t.Errorf("line 1 %q", lines[0])
	}
	if strings.Count(lines[1], "\r\033[K") != 2 || !strings.HasSuffix(lines[1], "kernel: building steps=20") {
		t.Errorf("progress line %q: want both updates on one rewritten line", lines[1])
	}
	if !strings.HasSuffix(lines[2], "kernel: built seconds=3") || strings.Contains(out, "hidden") {
		t.Errorf("after progress %q", lines[2])
	}
}
