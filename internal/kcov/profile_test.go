package kcov

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name string
		tr   Trace
		want Profile
		dup  float64
	}{
		{"empty", Trace{}, Profile{}, 0},
		{"all distinct", Trace{Count: 3, PCs: []uint64{1, 2, 3}}, Profile{Count: 3, Records: 3, Distinct: 3}, 0},
		{"repeats", Trace{Count: 4, PCs: []uint64{1, 2, 1, 1}}, Profile{Count: 4, Records: 4, Distinct: 2, Repeats: 2, RepeatedPCs: 1}, 0.5},
		{"saturated", Trace{Count: 2, PCs: []uint64{7, 7}, Saturated: true}, Profile{Count: 2, Records: 2, Distinct: 1, Repeats: 1, RepeatedPCs: 1, Saturated: true}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Analyze(tt.tr)
			if p != tt.want {
				t.Errorf("Analyze = %+v, want %+v", p, tt.want)
			}
			if got := p.DupRatio(); got != tt.dup {
				t.Errorf("DupRatio = %v, want %v", got, tt.dup)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tr := Trace{Count: 4, PCs: []uint64{1, 2, 3, 4}, Saturated: true}
	got := Truncate(tr, 2, 4)
	if got.Count != 2 || len(got.PCs) != 2 || got.Saturated {
		t.Errorf("Truncate(2) = %+v", got)
	}
	if got := Truncate(tr, 9, 4); len(got.PCs) != 4 || !got.Saturated {
		t.Errorf("Truncate(9) = %+v", got)
	}
}

func TestCheckDedup(t *testing.T) {
	tests := []struct {
		name    string
		p       Profile
		bits    int
		checked bool
		wantErr string
	}{
		{"every PC fits, none repeats", Profile{Records: 5, Distinct: 5}, 5, true, ""},
		{"every PC fits, one repeats", Profile{Records: 6, Distinct: 5, Repeats: 1, RepeatedPCs: 1}, 5, true, "only 0 recorded PCs"},
		{"unfit PCs may repeat", Profile{Records: 9, Distinct: 5, Repeats: 4, RepeatedPCs: 2}, 3, true, ""},
		{"more repeaters than unfit PCs", Profile{Records: 9, Distinct: 5, Repeats: 4, RepeatedPCs: 3}, 3, true, "3 PCs recorded more than once"},
		{"stale bits", Profile{Records: 2, Distinct: 2}, 3, true, "3 bits set"},
		{"saturated is not judged", Profile{Records: 2, Distinct: 1, RepeatedPCs: 1, Saturated: true}, 1, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checked, err := CheckDedup(tt.p, tt.bits)
			if checked != tt.checked {
				t.Errorf("checked = %v, want %v", checked, tt.checked)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckSlots(t *testing.T) {
	tests := []struct {
		name    string
		area    []uint64
		wantErr string
	}{
		{"partly used", []uint64{2, 9, 8, 0, 0}, ""},
		{"empty", []uint64{0, 0, 0}, ""},
		{"saturated", []uint64{2, 9, 8}, ""},
		{"count beyond capacity", []uint64{3, 9, 8}, "exceeds"},
		{"hole below count", []uint64{2, 9, 0, 0}, "slot 2 is empty"},
		{"write beyond count", []uint64{1, 9, 0, 7}, "slot 3 beyond"},
		{"no slot", []uint64{0}, "no slot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSlots(tt.area)
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		in   []uint64
		want Stats
	}{
		{nil, Stats{}},
		{[]uint64{5}, Stats{1, 5, 5, 5}},
		{[]uint64{9, 1, 5}, Stats{3, 1, 5, 9}},
		{[]uint64{4, 1, 9, 6}, Stats{4, 1, 5, 9}},
	}
	for _, tt := range tests {
		if got := Summarize(tt.in); got != tt.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestErrnoOfAndName(t *testing.T) {
	tests := []struct {
		err  error
		want syscall.Errno
		ok   bool
		name string
	}{
		{nil, 0, true, "success"},
		{&IoctlError{Op: "RESET_TRACE", Errno: syscall.EINVAL}, syscall.EINVAL, true, "EINVAL"},
		{fmt.Errorf("kcov mmap: %w", syscall.ENOMEM), syscall.ENOMEM, true, "ENOMEM"},
		{&IoctlError{Op: "UNIQUE_ENABLE", Errno: ENOTSUPP}, ENOTSUPP, true, "ENOTSUPP"},
		{fmt.Errorf("buffer not mapped"), 0, false, "success"},
	}
	for _, tt := range tests {
		got, ok := ErrnoOf(tt.err)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ErrnoOf(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.ok)
		}
		if n := ErrnoName(got); n != tt.name {
			t.Errorf("ErrnoName(%d) = %q, want %q", got, n, tt.name)
		}
	}
	if n := ErrnoName(syscall.Errno(200)); !strings.HasPrefix(n, "errno 200") {
		t.Errorf("ErrnoName(200) = %q", n)
	}
}
