package emulator_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

var _ = Describe("what the app sends back", func() {
	pcmu := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xFF}, 160))
	play := `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + pcmu + `"}}`

	stream := func(ctx SpecContext, mode protocol.Mode, b behaviour) (*emulator.Emulator, *emulator.StreamResult) {
		app := newTestApp(b)
		e := newEmulator(nil)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Mode: mode, Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 100*time.Millisecond)).To(Succeed())
		// The app's messages are in flight; wait until the journal has them all.
		want := len(b.send)
		Eventually(func() int {
			n := 0
			for _, en := range e.Journal().Entries() {
				if en.Kind == emulator.KindFrameIn || en.Kind == emulator.KindViolation {
					n++
				}
			}
			return n
		}).WithTimeout(2 * time.Second).Should(Equal(want))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		return e, res
	}
	violations := func(e *emulator.Emulator) []string {
		var out []string
		for _, en := range e.Journal().Entries() {
			if en.Kind == emulator.KindViolation {
				out = append(out, en.Error)
			}
		}
		return out
	}

	It("takes playAudio and clear on a bidirectional stream", func(ctx SpecContext) {
		pcm16 := base64.StdEncoding.EncodeToString(make([]byte, 640))
		e, res := stream(ctx, "bidirectional", behaviour{afterFrames: 1, send: []string{
			play, `{"eventType":"clear"}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=16000;channels=1;bit-depth=16;endian=little;encoding=signed","payload":"` + pcm16 + `"}}`,
		}})
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
		Expect(msgs).To(Equal([]string{
			"playAudio audio/pcmu, 160 samples (20ms)",
			"clear: drop queued playback",
			"playAudio audio/pcm;rate=16000;channels=1;bit-depth=16;endian=little;encoding=signed, 320 samples (20ms)",
		}))
	})

	It("journals every invalid frame as a violation and keeps streaming", func(ctx SpecContext) {
		e, res := stream(ctx, "bidirectional", behaviour{afterFrames: 1, send: []string{
			`not json`,
			`{"eventType":"mark"}`,
			`{"eventType":"playAudio"}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/wav","payload":"` + pcmu + `"}}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"%%%"}}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=8000;channels=1;bit-depth=16;endian=little;encoding=signed","payload":"AAAA"}}`,
		}})
		Expect(violations(e)).To(HaveExactElements(
			ContainSubstring("not a JSON object"),
			ContainSubstring(`unknown eventType "mark"`),
			ContainSubstring("playAudio without media"),
			ContainSubstring(`unsupported playAudio contentType "audio/wav"`),
			ContainSubstring("not valid base64"),
			ContainSubstring("whole 2-byte samples"),
		))
		Expect(res.Violations).To(Equal(6))
		Expect(res.Ending).To(Equal(emulator.EndStopStream), "a bad frame never ends the stream")
		Expect(res.Failed()).To(BeTrue())
	})

	It("journals a binary frame as a violation", func(ctx SpecContext) {
		e, res := stream(ctx, "bidirectional", behaviour{afterFrames: 1, sendBinary: true, send: []string{"\x00\x01"}})
		Expect(violations(e)).To(ConsistOf(ContainSubstring("binary frame of 2 bytes")))
		Expect(res.Violations).To(Equal(1))
	})

	It("journals anything sent on a unidirectional stream", func(ctx SpecContext) {
		e, res := stream(ctx, "unidirectional", behaviour{afterFrames: 1, send: []string{play}})
		Expect(violations(e)).To(ConsistOf("the app sent playAudio on a unidirectional stream: only a bidirectional stream takes messages from the app"))
		Expect(res.PlayAudio).To(BeZero())
		Expect(res.Violations).To(Equal(1))
	})
})

var _ = Describe("connections", func() {
	It("reach wss:// destinations through a trusted test CA", func(ctx SpecContext) {
		up := websocket.Upgrader{}
		got := make(chan string, 1)
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_, msg, _ := c.ReadMessage()
			got <- string(msg)
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}))
		DeferCleanup(srv.Close)
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		e := newEmulator(&emulator.Options{TLSConfig: &tls.Config{RootCAs: pool}})
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		dest := "wss://" + strings.TrimPrefix(srv.URL, "https://") + "/media"
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: dest, Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Eventually(got).WithTimeout(2 * time.Second).Should(Receive(ContainSubstring(`"eventType":"start"`)))
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.CloseHandshake).To(BeTrue())
	})

	It("fail wss:// without the CA with a clear connection-error", func(ctx SpecContext) {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		srv.StartTLS()
		DeferCleanup(srv.Close)
		e := newEmulator(nil)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: "wss://" + strings.TrimPrefix(srv.URL, "https://"), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndConnectFailed))
		Expect(res.ErrorMessage).To(ContainSubstring("certificate"))
	})

	It("stream in real time on absolute deadlines", func(ctx SpecContext) {
		app := newTestApp(behaviour{})
		e := newEmulator(nil)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
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
		app := newTestApp(behaviour{})
		events := newEventsServer(204)
		e := emulator.New(nil)
		call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: events.URL()})
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.URL()})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 60*time.Millisecond)).To(Succeed())
		Expect(e.Close()).To(Succeed())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Aborted).To(BeTrue())
		Expect(events.Events()).To(Equal([]string{"mediaStreamStarted"}))
		_, err = e.NewCall(nil)
		Expect(err).To(MatchError(emulator.ErrClosed))
		Expect(call.Hangup(ctx)).To(MatchError(emulator.ErrCallEnded))
	})

	DescribeTable("refuse invalid StartStream specs",
		func(ctx SpecContext, spec emulator.StreamSpec, msg string) {
			e := newEmulator(nil)
			call, err := e.NewCall(nil)
			Expect(err).NotTo(HaveOccurred())
			_, err = call.StartStream(ctx, spec)
			Expect(err).To(MatchError(msg))
		},
		Entry("no destination", emulator.StreamSpec{}, "StartStream destination: is required"),
		Entry("http destination", emulator.StreamSpec{Destination: "http://x"}, `StartStream destination: "http://x" is not a ws:// or wss:// URL`),
		Entry("bad mode", emulator.StreamSpec{Destination: "ws://x", Mode: "both"}, `StartStream mode: "both": want unidirectional or bidirectional`),
		Entry("bad tracks", emulator.StreamSpec{Destination: "ws://x", Tracks: "all"}, `StartStream tracks: "all": want inbound, outbound or both`),
		Entry("bad method", emulator.StreamSpec{Destination: "ws://x", StreamEventMethod: "PUT"}, `StartStream streamEventMethod: "PUT": want POST or GET`),
		Entry("bad pace", emulator.StreamSpec{Destination: "ws://x", Pace: "slow"}, `StartStream pace: "slow": want realtime or fast`),
		Entry("13 params", emulator.StreamSpec{Destination: "ws://x", Params: thirteenParams()}, "StartStream StreamParam: 13 parameters: at most 12 are allowed"),
		Entry("long value", emulator.StreamSpec{Destination: "ws://x", Params: []protocolParam{{Name: "a", Value: strings.Repeat("v", 2049)}}}, `StartStream StreamParam: value of "a" is longer than 2048 characters`),
		Entry("twice", emulator.StreamSpec{Destination: "ws://x", Params: []protocolParam{{Name: "a"}, {Name: "a"}}}, `StartStream StreamParam: name "a" is given twice`),
	)
})
