package lab

import (
	"bytes"
	"context"
	"time"
)

// listeningLine is what the guest init (images/kcovinit) prints on the
// console once its SSH server listens.
var listeningLine = []byte("kcovinit: ssh listening")

// listenPoll is how often waitListening reads the console.
const listenPoll = 10 * time.Millisecond

// waitListening returns once the console at path says the guest's SSH
// server listens, QEMU exits (done), ctx ends or limit passes. Dialing
// before that costs seconds: QEMU's user network accepts the host's
// connection at once and then retries its SYN to a guest that does not
// answer yet on TCP's back-off, so an early dial hangs until the next
// retry. It reports whether the line came.
func waitListening(ctx context.Context, path string, done <-chan struct{}, limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(listenPoll)
	defer tick.Stop()
	var off int64
	var tailBuf []byte
	for {
		if b := readFrom(path, off); len(b) > 0 {
			off += int64(len(b))
			tailBuf = append(tailBuf, b...)
			if bytes.Contains(tailBuf, listeningLine) {
				return true
			}
			if i := bytes.LastIndexByte(tailBuf, '\n'); i >= 0 {
				tailBuf = tailBuf[i+1:]
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-done:
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}
