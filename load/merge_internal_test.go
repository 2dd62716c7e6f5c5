package load

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// summaryOf is a one-shard summary whose lateness histogram holds ds.
func summaryOf(calls int, ds ...time.Duration) *Summary {
	GinkgoHelper()
	h := newHist()
	for _, d := range ds {
		record(h, d)
	}
	x, err := newHistSummary(h)
	Expect(err).NotTo(HaveOccurred())
	return &Summary{Version: SummaryVersion, Shards: 1, Calls: calls, Started: calls, Frames: int64(len(ds)),
		Endings: map[string]int{"hangup": calls}, ErrorsByCause: map[string]int{},
		Histograms: map[string]*Hist{HistLateness: x}, Series: []Second{{T: 1, Live: calls, LatenessP99Ms: float64(calls), Skipped: int64(calls / 10)}}}
}

var _ = Describe("merging shard summaries", func() {
	It("gives the same counts and quantiles as one histogram over every observation", func() {
		var all []time.Duration
		var shards []*Summary
		for shard := range 3 {
			var ds []time.Duration
			for i := range 1000 {
				ds = append(ds, time.Duration((shard+1)*(i+1)*37)*time.Microsecond)
			}
			all = append(all, ds...)
			shards = append(shards, summaryOf(10*(shard+1), ds...))
		}
		whole := summaryOf(60, all...)
		m, err := Merge(shards...)
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Shards).To(Equal(3))
		Expect(m.Calls).To(Equal(whole.Calls))
		Expect(m.Frames).To(Equal(whole.Frames))
		Expect(m.Endings).To(Equal(whole.Endings))
		got, want := m.Histograms[HistLateness], whole.Histograms[HistLateness]
		Expect(got.Count).To(Equal(want.Count))
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
			Expect(got.Quantile(q)).To(Equal(want.Quantile(q)), "q=%v", q)
		}
		Expect(got.Max()).To(Equal(want.Max()))
		Expect(got.Encoded).To(Equal(want.Encoded), "the merged encoding is the whole run's")
		Expect(m.Series).To(Equal([]Second{{T: 1, Live: 60, LatenessP99Ms: 30, Skipped: 6}}), "live and skipped frames add up; the p99 is the worst shard's")
	})

	It("survives the JSON round trip: a decoded histogram merges like the original", func() {
		s := summaryOf(1, time.Millisecond, 2*time.Millisecond)
		decoded := &Hist{Encoded: s.Histograms[HistLateness].Encoded}
		Expect(decoded.Quantile(0.99)).To(Equal(s.Histograms[HistLateness].Quantile(0.99)))
	})

	It("refuses a summary of another version", func() {
		s := summaryOf(1)
		s.Version = 7
		_, err := Merge(summaryOf(1), s)
		Expect(err).To(MatchError("merge: summary 2 has version 7, want 1"))
	})
})

var _ = Describe("the open model's arrivals", func() {
	It("starts rate calls a second, evenly, without a ramp", func() {
		Expect(arrival(0, 4, 0)).To(Equal(time.Duration(0)))
		Expect(arrival(1, 4, 0)).To(Equal(250 * time.Millisecond))
		Expect(arrival(8, 4, 0)).To(Equal(2 * time.Second))
	})

	It("rises linearly over the ramp: half the full rate's calls during it, then the full rate", func() {
		// 10 calls/s reached over 2 s: 10 calls start during the ramp.
		Expect(arrival(9, 10, 2*time.Second)).To(BeNumerically("<", 2*time.Second))
		Expect(arrival(10, 10, 2*time.Second)).To(Equal(2 * time.Second))
		Expect(arrival(20, 10, 2*time.Second)).To(Equal(3 * time.Second))
		gapEarly := arrival(2, 10, 2*time.Second) - arrival(1, 10, 2*time.Second)
		gapLate := arrival(9, 10, 2*time.Second) - arrival(8, 10, 2*time.Second)
		Expect(gapEarly).To(BeNumerically(">", gapLate), "calls come faster as the ramp rises")
	})
})
