package emulator

import (
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets (8 per power of two of
// microseconds, so quantiles are within 12.5 %) without allocating: pacing
// observes one value per frame. Every live stream holds one, so it stops
// at about 18 minutes: longer durations share the last bucket, whose
// quantiles are the exact maximum.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const (
	histSub     = 8 // buckets per octave
	histBuckets = histSub * 28
)

func histIndex(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - 4 // us>>e is in [8,16)
	i := histSub*(e+1) + int(us>>e) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histUpper is the largest duration in bucket i.
func histUpper(i int) time.Duration {
	if i < histSub {
		return time.Duration(i) * time.Microsecond
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return time.Duration((m+1)<<e-1) * time.Microsecond
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(d)]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest observation.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the upper bound of the bucket holding quantile q (0–1).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == histBuckets-1 {
				return h.max
			}
			return min(histUpper(i), h.max)
		}
	}
	return h.max
}
