package kcov

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// Words is the buffer size given to InitTrace.
func (d *Device) Words() int { return d.words }

// Capacity is how many PCs the current session's trace holds.
func (d *Device) Capacity() int { return Capacity(d.words, d.bitmapWords) }

// Count is trace[0] as the kernel sees it now. It stays valid after
// Disable, which leaves the buffer as it was.
func (d *Device) Count() uint64 { return atomic.LoadUint64(&d.buf[d.bitmapWords]) }

// Bitmap is the unique-mode bitmap (empty in trace mode); writes reach the
// kernel's view.
func (d *Device) Bitmap() []uint64 { return d.buf[:d.bitmapWords] }

// clearTries bounds the retries of FullReset and Clear.
const clearTries = 1000

// FullReset does from user space what KCOV_RESET_TRACE does in the kernel:
// zero the bitmap, then trace[0]. In trace mode it is ResetCount.
//
// With coverage on, the kernel may append on this thread while the
// program zeroes (the return path of an interrupt that reschedules), which
// would leave a bitmap bit without its record. So FullReset checks that
// bitmap and trace[0] read zero, bitmap first, and starts over if not.
func (d *Device) FullReset() {
	for range clearTries {
		clear(d.buf[:d.bitmapWords])
		atomic.StoreUint64(&d.buf[d.bitmapWords], 0)
		if BitmapCount(d.Bitmap()) == 0 && d.Count() == 0 {
			return
		}
	}
}

// Clear zeroes the whole buffer (bitmap, count and every slot) so that a
// later CheckSlots can tell written slots from untouched ones. Like
// FullReset it checks the buffer reads all zero and trace[0] is still 0
// afterwards, and starts over if a record landed meanwhile.
func (d *Device) Clear() {
	for range clearTries {
		clear(d.buf)
		if !slices.ContainsFunc(d.buf, func(w uint64) bool { return w != 0 }) && d.Count() == 0 {
			return
		}
	}
}

// View is one look at the whole buffer.
type View struct {
	Trace Trace
	// BitmapBits is how many bitmap bits are set (0 in trace mode).
	BitmapBits int
	// Stable is true when trace[0] held still while the view was taken, so
	// the PCs and the bitmap describe the same moment. It is always true
	// after Disable.
	Stable bool
}

// View decodes the buffer and counts the bitmap bits.
func (d *Device) View() (View, error) {
	if d.buf == nil {
		return View{}, fmt.Errorf("kcov view: buffer not mapped")
	}
	before := d.Count()
	tr, err := Decode(d.buf, d.bitmapWords)
	if err != nil {
		return View{}, err
	}
	bits := BitmapCount(d.Bitmap())
	return View{Trace: tr, BitmapBits: bits, Stable: d.Count() == before}, nil
}
