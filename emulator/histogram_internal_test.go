package emulator

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, us := range []int64{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 20000, 1 << 30} {
		d := time.Duration(us) * time.Microsecond
		i := histIndex(d)
		if up := histUpper(i); up < d && i != histBuckets-1 {
			t.Errorf("%v: bucket %d upper %v is below it", d, i, up)
		}
		if i > 0 && histUpper(i-1) >= d {
			t.Errorf("%v: belongs in an earlier bucket than %d", d, i)
		}
		if up := histUpper(i); i < histBuckets-1 && us >= 8 && float64(up-d) > 0.125*float64(d) {
			t.Errorf("%v: bucket upper %v is more than 12.5%% above", d, up)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > 0.125*float64(c.want) {
			t.Errorf("q%.2f = %v, want about %v", c.q, got, c.want)
		}
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2000 || m.Max() != time.Millisecond {
		t.Errorf("merge: count %d max %v", m.Count(), m.Max())
	}
	if a := testing.AllocsPerRun(100, func() { h.Observe(3 * time.Millisecond) }); a != 0 {
		t.Errorf("Observe allocates %v times", a)
	}
}

func TestHistogramBeyondLastBucket(t *testing.T) {
	var h Histogram
	h.Observe(time.Millisecond)
	h.Observe(time.Hour) // past the last bucket's bound (about 18 minutes)
	if got := h.Quantile(1); got != time.Hour {
		t.Errorf("q1 = %v, want the exact maximum 1h0m0s", got)
	}
	if got := h.Quantile(0.5); got > time.Millisecond+time.Millisecond/8 {
		t.Errorf("q0.50 = %v, want about 1ms", got)
	}
}
