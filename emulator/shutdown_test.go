package emulator_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// cutShort shuts e down with a budget too short for what is still going
// on, and checks that Shutdown says so and returns within limit.
func cutShort(ctx context.Context, e *emulator.Emulator, budget, limit time.Duration, why string) {
	GinkgoHelper()
	short, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	began := time.Now()
	Expect(e.Shutdown(short)).To(MatchError(context.DeadlineExceeded), why)
	Expect(time.Since(began)).To(BeNumerically("<", limit), why)
}

// streaming starts an emulator with the default timeouts, and on it a call
// whose webhooks go to events and a stream to a correct app, 40 ms in.
func streaming(ctx context.Context, events *apptest.Hooks) (*emulator.Emulator, *emulator.Stream) {
	GinkgoHelper()
	app := apptest.NewWS()
	e := apptest.NewEmulator(nil)
	call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL()})
	s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
	Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
	return e, s
}

var _ = Describe("Shutdown, for an interrupted run", func() {
	It("ends live calls with their webhooks when the app answers at once", func(ctx SpecContext) {
		events := apptest.NewHooks()
		e, s := streaming(ctx, events)

		Expect(e.Shutdown(ctx)).To(Succeed())
		res := s.Result()
		Expect(res).NotTo(BeNil())
		Expect(res.Ending).To(Equal(emulator.EndHangup))
		Expect(res.Failed()).To(BeFalse())
		Expect(events.EventTypes()).To(Equal([]string{protocol.EventMediaStreamStarted, protocol.EventMediaStreamStopped, protocol.EventDisconnect}))
		_, err := e.NewCall(nil)
		Expect(err).To(MatchError(emulator.ErrClosed))
	})

	It("cuts off a slow app's webhooks at its budget and does not blame the app", func(ctx SpecContext) {
		events := apptest.NewHooks()
		e, s := streaming(ctx, events) // the default 15 s callback timeout
		Eventually(events.EventTypes).WithTimeout(5 * time.Second).Should(ContainElement(protocol.EventMediaStreamStarted))
		events.Answer(apptest.Reply{Delay: time.Minute}) // from now on the app answers after a minute

		cutShort(ctx, e, 300*time.Millisecond, 5*time.Second, "nobody waits out the callback timeout")

		res := s.Result()
		Expect(res).NotTo(BeNil())
		Expect(res.Failed()).To(BeFalse(), "an interrupted delivery says nothing about the app")
		var stopped *emulator.Delivery
		for _, d := range e.Deliveries() {
			if d.Event.EventType == protocol.EventMediaStreamStopped {
				stopped = d
			}
		}
		Expect(stopped).NotTo(BeNil())
		Expect(stopped.Interrupted()).To(BeTrue())
		Expect(stopped.Final().Error).To(HavePrefix("interrupted"))
		Expect(stopped.Attempts).To(HaveLen(1), "an interruption is not a connection failure: no retry")
	}, SpecTimeout(20*time.Second))
})

var _ = Describe("Shutdown cutting things short", func() {
	It("does not wait out a handshake the app never answers", func(ctx SpecContext) {
		e := apptest.NewEmulator(nil) // the default 10 s handshake timeout
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: apptest.NewSilent().URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []emulator.Entry { return e.Journal().Entries() }).Should(ContainElement(HaveField("Kind", emulator.KindCall)))

		cutShort(ctx, e, 200*time.Millisecond, 3*time.Second, "the handshake is cut off, not waited out")
		res := s.Result()
		Expect(res).NotTo(BeNil())
		Expect(res.Aborted).To(BeTrue())
		Expect(res.AppFault).To(BeFalse(), "an interrupted handshake says nothing about the app")
	}, SpecTimeout(15*time.Second))

	It("does not blame the app for a close handshake it cut short", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.IgnoreClose())
		e := apptest.NewEmulator(nil) // the default 5 s close timeout
		call := specs.Call(e, nil)
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())

		cutShort(ctx, e, 300*time.Millisecond, 5*time.Second, "the close handshake is cut off")
		res := s.Result()
		Expect(res.Aborted).To(BeTrue())
		Expect(res.Ending).To(BeEmpty(), "not close-handshake-timeout: the app had no chance to answer")
		Expect(res.AppFault).To(BeFalse())
	}, SpecTimeout(15*time.Second))

	It("waits for a call that was already ending, within its budget", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL()})
		_, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		events.Answer(apptest.Reply{Delay: time.Minute})
		ending, cancelEnding := context.WithCancel(ctx)
		cancelEnding()
		Expect(call.Hangup(ending)).To(MatchError(context.Canceled), "the call goes on ending on its own")

		cutShort(ctx, e, 300*time.Millisecond, 5*time.Second, "its webhooks were cut off")
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("https webhooks", func() {
	It("trust the CA given for wss:// (Options.TLSConfig)", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewTLSHooks()

		run := func(o *emulator.Options) *emulator.StreamResult {
			e := apptest.NewEmulator(o)
			call := specs.Call(e, nil)
			s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
			Expect(s.Media(ctx, 20*time.Millisecond)).To(Succeed())
			res, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			return res
		}

		res := run(&emulator.Options{TLSConfig: events.TLSConfig()})
		Expect(res.Deliveries).To(HaveLen(2))
		for _, d := range res.Deliveries {
			Expect(d.Status()).To(Equal(http.StatusNoContent))
		}
		Expect(events.RequestsTo("/events")).To(HaveLen(2))

		res = run(nil)
		Expect(res.Deliveries[0].Final().Error).To(ContainSubstring("certificate"), "without the CA the app's certificate is not trusted, and the message says so")
	})
})
