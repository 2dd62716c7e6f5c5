package suite_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	. "github.com/bwemu/bwemu/suite"
)

var _ = Describe("matchers given to HaveEnded inside Gomega's And and Or", func() {
	var s *emulator.Stream
	BeforeEach(func(ctx SpecContext) {
		e := newEmulator(nil)
		app := apptest.NewWS(apptest.Close(4001, "bye"))
		s = ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()}))
	}, NodeTimeout(20*time.Second))

	It("say what failed in one line each; the record and the journal are shown once", func() {
		msg := failureOf(HaveEnded(emulator.EndAppCloseCode, And(HaveClosed(emulator.ByApp, 4001), HaveStopped("closed"))), s)
		Expect(msg).To(ContainSubstring("what the matchers said:\n  want to have stopped with cause closed, but it ended as mediaStreamStopped with cause connection-error"))
		Expect(strings.Count(msg, "journal of stream "+s.ID)).To(Equal(1), msg)
		Expect(strings.Count(msg, "\nresult:\n")).To(Equal(1), msg)

		msg = failureOf(HaveEnded(emulator.EndAppCloseCode, Or(HaveStopped("closed"), HaveClosed(emulator.ByApp, 1000))), s)
		Expect(msg).To(ContainSubstring("what the matchers said:\n  none of these held:\n" +
			"    want to have stopped with cause closed, but it ended as mediaStreamStopped with cause connection-error"))
		Expect(msg).To(ContainSubstring("\n    want to have been closed by app with code 1000, but the app closed with code 4001 (bye)"))
		Expect(strings.Count(msg, "journal of stream "+s.ID)).To(Equal(1), msg)
		Expect(msg).NotTo(ContainSubstring("opts:"), "the stream is not dumped as a Go value")
	})
})
