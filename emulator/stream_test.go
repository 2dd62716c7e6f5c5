package emulator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

var _ = Describe("a stream", func() {
	var (
		e      *emulator.Emulator
		app    *apptest.WS
		events *apptest.Hooks
		call   *emulator.Call
	)
	BeforeEach(func() {
		e = apptest.NewEmulator(nil)
		app = apptest.NewWS()
		events = apptest.NewHooks()
		var err error
		call, err = e.NewCall(&emulator.CallSpec{Tag: "t1", DisconnectURL: events.EventsURL()})
		Expect(err).NotTo(HaveOccurred())
	})

	DescribeTable("sends exactly the media asked for before ending it so, in either pace",
		func(ctx SpecContext, pace emulator.Pace, how emulator.Ending) {
			s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Tracks: "both", Pace: pace, StreamEventURL: events.EventsURL()})
			Expect(err).NotTo(HaveOccurred())
			res, err := s.EndAt(ctx, 300*time.Millisecond, how)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Ending).To(Equal(how))
			Expect(res.FramesByTrack).To(Equal(map[string]int{"inbound": 15, "outbound": 15}))
			Expect(res.MediaDuration).To(Equal(300 * time.Millisecond))
			if how != emulator.EndReset { // a reset discards what the app had not read yet
				Eventually(app.First).WithTimeout(5 * time.Second).Should(HaveField("Frames()", Equal(map[string]int{"inbound": 15, "outbound": 15})))
			}
		},
		Entry("real time, then stop", emulator.Realtime, emulator.EndStopStream),
		Entry("real time, then a hangup", emulator.Realtime, emulator.EndHangup),
		Entry("fast, then stop", emulator.Fast, emulator.EndStopStream),
		Entry("fast, then a reset", emulator.Fast, emulator.EndReset),
	)

	It("refuses to end a stream in a way the emulator cannot bring about", func(ctx SpecContext) {
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL()})
		Expect(err).NotTo(HaveOccurred())
		_, err = s.EndAt(ctx, time.Second, emulator.EndConnectRefused)
		Expect(err).To(MatchError(ContainSubstring("not an ending the emulator can bring about")))
		_, err = s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
	})

	It("sends start, 20 ms PCMU media and stop, then closes with 1000", func(ctx SpecContext) {
		tone, err := media.Tone(440)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{
			Name: "agent", Destination: app.URL() + "?token=abc", Tracks: "both", Audio: tone,
			StreamEventURL: events.EventsURL(), Pace: emulator.Fast,
			Params: []protocol.StreamParam{{Name: "tenant", Value: "acme"}, {Name: "lang", Value: "en"}},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 200*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())

		Expect(app.Streams()).To(HaveLen(1))
		got := app.Streams()[0]
		Expect(got.Start.EventType).To(Equal("start"))
		Expect(got.Start.Metadata).To(Equal(protocol.Metadata{
			AccountID: emulator.DefaultAccountID, CallID: call.ID, StreamID: s.ID, StreamName: "agent",
			Tracks: []protocol.TrackInfo{
				{Name: "inbound", MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000}},
				{Name: "outbound", MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000}},
			},
		}))
		Expect(got.Start.StreamParams).To(Equal(protocol.StreamParams{{Name: "tenant", Value: "acme"}, {Name: "lang", Value: "en"}}))
		// 200 ms on two tracks: 10 frames each, sequence numbers count per stream.
		Expect(got.Media).To(HaveLen(20))
		want := make([]byte, media.FrameSize)
		for i, m := range got.Media {
			Expect(m.SequenceNumber).To(Equal(strconv.Itoa(i + 1)))
			Expect(m.Track).To(Equal([]string{"inbound", "outbound"}[i%2]))
			pcm, err := base64.StdEncoding.DecodeString(m.Payload)
			Expect(err).NotTo(HaveOccurred())
			tone.Frame(i/2, want)
			Expect(pcm).To(Equal(want))
		}
		Expect(got.Stop).NotTo(BeNil())
		Expect(got.Stop.Metadata).To(Equal(got.Start.Metadata))
		Eventually(func() int { return app.First().CloseCode }).WithTimeout(5 * time.Second).Should(Equal(1000))

		Expect(res.Ending).To(Equal(emulator.EndStopStream))
		Expect(res.Cause).To(Equal("closed"))
		Expect(res.CloseHandshake).To(BeTrue())
		Expect(res.CloseSent).To(Equal(1000))
		Expect(res.CloseReceived).To(Equal(1000))
		Expect(res.ClosedBy).To(Equal(emulator.ByEmulator))
		Expect(res.MediaDuration).To(Equal(200 * time.Millisecond))
		Expect(res.FramesByTrack).To(Equal(map[string]int{"inbound": 10, "outbound": 10}))
		Expect(res.Failed()).To(BeFalse())
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped"}))
		stopped := events.Requests()[1].Event
		Expect(stopped.MediaStream.Duration.Duration).To(Equal(200 * time.Millisecond))
		Expect(stopped.MediaStream.Destination).To(Equal(app.URL() + "?token=abc"))
	})

	It("sends silence on request and resumes the audio where it paused", func(ctx SpecContext) {
		tone, err := media.Tone(440)
		Expect(err).NotTo(HaveOccurred())
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), Audio: tone, Pace: emulator.Fast})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Expect(s.Silence(ctx, 40*time.Millisecond)).To(Succeed())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.MediaDuration).To(Equal(120 * time.Millisecond))
		got := app.Streams()[0].Media
		Expect(got).To(HaveLen(6))
		frame := func(n int) string {
			p := make([]byte, media.FrameSize)
			tone.Frame(n, p)
			return base64.StdEncoding.EncodeToString(p)
		}
		silence := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{media.SilenceByte}, media.FrameSize))
		var payloads []string
		for _, m := range got {
			payloads = append(payloads, m.Payload)
		}
		Expect(payloads).To(Equal([]string{frame(0), frame(1), silence, silence, frame(2), frame(3)}))
	})

	It("delivers webhooks twice from the moment duplicates are switched on", func(ctx SpecContext) {
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Connected(ctx)).To(Succeed())
		Eventually(events.EventTypes).WithTimeout(time.Second).Should(Equal([]string{"mediaStreamStarted"}))
		e.SetDuplicateWebhooks(true)
		_, err = s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped", "mediaStreamStopped"}))
	})

	It("adds extra fields to the start message when asked", func(ctx SpecContext) {
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast,
			StartExtra: map[string]any{"futureField": map[string]any{"x": 1}, "eventType": "ignored"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 20*time.Millisecond)).To(Succeed())
		_, err = s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		var start map[string]any
		for _, en := range e.Journal().Entries() {
			if en.StreamID == s.ID && en.Event == "start" {
				Expect(json.Unmarshal(en.Data, &start)).To(Succeed())
			}
		}
		Expect(start).To(HaveKeyWithValue("futureField", map[string]any{"x": 1.0}))
		Expect(start).To(HaveKeyWithValue("eventType", "start"), "extra fields never replace real ones")
		Expect(app.Streams()[0].Start.Metadata.StreamID).To(Equal(s.ID))
	})

	It("takes a stop in at once when slowed down, not at its next frame", func(ctx SpecContext) {
		// At a thousandth of real speed the next frame is due 20 s after
		// the first: a pacer that slept through commands until then would
		// keep Stop waiting past its 2 s.
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Realtime, Speed: 0.001})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []apptest.Stream { return app.Streams() }).WithContext(ctx).WithTimeout(10*time.Second).
			Should(ContainElement(HaveField("Media", HaveLen(1))), "the first frame goes out at once")
		stopCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		res, err := s.Stop(stopCtx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndStopStream))
		Expect(res.FramesByTrack).To(Equal(map[string]int{"inbound": 1}))
	}, SpecTimeout(30*time.Second))

	It("carries what the call plays to the caller on the outbound track", func(ctx SpecContext) {
		tone, err := media.Tone(300)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Tracks: "both", Pace: emulator.Realtime, Speed: 4})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Connected(ctx)).To(Succeed())
		call.PlayOutbound(tone, time.Hour)
		Expect(s.Media(ctx, 200*time.Millisecond)).To(Succeed())
		_, err = s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		silence := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{media.SilenceByte}, media.FrameSize))
		var in, out []string
		for _, m := range app.Streams()[0].Media {
			if m.Track == "inbound" {
				in = append(in, m.Payload)
			} else {
				out = append(out, m.Payload)
			}
		}
		Expect(in).To(HaveEach(silence), "the caller side stays silent")
		Expect(out[len(out)-1]).NotTo(Equal(silence), "the outbound track plays the tone")
	})

	It("ends the call completely even when the caller stops waiting", func(ctx SpecContext) {
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 20*time.Millisecond)).To(Succeed())
		gone, cancel := context.WithCancel(ctx)
		cancel()
		Expect(call.Hangup(gone)).To(MatchError(context.Canceled))
		Eventually(call.Done()).WithTimeout(5 * time.Second).Should(BeClosed())
		Eventually(events.EventTypes).WithTimeout(5 * time.Second).Should(Equal([]string{"mediaStreamStarted", "mediaStreamStopped", "disconnect"}))
	})
})
