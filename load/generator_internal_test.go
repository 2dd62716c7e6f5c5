package load

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the generator's verdict", func() {
	It("trusts a run that kept its schedule, skipped nothing and had CPU to spare", func() {
		g := judgeGenerator(3*time.Millisecond, 0, skipSpread{}, time.Second, 10*time.Second, 2)
		Expect(g.Bound).To(BeFalse())
		Expect(g.CPUUse).To(BeNumerically("~", 0.05, 1e-9))
		Expect(g.Advice).To(BeEmpty())
	})

	DescribeTable("marks the run bound, saying why and what to do",
		func(lateness time.Duration, skipped int64, cpu time.Duration, want string) {
			g := judgeGenerator(lateness, skipped, skipSpread{}, cpu, 10*time.Second, 2)
			Expect(g.Bound).To(BeTrue())
			Expect(g.Reasons).To(ConsistOf(ContainSubstring(want)))
			Expect(g.Advice).To(ContainSubstring("--shard"))
		},
		Entry("late sends", 12*time.Millisecond, int64(0), time.Second, "send lateness p99 is 12ms"),
		Entry("skipped frames", time.Millisecond, int64(4), time.Second, "skipped 4 frames"),
		Entry("a saturated CPU", time.Millisecond, int64(0), 19*time.Second, "95% of its CPU budget"),
	)

	Describe("says when in the run the frames were skipped", func() {
		// Sixty seconds, a 10 s ramp: skips in seconds 3, 9 and 41.
		series := func(at3, at9, at41 int64) []Second {
			out := make([]Second, 60)
			for i := range out {
				out[i].T = i + 1
			}
			out[2].Skipped, out[8].Skipped, out[40].Skipped = at3, at9, at41
			return out
		}

		It("and advises a longer ramp when most came while the calls dialled", func() {
			where := spreadOf(series(100, 800, 21), 10*time.Second)
			g := judgeGenerator(time.Millisecond, 921, where, time.Second, 10*time.Second, 2)
			Expect(g.Reasons).To(ConsistOf("bwemu skipped 921 frames: pacing fell behind (in 3 of 60 seconds, most in second 9: 800; 900 during the 10s ramp)"))
			Expect(g.Advice).To(HaveSuffix("or spread the dialling with a longer --ramp"))
		})

		It("and does not, when most came once every call was up", func() {
			where := spreadOf(series(0, 10, 500), 10*time.Second)
			g := judgeGenerator(time.Millisecond, 510, where, time.Second, 10*time.Second, 2)
			Expect(g.Reasons).To(ConsistOf("bwemu skipped 510 frames: pacing fell behind (in 2 of 60 seconds, most in second 41: 500; 10 during the 10s ramp)"))
			Expect(g.Advice).NotTo(ContainSubstring("--ramp"))
		})

		It("and leaves the ramp out when there was none", func() {
			where := spreadOf(series(5, 0, 0), 0)
			Expect(where.String()).To(Equal(" (in 1 of 60 seconds, most in second 3: 5)"))
			Expect(where.mostlyRamp()).To(BeFalse())
		})
	})

	It("keeps the run's last, partial second in the series", func() {
		// A run shorter than a second has no whole second at all: what it
		// measured is only in the partial one.
		script := func(_ context.Context, m emulator.Meter) Outcome {
			m.Skipped(3)
			return Outcome{}
		}
		s, err := Run(context.Background(), &Options{Calls: 1, Duration: 300 * time.Millisecond, Script: script})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Series).To(HaveLen(1), "%+v", s.Series)
		Expect(s.Series[0].T).To(Equal(1))
		Expect(s.Series[0].Skipped).To(Equal(s.Skipped), "the series holds every skipped frame the run counted")
		Expect(s.Skipped).To(BeNumerically(">=", 3))
	})

	It("counts a run's skipped frames in the second they fell", func() {
		// The script skips frames through its meter, as a stream that falls
		// behind does, in the first call only.
		var calls atomic.Int32
		script := func(_ context.Context, m emulator.Meter) Outcome {
			if calls.Add(1) == 1 {
				m.Skipped(7)
			}
			return Outcome{}
		}
		s, err := Run(context.Background(), &Options{Rate: 2, Ramp: time.Second, Duration: 1500 * time.Millisecond, Script: script})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Skipped).To(BeEquivalentTo(7))
		Expect(s.Series).NotTo(BeEmpty())
		Expect(s.Series[0].Skipped).To(BeEquivalentTo(7), "%+v", s.Series)
		Expect(s.Generator.Bound).To(BeTrue())
		Expect(s.Generator.Reasons).To(ContainElement(HaveSuffix("(in 1 of %d seconds, most in second 1: 7; 7 during the 1s ramp)", len(s.Series))))
		Expect(s.Generator.Advice).To(ContainSubstring("--ramp"))
	})
})
