package kcov

// FloorWords is the buffer MeasureFloor uses: far more than one interval needs.
const FloorWords = 64 << 10

// MeasureFloor measures the harness floor: the coverage of an interval with
// no syscall in it. Each of n runs zeroes trace[0], enables TRACE_PC and
// reads trace[0] at once; what it finds is the tail of the KCOV_ENABLE
// ioctl after kcov_start() (unlock, syscall exit), the least any measured
// interval carries. It runs on a thread of its own (OnNewThread).
func MeasureFloor(n int) (Stats, error) {
	var (
		st  Stats
		err error
	)
	OnNewThread(func() { st, err = measureFloor(n) })
	return st, err
}

func measureFloor(n int) (Stats, error) {
	d, err := Open("")
	if err != nil {
		return Stats{}, err
	}
	defer d.Close()
	if err := d.InitTrace(FloorWords); err != nil {
		return Stats{}, err
	}
	if err := d.Mmap(true); err != nil {
		return Stats{}, err
	}
	vals := make([]uint64, 0, n)
	for range n {
		d.ResetCount()
		if err := d.Enable(TracePC); err != nil {
			return Stats{}, err
		}
		c := d.Count()
		if err := d.Disable(); err != nil {
			return Stats{}, err
		}
		vals = append(vals, c)
	}
	return Summarize(vals), nil
}
