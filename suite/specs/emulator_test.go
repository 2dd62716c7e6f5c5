package specs_test

import (
	"bytes"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite"
	"github.com/bwemu/bwemu/suite/specs"
)

var _ = Describe("Emulator", func() {
	// A failed spec shows the journal once, as the report entry: the
	// emulator writes nothing to GinkgoWriter, which Ginkgo prints too.
	It("writes nothing to GinkgoWriter as the stream runs", func(ctx SpecContext) {
		var seen bytes.Buffer
		GinkgoWriter.TeeTo(&seen)
		DeferCleanup(GinkgoWriter.ClearTeeWriters)
		app := apptest.NewWS()
		e := specs.Emulator(nil)
		s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		_, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(s).To(suite.HaveNoAppFault())
		Expect(e.Journal().Entries()).NotTo(BeEmpty())
		Expect(seen.String()).To(BeEmpty())
	})
})
