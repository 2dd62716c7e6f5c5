package load_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/load"
)

var _ = DescribeTable("an ending mix reads back as it is written",
	func(in, want string) {
		m, err := load.ParseMix(in)
		Expect(err).NotTo(HaveOccurred())
		Expect(m.String()).To(Equal(want))
		again, err := load.ParseMix(m.String())
		Expect(err).NotTo(HaveOccurred())
		Expect(again.String()).To(Equal(want), "what it says is what it parses to")
	},
	Entry("one ending, without a weight to read", "hangup", "hangup"),
	Entry("one ending, weighed", "reset=3", "reset"),
	Entry("a weighted mix", "hangup=90,reset=5,stop=5", "hangup=90,reset=5,stop=5"),
)
