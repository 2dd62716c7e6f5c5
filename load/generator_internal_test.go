package load

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the generator's verdict", func() {
	It("trusts a run that kept its schedule, skipped nothing and had CPU to spare", func() {
		g := judgeGenerator(3*time.Millisecond, 0, time.Second, 10*time.Second, 2)
		Expect(g.Bound).To(BeFalse())
		Expect(g.CPUUse).To(BeNumerically("~", 0.05, 1e-9))
		Expect(g.Advice).To(BeEmpty())
	})

	DescribeTable("marks the run bound, saying why and what to do",
		func(lateness time.Duration, skipped int64, cpu time.Duration, want string) {
			g := judgeGenerator(lateness, skipped, cpu, 10*time.Second, 2)
			Expect(g.Bound).To(BeTrue())
			Expect(g.Reasons).To(ConsistOf(ContainSubstring(want)))
			Expect(g.Advice).To(ContainSubstring("--shard"))
		},
		Entry("late sends", 12*time.Millisecond, int64(0), time.Second, "send lateness p99 is 12ms"),
		Entry("skipped frames", time.Millisecond, int64(4), time.Second, "skipped 4 frames"),
		Entry("a saturated CPU", time.Millisecond, int64(0), 19*time.Second, "95% of its CPU budget"),
	)
})
