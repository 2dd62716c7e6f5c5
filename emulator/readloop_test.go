package emulator_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// thirteenParams is one StreamParam over the limit of twelve.
var thirteenParams = func() protocol.StreamParams {
	var out protocol.StreamParams
	for i := range 13 {
		out = append(out, protocol.StreamParam{Name: string(rune('a' + i)), Value: "v"})
	}
	return out
}()

var _ = Describe("what the app sends back", func() {
	pcmu := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xFF}, 160))
	play := `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + pcmu + `"}}`

	// stream sends msgs once the first media frame has arrived (as binary
	// frames when binary) and stops the stream once the journal has them.
	stream := func(ctx SpecContext, mode protocol.Mode, binary bool, msgs ...string) (*emulator.Emulator, *emulator.StreamResult) {
		send := apptest.Send
		if binary {
			send = apptest.SendBinary
		}
		app := apptest.NewWS(apptest.After(1, send(msgs...)))
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), Mode: mode, Pace: emulator.Fast})
		Expect(s.Media(ctx, 100*time.Millisecond)).To(Succeed())
		// The app's messages are in flight; wait until the journal has them all.
		want := len(msgs)
		Eventually(func() int {
			n := 0
			for _, en := range e.Journal().Entries() {
				if en.Kind == emulator.KindFrameIn || en.Kind == emulator.KindViolation || en.Kind == emulator.KindUndocumented {
					n++
				}
			}
			return n
		}).WithTimeout(2 * time.Second).Should(Equal(want))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		return e, res
	}
	errorsOf := func(e *emulator.Emulator, kind emulator.Kind) []string {
		var out []string
		for _, en := range e.Journal().Entries() {
			if en.Kind == kind {
				out = append(out, en.Error)
			}
		}
		return out
	}
	violations := func(e *emulator.Emulator) []string { return errorsOf(e, emulator.KindViolation) }

	It("takes playAudio and clear on a bidirectional stream", func(ctx SpecContext) {
		pcm16 := base64.StdEncoding.EncodeToString(make([]byte, 640))
		e, res := stream(ctx, "bidirectional", false,
			play, `{"eventType":"clear"}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=16000;channels=1;bit-depth=16;endian=little;encoding=signed","payload":"`+pcm16+`"}}`,
		)
		Expect(violations(e)).To(BeEmpty())
		Expect(res.PlayAudio).To(Equal(2))
		Expect(res.PlayAudioBytes).To(Equal(160 + 640))
		Expect(res.Clears).To(Equal(1))
		Expect(res.FirstPlayAudio).To(BeNumerically(">", 0))
		Expect(res.Failed()).To(BeFalse())
		var msgs []string
		for _, en := range e.Journal().Entries() {
			if en.Kind == emulator.KindFrameIn {
				msgs = append(msgs, en.Message)
			}
		}
		Expect(msgs).To(HaveExactElements(
			"playAudio audio/pcmu, 160 samples (20ms)",
			MatchRegexp(`^clear: dropped (0s|20ms) of queued playback$`),
			"playAudio audio/pcm;rate=16000;channels=1;bit-depth=16;endian=little;encoding=signed, 320 samples (20ms)",
		))
	})

	It("journals every invalid frame as a violation and keeps streaming", func(ctx SpecContext) {
		e, res := stream(ctx, "bidirectional", false,
			`not json`,
			`{"eventType":"playAudio"}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/wav","payload":"`+pcmu+`"}}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"%%%"}}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=8000;channels=1;bit-depth=16;endian=little;encoding=signed","payload":"AAAA"}}`,
		)
		Expect(violations(e)).To(HaveExactElements(
			ContainSubstring("not a JSON object"),
			ContainSubstring("playAudio without media"),
			ContainSubstring(`unsupported playAudio contentType "audio/wav"`),
			ContainSubstring("not valid base64"),
			ContainSubstring("whole 2-byte samples"),
		))
		Expect(res.Violations).To(Equal(5))
		Expect(res.Ending).To(Equal(emulator.EndStopStream), "a bad frame never ends the stream")
		Expect(res.Failed()).To(BeTrue())
	})

	It("journals a binary frame as a violation", func(ctx SpecContext) {
		e, res := stream(ctx, "bidirectional", true, "\x00\x01")
		Expect(violations(e)).To(ConsistOf(ContainSubstring("binary frame of 2 bytes")))
		Expect(res.Violations).To(Equal(1))
	})

	// Bandwidth documents nothing about these: never a violation, but
	// journaled, so reports can say what the app did.
	It("journals what Bandwidth documents nothing about as undocumented, not as a violation", func(ctx SpecContext) {
		e, res := stream(ctx, "unidirectional", false, play, `{"eventType":"mark"}`)
		Expect(violations(e)).To(BeEmpty())
		Expect(errorsOf(e, emulator.KindUndocumented)).To(HaveExactElements(
			"the app sent playAudio on a unidirectional stream: Bandwidth documents messages from the app on bidirectional streams only",
			`unknown eventType "mark" (Bandwidth documents playAudio and clear)`,
		))
		Expect(res.PlayAudio).To(BeZero())
		Expect(res.Violations).To(BeZero())
		Expect(res.Undocumented).To(Equal(2))
		Expect(res.Failed()).To(BeFalse())
	})
})

var _ = Describe("connections", func() {
	It("reach wss:// destinations through a trusted test CA", func(ctx SpecContext) {
		app := apptest.NewTLSWS()
		e := apptest.NewEmulator(&emulator.Options{TLSConfig: app.TLSConfig()})
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []string { return app.First().EventTypes }).WithTimeout(2 * time.Second).Should(ContainElement("start"))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.CloseHandshake).To(BeTrue())
	})

	It("fail wss:// without the CA with a clear connection-error", func(ctx SpecContext) {
		app := apptest.NewTLSWS()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndConnectFailed))
		Expect(res.ErrorMessage).To(ContainSubstring("certificate"))
	})

	It("stream in real time on absolute deadlines", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Speed: 4})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Spec().Pace).To(Equal(emulator.Realtime))
		Expect(s.Media(ctx, 400*time.Millisecond)).To(Succeed())
		Expect(s.Progress()).To(BeNumerically(">=", 400*time.Millisecond))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		// Duration is the media time: every frame sent or skipped, 20 ms each.
		Expect(res.MediaDuration).To(Equal(time.Duration(res.Messages+res.Skipped) * 20 * time.Millisecond))
		Expect(len(app.Streams()[0].Media)).To(Equal(res.Messages))
	})

	It("are cut by Close without webhooks and without leaks", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := emulator.New(nil)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL()})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL()})
		Expect(s.Media(ctx, 60*time.Millisecond)).To(Succeed())
		Expect(e.Close()).To(Succeed())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Aborted).To(BeTrue())
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted"}))
		_, err = e.NewCall(nil)
		Expect(err).To(MatchError(emulator.ErrClosed))
		Expect(call.Hangup(ctx)).To(MatchError(emulator.ErrCallEnded))
	})

	DescribeTable("refuse invalid StartStream specs",
		func(ctx SpecContext, spec emulator.StreamSpec, msg string) {
			e := apptest.NewEmulator(nil)
			call := specs.Call(e, nil)
			_, err := call.StartStream(ctx, spec)
			Expect(err).To(MatchError(msg))
		},
		Entry("no destination", emulator.StreamSpec{}, "StartStream destination: is required"),
		Entry("http destination", emulator.StreamSpec{Destination: "http://x"}, `StartStream destination: "http://x" is not a ws:// or wss:// URL`),
		Entry("bad mode", emulator.StreamSpec{Destination: "ws://x", Mode: "both"}, `StartStream mode: "both": want unidirectional or bidirectional`),
		Entry("bad tracks", emulator.StreamSpec{Destination: "ws://x", Tracks: "all"}, `StartStream tracks: "all": want inbound, outbound or both`),
		Entry("bad method", emulator.StreamSpec{Destination: "ws://x", StreamEventMethod: "PUT"}, `StartStream streamEventMethod: "PUT": want POST or GET`),
		Entry("bad pace", emulator.StreamSpec{Destination: "ws://x", Pace: "slow"}, `StartStream pace: "slow": want realtime or fast`),
		Entry("13 params", emulator.StreamSpec{Destination: "ws://x", Params: thirteenParams}, "StartStream StreamParam: 13 parameters: at most 12 are allowed"),
		Entry("long value", emulator.StreamSpec{Destination: "ws://x", Params: protocol.StreamParams{{Name: "a", Value: strings.Repeat("v", 2049)}}}, `StartStream StreamParam: value of "a" is longer than 2048 characters`),
		Entry("twice", emulator.StreamSpec{Destination: "ws://x", Params: protocol.StreamParams{{Name: "a"}, {Name: "a"}}}, `StartStream StreamParam: name "a" is given twice`),
	)
})
