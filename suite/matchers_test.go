package suite_test

import (
	"context"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	. "github.com/bwemu/bwemu/suite"
	"github.com/bwemu/bwemu/suite/specs"
)

// short keeps every ending a test provokes quick.
var short = emulator.Timeouts{Handshake: 2 * time.Second, Write: 2 * time.Second,
	CloseHandshake: 300 * time.Millisecond, Callback: 2 * time.Second, DeadPeer: 200 * time.Millisecond}

func newEmulator(o *emulator.Options) *emulator.Emulator {
	if o == nil {
		o = &emulator.Options{}
	}
	o.Timeouts = short
	return apptest.NewEmulator(o)
}

// failing500 answers every webhook 500 with a body.
func failing500() *apptest.Hooks {
	return apptest.NewHooks(apptest.Reply{Status: http.StatusInternalServerError, Body: "boom: the app failed"})
}

// startStream starts a stream named "agent" (unless the spec names it) on
// a new call, in Fast pace, and returns it live.
func startStream(ctx context.Context, e *emulator.Emulator, spec emulator.StreamSpec) *emulator.Stream {
	call := specs.Call(e, nil)
	if spec.Name == "" {
		spec.Name = "agent"
	}
	spec.Pace = emulator.Fast
	s, err := call.StartStream(ctx, spec)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// stopped streams 60 ms and stops the stream.
func stopped(ctx context.Context, s *emulator.Stream) *emulator.Stream {
	Expect(s.Media(ctx, 60*time.Millisecond)).To(Succeed())
	_, err := s.Stop(ctx)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// ended waits for a stream that ends on its own.
func ended(ctx context.Context, s *emulator.Stream) *emulator.Stream {
	_, err := s.Wait(ctx)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// failureOf runs m on actual, which it must fail, and returns the message.
func failureOf(m types.GomegaMatcher, actual any) string {
	GinkgoHelper()
	expectMatch(m, actual, false)
	return m.FailureMessage(actual)
}

// negatedFailureOf runs m on actual, which it must match, and returns the
// message NotTo would print.
func negatedFailureOf(m types.GomegaMatcher, actual any) string {
	GinkgoHelper()
	expectMatch(m, actual, true)
	return m.NegatedFailureMessage(actual)
}

// expectMatch runs m on actual without an error, and checks whether it
// matched.
func expectMatch(m types.GomegaMatcher, actual any, want bool) {
	GinkgoHelper()
	ok, err := m.Match(actual)
	Expect(err).NotTo(HaveOccurred())
	Expect(ok).To(Equal(want), "whether the matcher matched")
}

const timeout = SpecTimeout(20 * time.Second)

var _ = Describe("stream matchers", func() {
	var e *emulator.Emulator
	BeforeEach(func() { e = newEmulator(nil) })

	Describe("on a stream the reference consumer took and the emulator stopped", func() {
		var (
			app *consumer.Server
			s   *emulator.Stream
		)
		BeforeEach(func(ctx SpecContext) {
			app = apptest.NewConsumer(nil)
			s = stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL()}))
		}, NodeTimeout(20*time.Second))

		It("pass on the stream and on its result", func() {
			for _, actual := range []any{s, s.Result(), *s.Result()} {
				Expect(actual).To(HaveEnded(emulator.EndStopStream))
				Expect(actual).To(HaveStopped("closed"))
				Expect(actual).To(HaveStopped("closed", BeEmpty()))
				Expect(actual).NotTo(HaveBeenRejected("duplicate"))
				Expect(actual).To(HaveClosed(emulator.ByEmulator, 1000))
				Expect(actual).To(HaveClosed(emulator.ByEmulator, 0))
				Expect(actual).To(HaveClosed("", 1000))
				Expect(actual).To(HaveCompletedCloseHandshake())
				Expect(actual).To(HaveNoViolations())
				Expect(actual).NotTo(HaveSentPlayAudio(1, 0))
				Expect(actual).To(HaveNoAppFault())
				Expect(actual).To(HaveEnded(emulator.EndStopStream, HaveStopped("closed"), HaveCompletedCloseHandshake()))
				Expect(actual).To(HaveWebhook("mediaStreamStarted"))
				Expect(actual).To(HaveWebhook("mediaStreamStopped", BeAnsweredWith(204), BeAnsweredWithin(5*time.Second)))
				Expect(actual).To(BeAnswered2xx())
			}
		})

		It("HaveEnded fails with the ending seen, the result and the journal excerpt", func() {
			msg := failureOf(HaveEnded(emulator.EndHangup), s)
			Expect(msg).To(HavePrefix(`Expected stream "agent" (` + s.ID + `) to have ended with hangup, but it ended with stop-stream (by emulator)`))
			Expect(msg).To(ContainSubstring("ending:        stop-stream (by emulator)"))
			Expect(msg).To(ContainSubstring("event:         mediaStreamStopped, cause closed"))
			Expect(msg).To(ContainSubstring("close:         the emulator closed with code 1000 and the app answered 1000: close handshake complete"))
			Expect(msg).To(ContainSubstring("mediaStreamStopped (closed): POST, answered 204 No Content in "))
			Expect(msg).To(MatchRegexp(`\njournal of stream %s \(\d+ entries\):\n`, s.ID))
			Expect(msg).To(MatchRegexp(`\+\d+\.\d{3}ms  close      emulator  close frame sent: code 1000`))
			Expect(msg).To(MatchRegexp(`\+\d+\.\d{3}ms  webhook    emulator  POST http://\S+/events → 204`))
			Expect(msg).To(ContainSubstring("webhooks:      mediaStreamStarted: POST, answered 204 No Content in "))
			Expect(msg).To(MatchRegexp(`\n {17}mediaStreamStopped \(closed\): POST, answered 204`))

			msg = negatedFailureOf(HaveEnded(emulator.EndStopStream), s)
			Expect(msg).To(HavePrefix(`Expected stream "agent" (` + s.ID + `) not to have ended with stop-stream, but it ended with stop-stream`))
		})

		It("a result has no journal excerpt", func() {
			msg := failureOf(HaveEnded(emulator.EndHangup), s.Result())
			Expect(msg).To(HavePrefix("Expected the stream result to have ended with hangup, but it ended with stop-stream"))
			Expect(msg).NotTo(ContainSubstring("journal"))
		})

		It("HaveStopped and HaveBeenRejected fail with the event, cause and errorMessage seen", func() {
			msg := failureOf(HaveStopped("connection-error", "reset"), s)
			Expect(msg).To(HavePrefix(`Expected stream "agent" (` + s.ID + `) to have stopped with cause connection-error and an errorMessage containing "reset", but it ended as mediaStreamStopped with cause closed and no errorMessage`))
			msg = failureOf(HaveBeenRejected("duplicate"), s)
			Expect(msg).To(ContainSubstring("to have been rejected with cause duplicate, but it ended as mediaStreamStopped with cause closed"))
		})

		It("HaveSentPlayAudio fails when the app sent none", func() {
			msg := failureOf(HaveSentPlayAudio(1, time.Second), s)
			Expect(msg).To(ContainSubstring("to have received at least 1 valid playAudio message from the app, the first within 1s of the stream's start, but the app sent 0 valid playAudio messages"))
			Expect(msg).To(ContainSubstring("from the app:  0 playAudio, 0 clear, 0 violations"))
		})

		It("HaveClosed fails with who closed and the codes", func() {
			msg := failureOf(HaveClosed(emulator.ByApp, 4001), s)
			Expect(msg).To(ContainSubstring("to have been closed by app with code 4001, but the emulator closed with code 1000 and the app answered 1000"))
			msg = failureOf(HaveClosed(emulator.ByEmulator, 1011), s)
			Expect(msg).To(ContainSubstring("to have been closed by emulator with code 1011, but the emulator closed with code 1000"))
		})

		It("HaveCompletedCloseHandshake under NotTo says the handshake was complete", func() {
			msg := negatedFailureOf(HaveCompletedCloseHandshake(), s)
			Expect(msg).To(ContainSubstring("not to have completed the close handshake, but the emulator closed with code 1000 and the app answered 1000: close handshake complete"))
		})

		It("Eventually gives up at once on an ended stream that does not match", func() {
			err := InterceptGomegaFailure(func() {
				Eventually(s).WithTimeout(time.Minute).Should(HaveEnded(emulator.EndHangup))
			})
			Expect(err).To(MatchError(ContainSubstring("No future change is possible")))
			Expect(err).To(MatchError(ContainSubstring("but it ended with stop-stream")))
		})

		It("the standalone Gomega reports the same failure", func() {
			var got string
			g := NewGomega(func(message string, _ ...int) { got = message })
			Expect(g.Expect(s).To(HaveEnded(emulator.EndReset))).To(BeFalse())
			Expect(got).To(ContainSubstring("to have ended with reset, but it ended with stop-stream"))
		})
	})

	Describe("on a live stream", func() {
		It("fail with an error saying it is still live, To and NotTo alike", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			s := startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL()})
			Expect(s.Connected(ctx)).To(Succeed())
			for _, m := range []types.GomegaMatcher{HaveEnded(emulator.EndStopStream), HaveWebhook("mediaStreamStarted"), BeAnswered2xx()} {
				_, err := m.Match(s)
				Expect(err).To(MatchError(HavePrefix(`stream "agent" (` + s.ID + `) is still live`)))
				Expect(err).To(MatchError(ContainSubstring("handshake")), "with the journal so far")
			}
			Expect(InterceptGomegaFailure(func() { Expect(s).NotTo(HaveEnded(emulator.EndHangup)) })).To(MatchError(ContainSubstring("is still live")))
			err := InterceptGomegaFailure(func() {
				Eventually(s).WithTimeout(100 * time.Millisecond).Should(HaveStopped("closed"))
			})
			Expect(err).To(MatchError(MatchRegexp(`^Timed out after 0\.\d+s\.\nstream "agent" \(s-[^)]+\) is still live`)), "the error in plain words, not as a Go value")
			Expect(err.Error()).NotTo(ContainSubstring("errors.errorString"))
			stopped(ctx, s)
		}, timeout)

		It("Eventually waits for the stream to end", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Close(4001, "bye"))
			s := startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()})
			Eventually(s).WithTimeout(5 * time.Second).Should(HaveEnded(emulator.EndAppCloseCode))
		}, timeout)
	})

	Describe("on an app that closes with 4001", func() {
		var s *emulator.Stream
		BeforeEach(func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Close(4001, "bye"))
			s = ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()}))
		}, NodeTimeout(20*time.Second))

		It("pass with the app's code and the connection-error cause once HaveEnded names the ending", func() {
			Expect(s).To(HaveEnded(emulator.EndAppCloseCode))
			Expect(s).To(HaveEnded(emulator.EndAppCloseCode, HaveStopped("connection-error", "4001")))
			Expect(s).To(HaveEnded(emulator.EndAppCloseCode,
				HaveStopped("connection-error", "code 4001 (bye)"),
				HaveStopped("connection-error", "code %d", 4001),
				HaveStopped("connection-error", MatchRegexp(`^the websocket was closed by the destination with code 4001`)),
				HaveClosed(emulator.ByApp, 4001),
				HaveClosed("", 4001),
				HaveCompletedCloseHandshake(),
				HaveNoViolations(),
				Not(HaveBeenRejected("duplicate")),
				Not(HaveSentPlayAudio(1, 0)),
				And(HaveClosed(emulator.ByApp, 0), Or(HaveStopped("closed"), HaveStopped("connection-error"))),
				WithTransform(func(s *emulator.Stream) int { return s.Result().CloseReceived }, Equal(4001)),
			))
			Expect(s.Result()).To(HaveEnded(emulator.EndAppCloseCode, HaveClosed(emulator.ByApp, 4001)))
			Expect(s).NotTo(HaveEnded(emulator.EndAppClose, HaveClosed(emulator.ByApp, 4001)))
		})

		It("fail every other stream matcher, To and NotTo alike, naming the fault first", func() {
			for _, m := range []types.GomegaMatcher{
				HaveStopped("connection-error", "4001"), HaveStopped("closed"), HaveBeenRejected("duplicate"),
				HaveClosed(emulator.ByApp, 4001), HaveCompletedCloseHandshake(), HaveNoViolations(),
				HaveSentPlayAudio(1, 0), HaveWebhook("mediaStreamStopped"), BeAnswered2xx(),
			} {
				for _, actual := range []any{s, s.Result()} {
					ok, err := m.Match(actual)
					Expect(ok).To(BeFalse())
					Expect(err).To(MatchError(MatchRegexp(`^(stream "agent" \(s-[^)]+\)|the stream result) ended with app-close-code, a fault of the app: cause connection-error, errorMessage "the websocket was closed by the destination with code 4001 \(bye\)"\n`)))
					Expect(InterceptGomegaFailure(func() { Expect(actual).To(m) })).To(HaveOccurred())
					Expect(InterceptGomegaFailure(func() { Expect(actual).NotTo(m) })).To(HaveOccurred())
				}
			}
			err := InterceptGomegaFailure(func() { Expect(s).To(HaveStopped("connection-error", "4001")) })
			Expect(err.Error()).To(ContainSubstring("  expected:   to have stopped with cause connection-error and an errorMessage containing \"4001\", which an ending by a fault of the app fails unless the test expects that ending\n"))
			Expect(err.Error()).To(ContainSubstring("  caused by:  the app\n"))
			Expect(err.Error()).To(ContainSubstring("  close:      the app closed with code 4001 (bye) and the emulator answered 4001: close handshake complete\n"))
			Expect(err.Error()).To(ContainSubstring("if this ending is what the test expects, expect it by name (expect.ending: app-close-code in a scenario, suite.HaveEnded(emulator.EndAppCloseCode) in Go)"))
			Expect(err.Error()).To(ContainSubstring("suite.HaveEnded(emulator.EndAppCloseCode, suite.HaveStopped(…)) checks the rest of such a stream"))
			Expect(err.Error()).To(MatchRegexp(`close      app       close frame received: code 4001 \(bye\)`), "with the journal")
		})

		It("Eventually gives up at once on the fault and prints it without Go types", func() {
			err := InterceptGomegaFailure(func() {
				Eventually(s).WithTimeout(time.Minute).Should(HaveClosed(emulator.ByApp, 4001))
			})
			Expect(err).To(MatchError(ContainSubstring("No future change is possible")))
			Expect(err).To(MatchError(ContainSubstring("ended with app-close-code, a fault of the app")))
			Expect(err.Error()).NotTo(ContainSubstring("errors.errorString"))
			Expect(err.Error()).NotTo(MatchRegexp(`<\*?\w+\.\w+`))
		})

		It("HaveEnded with matchers fails showing what each matcher said, the close in the journal", func() {
			msg := failureOf(HaveEnded(emulator.EndAppCloseCode, HaveStopped("closed"), HaveClosed(emulator.ByApp, 4001)), s)
			Expect(msg).To(HavePrefix(`Expected stream "agent" (` + s.ID + `) to have ended with app-close-code, then have stopped with cause closed and have been closed by app with code 4001, but it ended with app-close-code (by app) as expected, and then 1 of 2 matchers did not hold`))
			Expect(msg).To(ContainSubstring(`what the matchers said:` + "\n" + `  want to have stopped with cause closed, but it ended as mediaStreamStopped with cause connection-error and errorMessage "the websocket was closed by the destination with code 4001 (bye)"`))
			Expect(msg).To(ContainSubstring("ending:        app-close-code (by app, an app fault)"))
			Expect(msg).To(ContainSubstring("close:         the app closed with code 4001 (bye) and the emulator answered 4001: close handshake complete"))
			Expect(msg).To(MatchRegexp(`close      app       close frame received: code 4001 \(bye\)`))

			msg = failureOf(HaveEnded(emulator.EndAppCloseCode, Not(HaveCompletedCloseHandshake())), s)
			Expect(msg).To(ContainSubstring("then not have completed the close handshake, but"))
			Expect(msg).To(ContainSubstring("want not to have completed the close handshake, but the app closed with code 4001 (bye) and the emulator answered 4001: close handshake complete"))

			msg = failureOf(HaveEnded(emulator.EndHangup, HaveStopped("closed")), s)
			Expect(msg).To(ContainSubstring(`to have ended with hangup, then have stopped with cause closed, but it ended with app-close-code, a fault of the app: cause connection-error, errorMessage "the websocket was closed by the destination with code 4001 (bye)"`))
			Expect(msg).To(ContainSubstring("suite.HaveEnded(emulator.EndAppCloseCode) in Go"))
		})

		It("HaveEnded with matchers fails on the errorMessage, with the matcher's own words and no Go types", func() {
			msg := failureOf(HaveEnded(emulator.EndAppCloseCode, HaveStopped("connection-error", "timed out")), s)
			Expect(msg).To(ContainSubstring(`and an errorMessage containing "timed out", but it ended as mediaStreamStopped with cause connection-error and errorMessage "the websocket was closed`))
			Expect(msg).To(ContainSubstring("the errorMessage matcher said:"))
			Expect(msg).To(ContainSubstring("to contain substring"))
			Expect(msg).NotTo(ContainSubstring("<string>"))

			msg = failureOf(HaveEnded(emulator.EndAppCloseCode, HaveStopped("connection-error", Equal("nope"))), s)
			Expect(msg).To(ContainSubstring("and an errorMessage satisfying the given matcher"))
			Expect(msg).To(ContainSubstring("to equal"))
			Expect(msg).To(ContainSubstring("nope"))

			msg = failureOf(HaveEnded(emulator.EndAppCloseCode, WithTransform(func(s *emulator.Stream) int { return s.Result().CloseReceived }, Equal(1000))), s)
			Expect(msg).To(ContainSubstring("then satisfying the given matcher, but"))
			Expect(msg).To(MatchRegexp(`Expected\s+4001\s+to equal\s+1000`))
			Expect(msg).NotTo(MatchRegexp(`<\*?[\w.]+`), "no Go type names")
		})

		It("HaveClosed fails when the emulator is expected to have closed", func() {
			msg := failureOf(HaveEnded(emulator.EndAppCloseCode, HaveClosed(emulator.ByEmulator, 1000)), s)
			Expect(msg).To(ContainSubstring("want to have been closed by emulator with code 1000, but the app closed with code 4001 (bye)"))
			Expect(failureOf(HaveEnded(emulator.EndAppCloseCode, HaveClosed(emulator.ByApp, 1000)), s)).To(ContainSubstring("but the app closed with code 4001"))
		})
	})

	Describe("on an app that drops the TCP connection", func() {
		var s *emulator.Stream
		BeforeEach(func(ctx SpecContext) {
			app := apptest.NewWS(apptest.HangUp())
			s = ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()}))
		}, NodeTimeout(20*time.Second))

		It("pass for an abnormal close by the app, once HaveEnded names it", func() {
			Expect(s).To(HaveEnded(emulator.EndAppAbnormalClose,
				HaveStopped("connection-error", "closed abnormally"),
				HaveClosed(emulator.ByApp, 0),
				Not(HaveCompletedCloseHandshake())))
			_, err := HaveClosed(emulator.ByApp, 0).Match(s)
			Expect(err).To(MatchError(ContainSubstring("ended with app-abnormal-close, a fault of the app")))
			Expect(s).NotTo(HaveNoAppFault())
		})

		It("fail saying no close frame came", func() {
			Expect(failureOf(HaveEnded(emulator.EndAppAbnormalClose, HaveClosed(emulator.ByApp, 1000)), s)).To(ContainSubstring(
				"want to have been closed by app with code 1000, but the app ended the connection without a close frame (app-abnormal-close): close handshake incomplete"))
			msg := failureOf(HaveEnded(emulator.EndAppAbnormalClose, HaveCompletedCloseHandshake()), s)
			Expect(msg).To(ContainSubstring("want to have completed the close handshake, but the app ended the connection without a close frame"))
			Expect(msg).To(ContainSubstring("connection ended: the destination"))
		})
	})

	Describe("on an app that never answers the close frame", func() {
		It("HaveCompletedCloseHandshake fails with the timeout in the journal", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.IgnoreClose())
			s := stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()}))
			Expect(s).To(HaveEnded(emulator.EndCloseHandshakeTimeout, HaveClosed(emulator.ByEmulator, 1000)))
			_, err := HaveCompletedCloseHandshake().Match(s)
			Expect(err).To(MatchError(HavePrefix(`stream "agent" (` + s.ID + `) ended with close-handshake-timeout, a fault of the app: cause closed, no errorMessage`)))
			msg := failureOf(HaveEnded(emulator.EndCloseHandshakeTimeout, HaveCompletedCloseHandshake()), s)
			Expect(msg).To(ContainSubstring("but the emulator closed with code 1000 and the app never answered it (close-handshake-timeout): close handshake incomplete"))
			Expect(msg).To(ContainSubstring("close handshake incomplete: no close frame from the app within 300ms"))
		}, timeout)
	})

	Describe("on a network fault", func() {
		It("HaveClosed takes the network, with no code", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			s := startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL()})
			Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
			_, err := s.Inject(ctx, emulator.FaultReset)
			Expect(err).NotTo(HaveOccurred())
			Expect(s).To(HaveClosed(emulator.ByNetwork, 0))
			Expect(s).To(HaveStopped("connection-error", "reset"))
			Expect(failureOf(HaveClosed(emulator.ByApp, 0), s)).To(ContainSubstring("but the network ended the connection (reset): no close frames"))
			_, err = HaveClosed(emulator.ByNetwork, 1000).Match(s)
			Expect(err).To(MatchError(ContainSubstring("a network close (reset, drop) carries no close code")))
		}, timeout)
	})

	Describe("HaveBeenRejected", func() {
		It("passes for a duplicate name and fails HaveStopped with the rejection", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			events := apptest.NewHooks()
			call := specs.Call(e, nil)
			first, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), Pace: emulator.Fast})
			Expect(err).NotTo(HaveOccurred())
			dup, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
			Expect(err).To(HaveOccurred())
			Expect(dup).To(HaveBeenRejected("duplicate", "already active"))
			Expect(dup).To(HaveEnded(emulator.EndDuplicate))
			Expect(dup).To(HaveWebhook("mediaStreamRejected", BeAnsweredWith(204)))

			msg := failureOf(HaveStopped("closed"), dup)
			Expect(msg).To(ContainSubstring(`but it ended as mediaStreamRejected with cause duplicate and errorMessage "a stream named agent is already active on this call"`))
			Expect(msg).To(ContainSubstring(`original:      stream "agent" (` + first.ID + ")"))
			Expect(msg).To(ContainSubstring("connection:    not connected"))
			Expect(msg).To(ContainSubstring("close:         the stream never connected: nothing was closed"))
			Expect(msg).To(MatchRegexp(`rejected   emulator  StartStream "agent" rejected \(duplicate\)`))
			Expect(failureOf(HaveClosed(emulator.ByEmulator, 0), dup)).To(ContainSubstring("but the stream never connected"))
			stopped(ctx, first)
		}, timeout)

		It("passes for a refused connection reported as Rejected", func(ctx SpecContext) {
			e := newEmulator(&emulator.Options{RejectOnConnectError: true})
			s := ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: apptest.RefusedURL()}))
			Expect(s).To(HaveEnded(emulator.EndConnectRefused, HaveBeenRejected("connection-error", "connection refused")))
			Expect(s).To(HaveEnded(emulator.EndConnectRefused))
			Expect(failureOf(HaveEnded(emulator.EndConnectRefused, HaveBeenRejected("connection-error", "timed out")), s)).To(ContainSubstring(
				`errorMessage "could not connect to the websocket destination: connection refused (nothing listens at`))
		}, timeout)
	})

	Describe("HaveSentPlayAudio and HaveNoViolations", func() {
		It("pass for a bidirectional app that echoes", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			s := stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL() + "?echo=1", Mode: "bidirectional"}))
			Expect(s).To(HaveSentPlayAudio(3, 0))
			Expect(s).To(HaveSentPlayAudio(1, 10*time.Second))
			Expect(s).To(HaveNoViolations())
			msg := failureOf(HaveSentPlayAudio(4, 0), s)
			Expect(msg).To(MatchRegexp(`to have received at least 4 valid playAudio messages from the app, but the app sent 3 valid playAudio messages, the first \S+ after the stream's start`))
			msg = failureOf(HaveSentPlayAudio(1, time.Nanosecond), s)
			Expect(msg).To(ContainSubstring("the first within 1ns of the stream's start, but the app sent 3 valid playAudio messages, the first"))
			Expect(msg).To(ContainSubstring("from the app:  3 playAudio, 0 clear, 0 violations"))
			Expect(msg).To(MatchRegexp(`frame\.in   app       playAudio audio/pcmu`))
			Expect(msg).To(MatchRegexp(`\njournal of stream %s \(the last 10 of \d+ entries\):\n  \(\d+ earlier entr(y|ies) before these\)\n`, s.ID))
		}, timeout)

		It("HaveNoViolations is an error on a stream that never connected: the app could break nothing", func(ctx SpecContext) {
			app := apptest.NewConsumer(nil)
			call := specs.Call(e, nil)
			first, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), Pace: emulator.Fast})
			Expect(err).NotTo(HaveOccurred())
			dup, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), Pace: emulator.Fast})
			Expect(err).To(HaveOccurred())
			for _, m := range []types.GomegaMatcher{HaveNoViolations(), HaveAtMostViolations(3)} {
				_, err = m.Match(dup)
				Expect(err).To(MatchError(HavePrefix(`stream "agent" (` + dup.ID + `) never connected (it ended with duplicate), so the app had no chance to break the protocol`)))
				Expect(InterceptGomegaFailure(func() { Expect(dup).NotTo(m) })).To(HaveOccurred())
			}
			_, err = HaveEnded(emulator.EndDuplicate, HaveNoViolations()).Match(dup)
			Expect(err).To(MatchError(ContainSubstring("never connected")))
			stopped(ctx, first)
			Expect(first).To(HaveNoViolations())
		}, timeout)

		It("HaveNoViolations fails listing the violations from the journal", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Send(`{"eventType":"playAudio"}`, `not json at all`))
			s := startStream(ctx, e, emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
			Expect(e.Journal().WaitFor(ctx, func(en emulator.Entry) bool {
				return en.StreamID == s.ID && en.Kind == emulator.KindViolation && strings.Contains(string(en.Data), "not json")
			})).Error().NotTo(HaveOccurred())
			stopped(ctx, s)
			msg := failureOf(HaveNoViolations(), s)
			Expect(msg).To(ContainSubstring("to have no protocol violations from the app, but the app committed 2 protocol violations"))
			violations, _, _ := strings.Cut(msg[strings.Index(msg, "violations:\n"):], "\nresult:")
			Expect(strings.Count(violations, "violation  app       protocol violation: ")).To(Equal(2), violations)
			Expect(failureOf(HaveNoViolations(), s.Result())).To(ContainSubstring("match the stream rather than its result to see them"))
			Expect(s).To(HaveAtMostViolations(2))
			Expect(failureOf(HaveAtMostViolations(1), s)).To(ContainSubstring("to have at most 1 protocol violation from the app, but the app committed 2 protocol violations"))
			Expect(failureOf(HaveSentPlayAudio(1, 0), s)).To(ContainSubstring("but the app sent 0 valid playAudio messages (and 2 protocol violations)"))
		}, timeout)
	})

	Describe("bad arguments and actuals", func() {
		It("are errors, never a pass", func() {
			for _, c := range []struct {
				m      types.GomegaMatcher
				actual any
				err    string
			}{
				{HaveEnded("sideways"), &emulator.StreamResult{}, `HaveEnded: "sideways" is not an ending of the termination table`},
				{HaveStopped("duplicate"), &emulator.StreamResult{}, `HaveStopped: "duplicate" is not a mediaStreamStopped cause (closed, connection-error, error)`},
				{HaveBeenRejected("closed"), &emulator.StreamResult{}, `HaveBeenRejected: "closed" is not a mediaStreamRejected cause`},
				{HaveStopped("closed", 42), &emulator.StreamResult{}, "must be a string or a Gomega matcher, got int"},
				{HaveClosed("somebody", 0), &emulator.StreamResult{}, `HaveClosed: "somebody" is not emulator.ByEmulator, ByApp or ByNetwork`},
				{HaveSentPlayAudio(-1, 0), &emulator.StreamResult{}, "must not be negative"},
				{HaveSentPlayAudio(0, time.Second), &emulator.StreamResult{}, "HaveSentPlayAudio: min 0 expects nothing (an app that sent no playAudio at all would pass)"},
				{HaveAtMostViolations(-1), &emulator.StreamResult{}, "must not be negative"},
				{HaveEnded(emulator.EndHangup, nil), &emulator.StreamResult{}, "HaveEnded: matcher 1 is nil"},
				{HaveWebhook("disconnect", nil), []*emulator.Delivery{}, "HaveWebhook: matcher 1 is nil"},
				{HaveEnded(emulator.EndHangup), nil, "HaveEnded expects a *emulator.Stream or *emulator.StreamResult, got nil"},
				{HaveEnded(emulator.EndHangup), "hangup", "HaveEnded expects a *emulator.Stream or *emulator.StreamResult, got string"},
				{HaveNoViolations(), &emulator.Delivery{}, "got *emulator.Delivery"},
				{HaveNoViolations(), (*emulator.Stream)(nil), "got *emulator.Stream"},
				{BeAnsweredWith(204), 204, "BeAnsweredWith expects a *emulator.Stream, *emulator.StreamResult, *emulator.Delivery or []*emulator.Delivery, got int"},
				{AcceptNewStream(context.Background(), emulator.StreamSpec{}), "emulator", "Matcher expected actual of type <*emulator.Emulator>"},
			} {
				ok, err := c.m.Match(c.actual)
				Expect(ok).To(BeFalse())
				Expect(err).To(MatchError(ContainSubstring(c.err)))
				Expect(InterceptGomegaFailure(func() { Expect(c.actual).NotTo(c.m) })).To(HaveOccurred())
			}
		})
	})
})

var _ = Describe("webhook matchers", func() {
	var (
		e   *emulator.Emulator
		app *consumer.Server
	)
	BeforeEach(func() {
		e = newEmulator(nil)
		app = apptest.NewConsumer(nil)
	})
	// withEvents runs a stopped stream whose webhooks go to events.
	withEvents := func(ctx context.Context, events string) *emulator.Stream {
		return stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: events}))
	}

	It("pass on a delivery, deliveries, a stream and a result answered 204", func(ctx SpecContext) {
		s := withEvents(ctx, app.EventsURL())
		ds := s.Result().Deliveries
		Expect(ds).To(HaveLen(2))
		for _, actual := range []any{ds[1], ds, s, s.Result()} {
			Expect(actual).To(BeAnsweredWith(204))
			Expect(actual).To(BeAnswered2xx())
			Expect(actual).To(BeAnsweredWithin(10 * time.Second))
			Expect(actual).To(HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)))
			Expect(actual).To(HaveWebhook("", BeAnswered2xx()))
			Expect(actual).NotTo(HaveWebhook("mediaStreamRejected"))
		}
		Expect(ds[0]).NotTo(BeAnsweredWith(200))
		Expect(s).To(HaveWebhook("mediaStreamStopped", WithTransform(func(d *emulator.Delivery) string { return d.Event.Cause }, Equal("closed"))))
	}, timeout)

	It("fail on a 500 with the event, status, latency, answer and JSON body", func(ctx SpecContext) {
		events := failing500()
		s := withEvents(ctx, events.EventsURL())
		stoppedHook := s.Result().Deliveries[1]

		msg := failureOf(BeAnsweredWith(204), stoppedHook)
		Expect(msg).To(MatchRegexp(`^Expected the mediaStreamStopped \(closed\) webhook to be answered with 204, but it was answered 500 Internal Server Error in \S+`))
		Expect(msg).To(ContainSubstring("webhooks:\n  mediaStreamStopped (closed): POST " + events.EventsURL() + ", answered 500 Internal Server Error in "))
		Expect(msg).To(ContainSubstring(`answer body: "boom: the app failed"`))
		Expect(msg).To(ContainSubstring(`json: {"accountId":"9901234"`))
		Expect(msg).To(ContainSubstring(`"eventType":"mediaStreamStopped"`))
		Expect(msg).To(ContainSubstring(`"mediaStream":{"destination":"` + app.WebSocketURL()))

		msg = failureOf(BeAnswered2xx(), s)
		Expect(msg).To(ContainSubstring(`Expected every webhook of stream "agent" (` + s.ID + `) to be answered 2xx, but 2 of 2 were not: the mediaStreamStarted webhook was answered 500 Internal Server Error in`))
		Expect(msg).To(ContainSubstring("; the mediaStreamStopped (closed) webhook was answered 500"))
		Expect(msg).To(ContainSubstring("\njournal of stream " + s.ID))

		msg = failureOf(HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)), s)
		Expect(msg).To(ContainSubstring(`to have a mediaStreamStopped webhook answered with 204, but the only mediaStreamStopped webhook did not satisfy them`))
		Expect(msg).To(ContainSubstring("what the matchers said:\n  mediaStreamStopped (closed): POST, answered 500 Internal Server Error in"))
		Expect(msg).To(ContainSubstring("    not answered with 204: it was answered 500 Internal Server Error"))
		Expect(msg).To(ContainSubstring(`"eventType":"mediaStreamStopped"`))

		msg = failureOf(HaveWebhook("mediaStreamStopped", WithTransform(func(d *emulator.Delivery) int { return d.Status() }, Equal(204))), e.Deliveries())
		Expect(msg).To(ContainSubstring("to have a mediaStreamStopped webhook satisfying the given matcher, but the only mediaStreamStopped webhook did not satisfy them"))
		Expect(msg).To(MatchRegexp(`Expected\s+500\s+to equal\s+204`))
		Expect(msg).NotTo(MatchRegexp(`<\*?[\w.]+|\*matchers\.`), "no Go type names")

		msg = failureOf(HaveWebhook("mediaStreamStopped", HaveField("Method", "GET")), e.Deliveries())
		Expect(msg).To(MatchRegexp(`Value for field 'Method' failed to satisfy matcher.\s+Expected\s+POST\s+to equal\s+GET`))
		msg = failureOf(HaveWebhook("mediaStreamStopped", BeNil()), e.Deliveries())
		Expect(msg).To(MatchRegexp(`Expected\s+the mediaStreamStopped \(closed\): POST, answered 500 Internal Server Error in \S+\s+to be nil`), "the delivery in one line, not as a Go value")
		Expect(msg).NotTo(MatchRegexp(`<\*?[\w.]+|0xc0`), "no Go type names")
	}, timeout)

	It("BeAnswered2xx passes a 200 that BeAnsweredWith(204) fails", func(ctx SpecContext) {
		s := withEvents(ctx, apptest.NewHooks(apptest.Reply{Status: http.StatusOK}).EventsURL())
		Expect(s).To(BeAnswered2xx())
		Expect(failureOf(BeAnsweredWith(204), s)).To(ContainSubstring("2 of 2 were not: the mediaStreamStarted webhook was answered 200 OK in"))
		Expect(negatedFailureOf(BeAnswered2xx(), s.Result().Deliveries)).To(HavePrefix("Expected every one of the 2 webhook deliveries not to be answered 2xx, but all 2 were"))
	}, timeout)

	It("fail a delivery that got no answer with its error", func(ctx SpecContext) {
		events := apptest.NewHooks(apptest.Reply{Hang: true})
		call := specs.Call(e, &emulator.CallSpec{CallbackTimeout: 200 * time.Millisecond})
		s, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		stopped(ctx, s)
		hook := s.Result().Deliveries[1]
		Expect(hook.Delivered()).To(BeFalse())
		for _, m := range []types.GomegaMatcher{BeAnsweredWith(204), BeAnswered2xx(), BeAnsweredWithin(time.Hour)} {
			msg := failureOf(m, hook)
			Expect(msg).To(MatchRegexp(`but it was no answer after \S+: no answer within the callback timeout of 200ms`))
			Expect(msg).To(ContainSubstring(`"eventType":"mediaStreamStopped"`))
		}
		Expect(failureOf(HaveWebhook("mediaStreamStarted", BeAnswered2xx()), s)).To(ContainSubstring("no answer within the callback timeout of 200ms"))
	}, timeout)

	It("BeAnsweredWithin fails an answer later than the limit", func(ctx SpecContext) {
		s := withEvents(ctx, app.EventsURL())
		msg := failureOf(BeAnsweredWithin(time.Nanosecond), s.Result().Deliveries)
		Expect(msg).To(MatchRegexp(`^Expected every one of the 2 webhook deliveries to be answered within 1ns, but 2 of 2 were not: the mediaStreamStarted webhook was answered 204 No Content in \S+`))
	}, timeout)

	It("HaveWebhook fails when no delivery has the event, listing those there were", func(ctx SpecContext) {
		s := withEvents(ctx, app.EventsURL())
		msg := failureOf(HaveWebhook("mediaStreamRejected"), s)
		Expect(msg).To(ContainSubstring("to have a mediaStreamRejected webhook, but there was no mediaStreamRejected webhook among 2 deliveries (mediaStreamStarted, mediaStreamStopped (closed))"))
		msg = failureOf(HaveWebhook("disconnect"), s)
		Expect(msg).To(ContainSubstring("disconnect is a call webhook"))
		Expect(negatedFailureOf(HaveWebhook("mediaStreamStarted"), s)).To(ContainSubstring("not to have a mediaStreamStarted webhook, but there was one: mediaStreamStarted: POST, answered 204"))
	}, timeout)

	It("HaveCause checks the cause a webhook carried, in plain words", func(ctx SpecContext) {
		s := withEvents(ctx, app.EventsURL())
		Expect(s).To(HaveWebhook("mediaStreamStopped", HaveCause("closed")))
		msg := failureOf(HaveWebhook("mediaStreamStopped", HaveCause("connection-error")), s)
		Expect(msg).To(ContainSubstring("to have a mediaStreamStopped webhook with cause connection-error, but the only mediaStreamStopped webhook did not satisfy them"))
		Expect(msg).To(ContainSubstring("not with cause connection-error: it carried cause closed"))
		Expect(failureOf(HaveCause("closed"), s)).To(ContainSubstring("1 of 2 was not: the mediaStreamStarted webhook carried cause (none)"))
		_, err := HaveWebhook("disconnect", HaveCause("hangup")).Match(s)
		Expect(err).To(MatchError(HavePrefix("no disconnect webhook was delivered, so none was with cause hangup")))
		Expect(err).To(MatchError(ContainSubstring("disconnect is a call webhook")))
	}, timeout)

	It("HaveWebhook finds the disconnect among the emulator's deliveries", func(ctx SpecContext) {
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: app.EventsURL()})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())
		Expect(e.Deliveries()).To(HaveWebhook("disconnect", BeAnsweredWith(204)))
		Expect(s).To(HaveEnded(emulator.EndHangup))
		Expect(s).To(HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)))
	}, timeout)

	It("fail over no deliveries at all, To and NotTo alike, saying nothing was delivered", func(ctx SpecContext) {
		s := stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL()}))
		for _, actual := range []any{s, s.Result(), []*emulator.Delivery{}, e.Deliveries()} {
			for _, m := range []types.GomegaMatcher{BeAnsweredWith(204), BeAnswered2xx(), BeAnsweredWithin(time.Second),
				HaveWebhook("mediaStreamStopped", BeAnsweredWith(500)), HaveWebhook("", BeAnswered2xx())} {
				Expect(InterceptGomegaFailure(func() { Expect(actual).To(m) })).To(MatchError(ContainSubstring("was delivered, so none was ")))
				Expect(InterceptGomegaFailure(func() { Expect(actual).NotTo(m) })).To(MatchError(ContainSubstring("was delivered, so none was ")))
			}
		}
		_, err := BeAnsweredWith(204).Match(s)
		Expect(err).To(MatchError(HavePrefix(`no webhook was delivered, so none was answered with 204: stream "agent" (` + s.ID + `) sent no webhook (it had no streamEventUrl?)`)))
		_, err = BeAnswered2xx().Match([]*emulator.Delivery{})
		Expect(err).To(MatchError(ContainSubstring("the list of deliveries is empty")))
		Expect(err).To(MatchError(ContainSubstring("webhooks:\n  (none)")))
		_, err = HaveWebhook("mediaStreamStopped", BeAnsweredWith(500)).Match(s)
		Expect(err).To(MatchError(HavePrefix(`no mediaStreamStopped webhook was delivered, so none was answered with 500: stream "agent" (` + s.ID + `) had no deliveries`)))
		// Without matchers, HaveWebhook states a fact either way.
		Expect(s).NotTo(HaveWebhook("mediaStreamStopped"))
		Expect(failureOf(HaveWebhook(""), s)).To(ContainSubstring("to have a webhook, but there was no webhook among no deliveries"))
	}, timeout)
})

var _ = Describe("AcceptNewStream", func() {
	var e *emulator.Emulator
	BeforeEach(func() { e = newEmulator(nil) })

	It("passes for the reference consumer and its webhooks", func(ctx SpecContext) {
		app := apptest.NewConsumer(nil)
		Expect(e).To(AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL()}))
		Expect(e).To(AcceptNewStream(ctx, emulator.StreamSpec{Name: "again", Destination: app.WebSocketURL()}))
		m := AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL()})
		Expect(negatedFailureOf(m, e)).To(HavePrefix("Expected the emulator not to accept a new stream to " + app.WebSocketURL() +
			", but it did: the stream connected, streamed 200ms, completed the close handshake and its 2 webhooks were answered 2xx"))
		last := e.Calls()[len(e.Calls())-1]
		Expect(last.Ended()).To(BeTrue(), "the call is hung up")
		Expect(last.Streams()[0]).To(HaveEnded(emulator.EndStopStream))
		Expect(last.Streams()[0].Result().MediaDuration).To(Equal(AcceptMedia))
	}, timeout)

	It("fails at the connect step when nothing listens", func(ctx SpecContext) {
		dest := apptest.RefusedURL()
		msg := failureOf(AcceptNewStream(ctx, emulator.StreamSpec{Destination: dest}), e)
		Expect(msg).To(HavePrefix(`Expected the emulator to accept a new stream to ` + dest + `, but step "connect" failed: stream `))
		Expect(msg).To(ContainSubstring("did not connect: could not connect to the websocket destination: connection refused"))
		Expect(msg).To(ContainSubstring("ending:        connect-refused (by app, an app fault)"))
		Expect(msg).To(MatchRegexp(`handshake  app       GET ws://\S+ failed`))
	}, timeout)

	It("fails when the app closes with 4001 at once", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "bye"))
		msg := failureOf(AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.URL()}), e)
		// In Fast pace the 200 ms of media may all be written before the
		// app's close frame is read: then it ends the stream before the
		// stop, or crosses it.
		Expect(msg).To(Or(
			And(ContainSubstring(`but step "stream media (200ms)" failed: stream `),
				ContainSubstring("ended (app-close-code): the websocket was closed by the destination with code 4001 (bye)")),
			ContainSubstring(`but step "stop the stream" failed: the stream ended with app-close-code instead of stop-stream`),
			ContainSubstring(`but step "complete the close handshake" failed: the app answered with code 4001 (bye), not a normal close (1000)`)))
		Expect(msg).To(ContainSubstring("close frame received: code 4001 (bye)"))
	}, timeout)

	It("fails at the close handshake when the app ignores the close frame", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.IgnoreClose())
		msg := failureOf(AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.URL()}), e)
		Expect(msg).To(ContainSubstring(`but step "complete the close handshake" failed: the emulator closed with code 1000 and the app never answered it (close-handshake-timeout)`))
	}, timeout)

	It("fails at the webhooks when the app answers 500", func(ctx SpecContext) {
		app := apptest.NewConsumer(nil)
		events := failing500()
		msg := failureOf(AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: events.EventsURL()}), e)
		Expect(msg).To(ContainSubstring(`but step "answer the webhooks 2xx" failed: the mediaStreamStarted webhook was answered 500 Internal Server Error in`))
		Expect(msg).To(ContainSubstring(`answer body: "boom: the app failed"`))
		Expect(msg).To(ContainSubstring(`json: {"accountId"`))
	}, timeout)

	It("fails when the emulator is closed", func(ctx SpecContext) {
		Expect(e.Close()).To(Succeed())
		msg := failureOf(AcceptNewStream(ctx, emulator.StreamSpec{Destination: "ws://127.0.0.1:1/media"}), e)
		Expect(msg).To(ContainSubstring(`step "start a call" failed: emulator: closed`))
	}, timeout)
})

var _ = Describe("JournalExcerpt", func() {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []emulator.Entry{
		{Time: t0, Kind: emulator.KindCall, By: emulator.ByEmulator, CallID: "c-1", Message: "call answered"},
		{Time: t0.Add(time.Millisecond), Kind: emulator.KindHandshake, By: emulator.ByApp, StreamID: "s-1", Message: "GET ws://app/media → 101 Switching Protocols"},
		{Time: t0.Add(2 * time.Millisecond), Kind: emulator.KindHandshake, By: emulator.ByApp, StreamID: "s-2", Message: "another stream"},
		{Time: t0.Add(1500 * time.Microsecond), Kind: emulator.KindFrameOut, By: emulator.ByEmulator, StreamID: "s-1", Message: "start"},
		{Time: t0.Add(1234567 * time.Microsecond), Kind: emulator.KindClose, By: emulator.ByApp, StreamID: "s-1", Message: "close frame received: code 4001 (bye)"},
		{Time: t0.Add(1240 * time.Millisecond), Kind: emulator.KindEnding, StreamID: "s-1", Message: "stream ended"},
	}

	It("renders one line per entry of the stream, times from its first entry", func() {
		Expect(JournalExcerpt(entries, "s-1", 0)).To(Equal(
			"   +0.000ms  handshake  app       GET ws://app/media → 101 Switching Protocols\n" +
				"   +0.500ms  frame.out  emulator  start\n" +
				"+1233.567ms  close      app       close frame received: code 4001 (bye)\n" +
				"+1239.000ms  ending     (none)    stream ended"))
	})

	It("keeps the last n and says how many came before", func() {
		Expect(JournalExcerpt(entries, "s-1", 2)).To(Equal(
			"(2 earlier entries before these)\n" +
				"+1233.567ms  close      app       close frame received: code 4001 (bye)\n" +
				"+1239.000ms  ending     (none)    stream ended"))
		Expect(JournalExcerpt(entries, "s-2", 10)).To(Equal("   +0.000ms  handshake  app       another stream"))
	})

	It("says when the stream has no entries", func() {
		Expect(JournalExcerpt(entries, "s-9", 10)).To(Equal("(no journal entries for stream s-9)"))
		Expect(JournalExcerpt(nil, "s-9", 10)).To(Equal("(no journal entries for stream s-9)"))
	})
})

var _ = Describe("HaveNoAppFault", func() {
	var e *emulator.Emulator
	BeforeEach(func() { e = newEmulator(nil) })

	It("passes a stream the emulator stopped, on the stream and on its result", func(ctx SpecContext) {
		app := apptest.NewConsumer(nil)
		s := stopped(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL()}))
		Expect(s).To(HaveNoAppFault())
		Expect(s.Result()).To(HaveNoAppFault())
	}, timeout)

	It("fails an app that closes with 4001, in plain words and with the advice", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "bye"))
		s := ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: app.URL()}))
		msg := failureOf(HaveNoAppFault(), s)
		Expect(msg).To(HavePrefix(`Expected stream "agent" (` + s.ID + `) to have ended with no fault of the app, but it ended with app-close-code, a fault of the app: cause connection-error, errorMessage "the websocket was closed by the destination with code 4001 (bye)"`))
		Expect(msg).To(ContainSubstring("caused by:  the app"))
		Expect(msg).To(ContainSubstring("close:      the app closed with code 4001 (bye) and the emulator answered 4001: close handshake complete"))
		Expect(msg).To(ContainSubstring("if this ending is what the test expects, expect it by name (expect.ending: app-close-code in a scenario, suite.HaveEnded(emulator.EndAppCloseCode) in Go)"))
		Expect(msg).NotTo(MatchRegexp(`\*\w+\.\w+|<\w+`), "no Go type names")
		Expect(s).NotTo(HaveNoAppFault())
		Expect(failureOf(HaveNoAppFault(), s.Result())).To(HavePrefix("Expected the stream result to have ended with no fault of the app, but it ended with app-close-code"))
	}, timeout)

	It("fails an app that is down", func(ctx SpecContext) {
		s := ended(ctx, startStream(ctx, e, emulator.StreamSpec{Destination: apptest.RefusedURL()}))
		msg := failureOf(HaveNoAppFault(), s)
		Expect(msg).To(ContainSubstring("but it ended with connect-refused, a fault of the app: cause connection-error, errorMessage \"could not connect to the websocket destination: connection refused"))
		Expect(msg).To(ContainSubstring("close:      the stream never connected: nothing was closed"))
		Expect(msg).To(ContainSubstring("suite.HaveEnded(emulator.EndConnectRefused)"))
	}, timeout)
})

var _ = Describe("an interrupted run", func() {
	It("does not blame the app for webhooks cut off by Shutdown", func(ctx SpecContext) {
		app := apptest.NewConsumer(nil)
		// mediaStreamStarted is answered, then the app hangs.
		events := apptest.NewHooks(apptest.Reply{}, apptest.Reply{Hang: true})
		e := apptest.NewEmulator(&emulator.Options{Timeouts: emulator.Timeouts{Callback: time.Minute}})
		s := startStream(ctx, e, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: events.EventsURL()})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Eventually(func() int { return len(e.Deliveries()) }).WithTimeout(5 * time.Second).Should(Equal(1))
		Eventually(func() bool { return e.Deliveries()[0].Delivered() }).WithTimeout(5 * time.Second).Should(BeTrue())

		budget, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		Expect(e.Shutdown(budget)).To(MatchError(context.DeadlineExceeded))
		Expect(s).To(HaveNoAppFault())
		Expect(s).To(HaveWebhook("mediaStreamStarted", BeAnsweredWith(204)))
		var hook *emulator.Delivery
		for _, d := range s.Result().Deliveries {
			if d.Event.EventType == "mediaStreamStopped" {
				hook = d
			}
		}
		Expect(hook).NotTo(BeNil())
		Expect(hook.Interrupted()).To(BeTrue())

		for _, actual := range []any{hook, s, s.Result(), e.Deliveries()} {
			for _, m := range []types.GomegaMatcher{BeAnsweredWith(204), BeAnswered2xx(), BeAnsweredWithin(time.Minute)} {
				ok, err := m.Match(actual)
				Expect(ok).To(BeFalse())
				Expect(err).To(MatchError(HavePrefix("interrupted: the mediaStreamStopped (closed) webhook was cut off by an interrupt before the app answered, so it cannot be judged ")))
				Expect(err).To(MatchError(ContainSubstring("(not a fault of the app)")))
				Expect(InterceptGomegaFailure(func() { Expect(actual).NotTo(m) })).To(HaveOccurred())
			}
		}
		_, err := BeAnsweredWith(204).Match(s)
		Expect(err).To(MatchError(ContainSubstring("; the other 1 was answered with 204")))
		_, err = HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)).Match(s)
		Expect(err).To(MatchError(ContainSubstring("cut off by an interrupt")))
		// A real failure beside an interrupted delivery is still the app's.
		msg := failureOf(BeAnsweredWith(200), s)
		Expect(msg).To(ContainSubstring("1 of 1 was not: the mediaStreamStarted webhook was answered 204 No Content"))
		Expect(msg).To(ContainSubstring("(not judged: the mediaStreamStopped (closed) webhook, cut off by an interrupt before the app answered)"))
	}, timeout)

	It("AcceptNewStream says interrupted, not that a step failed, when its context ends", func(ctx SpecContext) {
		e := newEmulator(nil)
		app := apptest.NewConsumer(nil)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		m := AcceptNewStream(cancelled, emulator.StreamSpec{Destination: app.WebSocketURL()})
		ok, err := m.Match(e)
		Expect(ok).To(BeFalse())
		Expect(err).To(MatchError(MatchRegexp(`^interrupted: whether the app accepts a new stream to ws://\S+ was not found out: step "[^"]+" was cut off \(context canceled\) \(not a fault of the app\)`)))
		Expect(InterceptGomegaFailure(func() { Expect(e).NotTo(m) })).To(MatchError(HavePrefix("interrupted:")))
	}, timeout)
})

var _ = Describe("a correct app that closes first, answers only POST and keeps its endpoints apart", func() {
	It("passes every matcher", func(ctx SpecContext) {
		app := apptest.NewConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
		e := newEmulator(nil)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: app.DisconnectURL()})
		spec := emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL(), Pace: emulator.Fast}
		spec.Name = "stopped"
		s, err := call.StartStream(ctx, spec)
		Expect(err).NotTo(HaveOccurred())
		stopped(ctx, s)
		spec.Name = "hungup"
		h := specs.Stream(ctx, call, spec)
		Expect(h.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())

		Expect(s).To(HaveNoAppFault())
		Expect(s).To(HaveEnded(emulator.EndStopStream))
		Expect(h).To(HaveEnded(emulator.EndHangup))
		for _, x := range []*emulator.Stream{s, h} {
			Expect(x).To(HaveNoAppFault())
			Expect(x).To(HaveStopped("closed"))
			Expect(x).To(HaveCompletedCloseHandshake())
			Expect(x).To(HaveClosed("", 1000))
			Expect(x).To(HaveNoViolations())
			Expect(x).To(HaveWebhook("mediaStreamStarted", BeAnsweredWith(204)))
			Expect(x).To(HaveWebhook("mediaStreamStopped", HaveCause("closed"), BeAnsweredWith(204)))
			Expect(x).To(BeAnsweredWith(204))
		}
		Expect(e.Deliveries()).To(HaveWebhook("disconnect", HaveCause("hangup"), BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(BeAnsweredWith(204))
		Expect(e.Deliveries()).To(BeAnsweredWithin(5 * time.Second))
		Expect(e).To(AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL()}))
	}, timeout)
})
