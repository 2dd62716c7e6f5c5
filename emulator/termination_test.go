package emulator_test

import (
	"errors"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// Every row of the termination table, caused for real against loopback
// servers, with the wire and the webhook checked together.
var _ = Describe("the termination table", func() {
	var events *apptest.Hooks
	short := emulator.Timeouts{Handshake: 300 * time.Millisecond, Write: 300 * time.Millisecond,
		CloseHandshake: 300 * time.Millisecond, DeadPeer: 200 * time.Millisecond}

	BeforeEach(func() { events = apptest.NewHooks() })

	// run starts one stream to dest, lets act end it and returns its result
	// and the mediaStreamStopped (or Rejected) webhook.
	run := func(ctx SpecContext, o *emulator.Options, dest string, act func(*emulator.Stream) *emulator.StreamResult) (*emulator.StreamResult, *protocol.Event) {
		if o == nil {
			o = &emulator.Options{}
		}
		o.Timeouts = short
		e := apptest.NewEmulator(o)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL()})
		s, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: dest, StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		res := act(s)
		Expect(res).NotTo(BeNil())
		last := events.Requests()[len(events.Requests())-1].Event
		Expect(last.EventType).To(Equal(res.Event))
		Expect(last.Cause).To(Equal(res.Cause))
		Expect(last.ErrorMessage).To(Equal(res.ErrorMessage))
		Expect(last.MediaStream.ID).To(Equal(s.ID))
		return res, last
	}
	wait := func(ctx SpecContext) func(*emulator.Stream) *emulator.StreamResult {
		return func(s *emulator.Stream) *emulator.StreamResult {
			res, err := s.Wait(ctx)
			Expect(err).NotTo(HaveOccurred())
			return res
		}
	}
	// mediaThen streams until the app acts, then waits for the ending.
	mediaThen := func(ctx SpecContext) func(*emulator.Stream) *emulator.StreamResult {
		return func(s *emulator.Stream) *emulator.StreamResult {
			Expect(s.Media(ctx, time.Hour)).To(MatchError(ContainSubstring("ended")))
			return wait(ctx)(s)
		}
	}
	// stop streams 40 ms, then stops the stream.
	stop := func(ctx SpecContext) func(*emulator.Stream) *emulator.StreamResult {
		return func(s *emulator.Stream) *emulator.StreamResult {
			Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
			res, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			return res
		}
	}
	inject := func(ctx SpecContext, f emulator.Fault) func(*emulator.Stream) *emulator.StreamResult {
		return func(s *emulator.Stream) *emulator.StreamResult {
			Expect(s.Media(ctx, 100*time.Millisecond)).To(Succeed())
			res, err := s.Inject(ctx, f)
			Expect(err).NotTo(HaveOccurred())
			return res
		}
	}

	It("has a row for every ending", func() {
		for _, e := range []emulator.Ending{emulator.EndStopStream, emulator.EndHangup, emulator.EndConnectRefused,
			emulator.EndHandshakeTimeout, emulator.EndHandshakeStatus, emulator.EndConnectFailed, emulator.EndAppAbnormalClose,
			emulator.EndAppClose, emulator.EndAppCloseCode, emulator.EndCloseHandshakeTimeout, emulator.EndWriteTimeout,
			emulator.EndReset, emulator.EndDrop, emulator.EndInternalError, emulator.EndDuplicate, emulator.EndTrackLimit} {
			t, ok := emulator.TerminationOf(e)
			Expect(ok).To(BeTrue())
			Expect(t.Ending).To(Equal(e))
		}
		Expect(emulator.Terminations()).To(HaveLen(16))
		_, ok := emulator.TerminationOf("sideways")
		Expect(ok).To(BeFalse())
	})

	It("hands out a copy of the table", func() {
		t := emulator.Terminations()
		t[0].AppFault = true
		Expect(emulator.Terminations()[0].AppFault).To(BeFalse())
	})

	It("names the injectable faults in one column, and parses them", func() {
		Expect(emulator.Faults()).To(Equal([]emulator.Fault{emulator.FaultReset, emulator.FaultDrop, emulator.FaultError}))
		for _, name := range []string{"reset", "drop", "error"} {
			f, err := emulator.ParseFault(name)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(f)).To(Equal(name))
		}
		_, err := emulator.ParseFault("hangup")
		Expect(err).To(MatchError(`"hangup" is not a fault the emulator can inject (want one of reset, drop, error)`))
	})

	It("StopStream: stop, close 1000 answered, Stopped closed without errorMessage", func(ctx SpecContext) {
		app := apptest.NewWS()
		res, ev := run(ctx, nil, app.URL(), func(s *emulator.Stream) *emulator.StreamResult {
			Expect(s.Media(ctx, 60*time.Millisecond)).To(Succeed())
			r, err := s.Call.StopStream(ctx, "agent")
			Expect(err).NotTo(HaveOccurred())
			return r
		})
		Expect(res.Ending).To(Equal(emulator.EndStopStream))
		Expect(ev.EventType).To(Equal("mediaStreamStopped"))
		Expect(ev.Cause).To(Equal("closed"))
		Expect(ev.ErrorMessage).To(BeEmpty())
		Expect(app.Streams()[0].Stop).NotTo(BeNil())
		Eventually(func() int { return app.First().CloseCode }).WithTimeout(time.Second).Should(Equal(1000))
		Expect(res.CloseHandshake).To(BeTrue())
		Expect(res.AppFault).To(BeFalse())
	})

	It("hangup: stop, close 1000, Stopped closed, then disconnect hangup", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL(), Tag: "my-tag"})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped", "disconnect"}))
		disc := events.Requests()[2].Event
		Expect(disc.Cause).To(Equal("hangup"))
		Expect(disc.EndTime).NotTo(BeNil())
		Expect(disc.Tag).To(Equal("my-tag"))
		Expect(disc.MediaStream).To(BeNil())
		Expect(events.Requests()[1].Event.Cause).To(Equal("closed"))
		Expect(app.Streams()[0].Stop).NotTo(BeNil())
		Expect(s.Result().Ending).To(Equal(emulator.EndHangup))
		Expect(s.Name).To(Equal(s.ID), "an unnamed stream takes its id as name")
		Expect(call.Hangup(ctx)).To(MatchError(emulator.ErrCallEnded))
	})

	It("connection refused: no socket, Stopped connection-error", func(ctx SpecContext) {
		res, ev := run(ctx, nil, apptest.RefusedURL(), wait(ctx))
		Expect(res.Ending).To(Equal(emulator.EndConnectRefused))
		Expect(res.Connected).To(BeFalse())
		Expect(ev.EventType).To(Equal("mediaStreamStopped"))
		Expect(ev.Cause).To(Equal("connection-error"))
		Expect(ev.ErrorMessage).To(ContainSubstring("connection refused"))
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStopped"}), "no Started for a stream that never connected")
		Expect(res.AppFault).To(BeTrue())
	})

	It("connection refused reported as Rejected when asked", func(ctx SpecContext) {
		_, ev := run(ctx, &emulator.Options{RejectOnConnectError: true}, apptest.RefusedURL(), wait(ctx))
		Expect(ev.EventType).To(Equal("mediaStreamRejected"))
		Expect(ev.Cause).To(Equal("connection-error"))
		Expect(ev.MediaStream.Duration).To(BeNil())
	})

	It("handshake timeout: TCP accepted, upgrade never answered", func(ctx SpecContext) {
		res, ev := run(ctx, nil, apptest.NewSilent().URL(), wait(ctx))
		Expect(res.Ending).To(Equal(emulator.EndHandshakeTimeout))
		Expect(ev.Cause).To(Equal("connection-error"))
		Expect(ev.ErrorMessage).To(Equal("connecting to the websocket timed out: no handshake answer within 300ms"))
	})

	It("handshake answered with a non-101 status", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Refuse(403))
		res, ev := run(ctx, nil, app.URL(), wait(ctx))
		Expect(res.Ending).To(Equal(emulator.EndHandshakeStatus))
		Expect(res.HandshakeStatus).To(Equal(403))
		Expect(ev.ErrorMessage).To(ContainSubstring("HTTP 403 Forbidden instead of 101"))
	})

	DescribeTable("the app breaks the connection while media flows: Stopped connection-error",
		func(ctx SpecContext, b apptest.Behaviour, ending emulator.Ending, message OmegaMatcher, more func(*emulator.StreamResult)) {
			app := apptest.NewWS(b)
			res, ev := run(ctx, nil, app.URL(), mediaThen(ctx))
			Expect(res.Ending).To(Equal(ending))
			Expect(ev.Cause).To(Equal("connection-error"))
			Expect(ev.ErrorMessage).To(message)
			more(res)
		},
		Entry("the app closes without a close frame", apptest.After(3, apptest.HangUp()), emulator.EndAppAbnormalClose,
			And(HavePrefix("the websocket closed abnormally: "), ContainSubstring("without a close frame")),
			func(res *emulator.StreamResult) {
				Expect(res.ClosedBy).To(Equal(emulator.ByApp))
				Expect(res.CloseHandshake).To(BeFalse())
			}),
		Entry("the app resets the connection", apptest.After(3, apptest.Reset()), emulator.EndAppAbnormalClose,
			SatisfyAny(ContainSubstring("reset"), ContainSubstring("without a close frame")),
			func(*emulator.StreamResult) {}),
		Entry("the app stops reading: the write timeout ends the stream", apptest.After(1, apptest.StopReading()), emulator.EndWriteTimeout,
			Equal("the destination stopped reading: a write blocked for more than 300ms"),
			func(res *emulator.StreamResult) {
				Expect(res.Messages).To(BeNumerically(">", 1))
			}, SpecTimeout(30*time.Second)),
	)

	DescribeTable("the app closes cleanly with a code",
		func(ctx SpecContext, code int, asError bool, ending emulator.Ending, cause, message string) {
			app := apptest.NewWS(apptest.After(2, apptest.Close(code, "bye")))
			res, ev := run(ctx, &emulator.Options{AppCloseAsError: asError}, app.URL(), mediaThen(ctx))
			Expect(res.Ending).To(Equal(ending))
			Expect(res.CloseReceived).To(Equal(code))
			Expect(res.CloseSent).To(Equal(code), "the emulator answers the close frame")
			Expect(res.CloseHandshake).To(BeTrue())
			Expect(res.ClosedBy).To(Equal(emulator.ByApp))
			Expect(ev.Cause).To(Equal(cause))
			Expect(ev.ErrorMessage).To(Equal(message))
			Eventually(func() int { return app.First().CloseCode }).WithTimeout(time.Second).Should(Equal(code))
		},
		Entry("1000 is closed", 1000, false, emulator.EndAppClose, "closed", ""),
		Entry("1001 is closed", 1001, false, emulator.EndAppClose, "closed", ""),
		Entry("4001 is a connection-error", 4001, false, emulator.EndAppCloseCode, "connection-error",
			"the websocket was closed by the destination with code 4001 (bye)"),
		Entry("1011 is a connection-error", 1011, false, emulator.EndAppCloseCode, "connection-error",
			"the websocket was closed by the destination with code 1011 (bye)"),
		Entry("1000 is a connection-error when switched", 1000, true, emulator.EndAppClose, "connection-error",
			"the websocket was closed by the destination with code 1000 (bye)"),
	)

	It("the app never answers the emulator's close frame", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.IgnoreClose())
		res, ev := run(ctx, nil, app.URL(), stop(ctx))
		Expect(res.Ending).To(Equal(emulator.EndCloseHandshakeTimeout))
		Expect(res.CloseSent).To(Equal(1000))
		Expect(res.CloseReceived).To(BeZero())
		Expect(res.CloseHandshake).To(BeFalse())
		Expect(res.CloseProblem).To(Equal("no close frame from the app within 300ms"))
		Expect(res.AppFault).To(BeTrue())
		Expect(ev.Cause).To(Equal("closed"), "the stop was intended; the failed handshake is the app's fault, not the cause")
		Expect(app.Streams()[0].Stop).NotTo(BeNil())
	})

	It("the app closes with an error code as it is stopped: its own ending, not an answer", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.Close(4000, "not done")))
		res, ev := run(ctx, nil, app.URL(), stop(ctx))
		Expect(res.Ending).To(Equal(emulator.EndAppCloseCode))
		// Which close frame goes first is up to the scheduler; when the
		// app's does, gorilla/websocket's answer echoes its code.
		Expect(res.CloseSent).To(BeElementOf(1000, 4000))
		Expect(res.CloseReceived).To(Equal(4000))
		Expect(ev.Cause).To(Equal("connection-error"))
		Expect(ev.ErrorMessage).To(ContainSubstring("code 4000 (not done)"))
	})

	It("the app drops the connection instead of answering the close frame", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.HangUp()))
		res, _ := run(ctx, nil, app.URL(), stop(ctx))
		Expect(res.Ending).To(Equal(emulator.EndCloseHandshakeTimeout))
		Expect(res.CloseHandshake).To(BeFalse())
		Expect(res.CloseProblem).To(ContainSubstring("without a close frame"))
	})

	It("an emulator-side reset: the app sees a TCP RST", func(ctx SpecContext) {
		app := apptest.NewWS()
		res, ev := run(ctx, nil, app.URL(), inject(ctx, emulator.FaultReset))
		Expect(res.Ending).To(Equal(emulator.EndReset))
		Expect(res.ClosedBy).To(Equal(emulator.ByNetwork))
		Expect(ev.Cause).To(Equal("connection-error"))
		Expect(ev.ErrorMessage).To(ContainSubstring("reset"))
		Eventually(func() error { return app.First().CloseError }).WithTimeout(time.Second).Should(
			Satisfy(func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }))
	})

	It("an emulator-side silent drop: nothing more on the wire, Stopped after the dead-peer timeout", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		call := specs.Call(e, nil)
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 100*time.Millisecond)).To(Succeed())
		res, err := s.Inject(ctx, emulator.FaultDrop)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Ending).To(Equal(emulator.EndDrop))
		Expect(res.Cause).To(Equal("connection-error"))
		Expect(res.ErrorMessage).To(Equal("the connection to the websocket went silent: no traffic for 200ms"))
		// Nothing answers a drop, so the app may still be reading.
		Eventually(func() []protocol.MediaMessage { return app.First().Media }).WithTimeout(time.Second).Should(HaveLen(5))
		Expect(app.First().Stop).To(BeNil())
		Consistently(func() error { return app.First().CloseError }).WithTimeout(100*time.Millisecond).Should(BeNil(), "half-open: the app is told nothing")
		// The call ending releases the held connection, without a close frame.
		Expect(call.Hangup(ctx)).To(Succeed())
		Eventually(func() error { return app.First().CloseError }).WithTimeout(time.Second).ShouldNot(BeNil())
		Expect(app.Streams()[0].CloseCode).To(Equal(websocket.CloseAbnormalClosure))
	})

	It("an injected internal error: close 1011, Stopped error", func(ctx SpecContext) {
		app := apptest.NewWS()
		res, ev := run(ctx, nil, app.URL(), inject(ctx, emulator.FaultError))
		Expect(res.Ending).To(Equal(emulator.EndInternalError))
		Expect(res.CloseSent).To(Equal(1011))
		Expect(ev.Cause).To(Equal("error"))
		Expect(ev.ErrorMessage).To(HavePrefix("internal error: "))
		Eventually(func() int { return app.First().CloseCode }).WithTimeout(time.Second).Should(Equal(1011))
		Expect(app.Streams()[0].Stop).To(BeNil(), "no stop message before an internal error")
	})

	It("a duplicate name: Rejected duplicate with originalMediaStream", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		call := specs.Call(e, nil)
		first, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(first.Connected(ctx)).To(Succeed())
		_, err = call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.URL(), StreamEventURL: events.EventsURL()})
		var rej *emulator.RejectedError
		Expect(errors.As(err, &rej)).To(BeTrue())
		Expect(rej.Result.Cause).To(Equal("duplicate"))
		Eventually(events.EventTypes).WithTimeout(time.Second).Should(ContainElement("mediaStreamRejected"))
		var ev *protocol.Event
		for _, h := range events.Requests() {
			if h.Event.EventType == "mediaStreamRejected" {
				ev = h.Event
			}
		}
		Expect(ev.Cause).To(Equal("duplicate"))
		Expect(ev.ErrorMessage).To(Equal("a stream named agent is already active on this call"))
		Expect(ev.OriginalStream).NotTo(BeNil())
		Expect(ev.OriginalStream.ID).To(Equal(first.ID))
		Expect(ev.MediaStream.ID).NotTo(Equal(first.ID))
		Expect(app.Streams()).To(HaveLen(1), "a rejected stream never connects")
		// Once the first has stopped, the name is free again.
		_, err = first.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		again, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Connected(ctx)).To(Succeed())
	})

	It("a fifth track: Rejected track-limit", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		call := specs.Call(e, nil)
		for _, name := range []string{"a", "b"} {
			_, err := call.StartStream(ctx, emulator.StreamSpec{Name: name, Tracks: "both", Destination: app.URL(), Pace: emulator.Fast})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err := call.StartStream(ctx, emulator.StreamSpec{Name: "c", Destination: app.URL(), StreamEventURL: events.EventsURL()})
		var rej *emulator.RejectedError
		Expect(errors.As(err, &rej)).To(BeTrue())
		Expect(rej.Result.Event).To(Equal("mediaStreamRejected"))
		Expect(rej.Result.Cause).To(Equal("track-limit"))
		Expect(rej.Result.ErrorMessage).To(Equal("the call would stream 5 tracks: at most 4 are allowed"))
		Expect(rej.Result.Deliveries).To(HaveLen(1))
		Expect(rej.Result.Deliveries[0].Status()).To(Equal(204))
	})
})
