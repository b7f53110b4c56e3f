package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// liveHandler is the terminal's log view: progress records (a build's step
// count) rewrite one status line in place; every other record is a plain
// line. CI and pipes get newLogger's plain timestamped lines instead.
type liveHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
	live  *bool
}

func newLiveHandler(w io.Writer, level slog.Level) *liveHandler {
	return &liveHandler{mu: new(sync.Mutex), w: w, level: level, live: new(bool)}
}

func (h *liveHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *liveHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *liveHandler) WithGroup(string) slog.Handler { return h }

func (h *liveHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05 "))
	if r.Level >= slog.LevelWarn {
		b.WriteString(r.Level.String() + " ")
	}
	b.WriteString(r.Message)
	progress := false
	add := func(a slog.Attr) bool {
		progress = progress || a.Key == "steps"
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	if progress {
		_, err := fmt.Fprintf(h.w, "\r\033[K%s", b.String())
		*h.live = true
		return err
	}
	if *h.live {
		fmt.Fprint(h.w, "\n")
		*h.live = false
	}
	_, err := fmt.Fprintln(h.w, b.String())
	return err
}
