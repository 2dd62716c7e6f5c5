package load_test

import (
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/load"
)

var _ = Describe("thresholds", func() {
	DescribeTable("read METRIC OP VALUE",
		func(expr, metric, op string, value float64) {
			t, err := load.ParseThreshold(expr)
			Expect(err).NotTo(HaveOccurred())
			Expect(t.Metric).To(Equal(metric))
			Expect(t.Op).To(Equal(op))
			Expect(t.Value).To(Equal(value))
		},
		Entry(nil, "webhook.p99<200ms", "webhook.p99", "<", float64(200*time.Millisecond)),
		Entry(nil, "errors<=0", "errors", "<=", 0.0),
		Entry(nil, "calls >= 1000", "calls", ">=", 1000.0),
		Entry(nil, "lateness.p999 > 1ms", "lateness.p999", ">", float64(time.Millisecond)),
		Entry(nil, "handshake.max<5s", "handshake.max", "<", float64(5*time.Second)),
		Entry(nil, "blocked.p99<50ms", "blocked.p99", "<", float64(50*time.Millisecond)),
	)

	DescribeTable("refuse what does not read, pointing at the column",
		func(expr string, col int, msg string) {
			_, err := load.ParseThreshold(expr)
			var te *load.ThresholdError
			Expect(errors.As(err, &te)).To(BeTrue(), "%v", err)
			Expect(te.Col).To(Equal(col))
			Expect(te.Msg).To(ContainSubstring(msg))
		},
		Entry(nil, "errors", 7, "no operator"),
		Entry(nil, "errors=0", 7, "operator \"=\""),
		Entry(nil, "<5", 1, "no metric"),
		Entry(nil, "latency.p99<1s", 1, "unknown metric"),
		Entry(nil, "webhook.p42<1s", 1, "unknown metric"),
		Entry(nil, "webhook.p99<", 13, "no value"),
		Entry(nil, "webhook.p99 < fast", 15, "is a time"),
		Entry(nil, "errors<=1s", 9, "is a count"),
		Entry(nil, "calls>=-1", 8, "is a count"),
		Entry(nil, "webhook.p99<<200ms", 13, "one operator only"),
	)

	It("judge a summary, and an expectation over no data never holds", func() {
		s := &load.Summary{Calls: 12, Histograms: map[string]*load.Hist{}}
		held := func(expr string) bool {
			t, err := load.ParseThreshold(expr)
			Expect(err).NotTo(HaveOccurred())
			return t.Evaluate(s).Held
		}
		Expect(held("calls>=12")).To(BeTrue())
		Expect(held("calls>12")).To(BeFalse())
		Expect(held("errors<=0")).To(BeTrue())
		Expect(held("webhook.p99<1s")).To(BeFalse(), "no webhook was answered: nothing shows it was fast")
		Expect(held("webhook.p99>1s")).To(BeFalse())
		t, _ := load.ParseThreshold("webhook.p99<1s")
		Expect(t.Evaluate(s).Actual).To(Equal("no data"))
	})
})
