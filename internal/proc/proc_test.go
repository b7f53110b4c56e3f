package proc

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"qemu", "-m", "1024M"}, "qemu -m 1024M"},
		{[]string{"-append", "console=ttyS0 panic=-1"}, "-append 'console=ttyS0 panic=-1'"},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{""}, "''"},
		{[]string{"unix:/a,b/q.sock,server=on"}, "unix:/a,b/q.sock,server=on"},
		{[]string{"$HOME", "a*b"}, "'$HOME' 'a*b'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCommandCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The shell's child sleep is in the same group and must die with it.
	err := Command(ctx, []string{"sh", "-c", "sleep 30 & wait"}).Run()
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("run: %v (ctx %v)", err, ctx.Err())
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancel took %v: the group was not killed", time.Since(start))
	}
}
