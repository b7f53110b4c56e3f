package kcov

import (
	"errors"
	"slices"
	"syscall"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		buf       []uint64
		bitmap    int
		want      []uint64
		count     uint64
		saturated bool
		wantErr   bool
	}{
		{"trace mode", []uint64{2, 0xa, 0xb, 0, 0}, 0, []uint64{0xa, 0xb}, 2, false, false},
		{"empty", []uint64{0, 0, 0}, 0, nil, 0, false, false},
		{"full", []uint64{2, 1, 2}, 0, []uint64{1, 2}, 2, true, false},
		{"count beyond capacity", []uint64{9, 1, 2}, 0, []uint64{1, 2}, 9, true, false},
		{"unique mode skips bitmap", []uint64{0xff, 0xff, 1, 0xc, 0}, 2, []uint64{0xc}, 1, false, false},
		{"bitmap fills buffer", []uint64{1, 2}, 2, nil, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Decode(tt.buf, tt.bitmap)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(tr.PCs, tt.want) || tr.Count != tt.count || tr.Saturated != tt.saturated {
				t.Errorf("got %+v, want pcs %v count %d saturated %v", tr, tt.want, tt.count, tt.saturated)
			}
		})
	}
}

func TestUniqueAndBitmap(t *testing.T) {
	if got := Unique([]uint64{3, 1, 3, 2, 1}); !slices.Equal(got, []uint64{3, 1, 2}) {
		t.Errorf("Unique = %v", got)
	}
	if got := BitmapCount([]uint64{0b1011, 1 << 63, 0}); got != 4 {
		t.Errorf("BitmapCount = %d, want 4", got)
	}
}

func TestIoctlErrorClassification(t *testing.T) {
	tests := []struct {
		errno       syscall.Errno
		unsupported bool
	}{
		{syscall.ENOTTY, true},
		{ENOTSUPP, true},
		{syscall.EINVAL, false},
		{syscall.EBUSY, false},
	}
	for _, tt := range tests {
		err := error(&IoctlError{Op: "UNIQUE_ENABLE", Errno: tt.errno})
		if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
			t.Errorf("%v: Is(ErrUnsupported) = %v", tt.errno, got)
		}
		if !errors.Is(err, tt.errno) {
			t.Errorf("%v: errno lost", tt.errno)
		}
	}
}
