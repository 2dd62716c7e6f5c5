package emulator_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/specs"
)

// The reference consumer is the first target: a correct app must see
// exactly what the emulator says it sent, for every ending.
var _ = Describe("against the reference consumer", func() {
	var (
		srv *consumer.Server
		e   *emulator.Emulator
	)
	BeforeEach(func() {
		srv = apptest.NewConsumer(&consumer.Options{WSUser: "bw", WSPassword: "ws-pass", EventUser: "hook", EventPassword: "hook-pass"})
		e = apptest.NewEmulator(&emulator.Options{Timeouts: emulator.Timeouts{DeadPeer: 100 * time.Millisecond}})
	})

	spec := func(name, tracks string) emulator.StreamSpec {
		tone, _ := media.Tone(440)
		return emulator.StreamSpec{Name: name, Tracks: tracks, Destination: srv.WebSocketURL(), Pace: emulator.Fast, Audio: tone,
			DestinationUsername: "bw", DestinationPassword: "ws-pass",
			StreamEventURL: srv.EventsURL(), Username: "hook", Password: "hook-pass",
			Params: []protocol.StreamParam{{Name: "tenant", Value: "acme"}}}
	}

	DescribeTable("every ending the emulator causes",
		func(ctx SpecContext, ending emulator.Ending, cause string, stopSeen bool, closeCode int, lossy bool) {
			call := specs.Call(e, &emulator.CallSpec{DisconnectURL: srv.EventsURL(), Username: "hook", Password: "hook-pass"})
			s := specs.Stream(ctx, call, spec("agent", "both"))
			Expect(s.Media(ctx, time.Second)).To(Succeed())
			var (
				res *emulator.StreamResult
				err error
			)
			switch ending {
			case emulator.EndStopStream:
				res, err = s.Stop(ctx)
			case emulator.EndHangup:
				if err = call.Hangup(ctx); err == nil {
					res, err = s.Wait(ctx)
				}
			default:
				res, err = s.Inject(ctx, emulator.Fault(ending))
			}
			Expect(err).NotTo(HaveOccurred())
			if ending != emulator.EndHangup {
				Expect(call.Hangup(ctx)).To(Succeed())
			}

			Expect(res.Ending).To(Equal(ending))
			Expect(res.Cause).To(Equal(cause))
			Expect(res.Failed()).To(BeFalse(), "the reference consumer answers every webhook 204")
			rec, err := srv.WaitStreamClosed(ctx, s.ID)
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.Errors).To(BeEmpty())
			Expect(rec.AuthUser).To(Equal("bw"))
			Expect(rec.StreamName).To(Equal("agent"))
			Expect(rec.StreamParams).To(Equal(protocol.StreamParams{{Name: "tenant", Value: "acme"}}))
			if lossy {
				// A TCP reset discards what the app had not read yet.
				Expect(rec.FramesByTrack["inbound"]).To(BeNumerically("<=", 50))
				Expect(res.FramesByTrack).To(Equal(map[string]int{"inbound": 50, "outbound": 50}))
			} else {
				Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 50, "outbound": 50}))
			}
			Expect(rec.StopSeen).To(Equal(stopSeen))
			Expect(rec.CloseCode).To(Equal(closeCode))

			Eventually(func() []string {
				var got []string
				for _, ev := range srv.Events() {
					if ev.Event.CallID == call.ID {
						got = append(got, ev.Event.EventType+"/"+ev.Event.Cause)
					}
				}
				return got
			}).WithTimeout(2 * time.Second).Should(Equal([]string{"mediaStreamStarted/", "mediaStreamStopped/" + cause, "disconnect/hangup"}))
		},
		Entry("StopStream", emulator.EndStopStream, "closed", true, 1000, false),
		Entry("hangup", emulator.EndHangup, "closed", true, 1000, false),
		Entry("internal error", emulator.EndInternalError, "error", false, 1011, false),
		Entry("reset", emulator.EndReset, "connection-error", false, 1006, true),
		Entry("drop", emulator.EndDrop, "connection-error", false, 1006, false),
	)

	It("keeps several streams and calls apart", func(ctx SpecContext) {
		var streams []*emulator.Stream
		for range 3 {
			call := specs.Call(e, nil)
			for _, name := range []string{"a", "b"} {
				s, err := call.StartStream(ctx, spec(name, "both"))
				Expect(err).NotTo(HaveOccurred())
				streams = append(streams, s)
			}
		}
		for _, s := range streams {
			Expect(s.Media(ctx, 200*time.Millisecond)).To(Succeed())
		}
		for _, s := range streams {
			res, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.CloseHandshake).To(BeTrue())
			rec, err := srv.WaitStreamClosed(ctx, s.ID)
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.CallID).To(Equal(s.Call.ID))
			Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 10, "outbound": 10}))
		}
	})

	It("is refused without the destination credentials", func(ctx SpecContext) {
		call := specs.Call(e, nil)
		sp := spec("agent", "inbound")
		sp.DestinationPassword = "wrong"
		s, err := call.StartStream(ctx, sp)
		Expect(err).NotTo(HaveOccurred())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndHandshakeStatus))
		Expect(res.HandshakeStatus).To(Equal(401))
	})

	It("echoes audio on a bidirectional stream", func(ctx SpecContext) {
		call := specs.Call(e, nil)
		sp := spec("agent", "inbound")
		sp.Mode, sp.Destination = "bidirectional", srv.WebSocketURL()+"?echo=1"
		s := specs.Stream(ctx, call, sp)
		Expect(s.Media(ctx, 400*time.Millisecond)).To(Succeed())
		Eventually(func() int {
			n := 0
			for _, en := range e.Journal().Entries() {
				if en.StreamID == s.ID && en.Kind == emulator.KindFrameIn && en.Event == "playAudio" {
					n++
				}
			}
			return n
		}).WithTimeout(2 * time.Second).Should(Equal(20))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.PlayAudio).To(Equal(20))
		Expect(res.PlayAudioBytes).To(Equal(20 * 160))
		Expect(res.Violations).To(BeZero())
	})
})
