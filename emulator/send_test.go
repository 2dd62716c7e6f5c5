package emulator_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
)

var _ = Describe("Stream.Send", func() {
	It("sends a message of the test's own between media frames, journaled, and the stream goes on", func(ctx SpecContext) {
		srv := apptest.NewConsumer(nil)
		e := apptest.NewEmulator(nil)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: srv.WebSocketURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())

		future := []byte(`{"eventType":"bwemuFutureEvent","detail":{"x":1}}`)
		Expect(s.Send(ctx, future)).To(Succeed())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed(), "the stream goes on after the message")
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndStopStream))
		Expect(e.Journal().Entries()).To(ContainElement(And(
			HaveField("Kind", emulator.KindFrameOut),
			HaveField("Message", "a message of the test's own"),
		)))
		rec, err := srv.WaitStreamClosed(ctx, s.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.FramesByTrack["inbound"]).To(Equal(4), "two frames before the message, two after")

		Expect(s.Send(ctx, future)).To(MatchError(ContainSubstring("ended")), "a stream that ended takes no more messages")
	})
})
