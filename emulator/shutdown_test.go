package emulator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

var _ = Describe("Shutdown, for an interrupted run", func() {
	It("ends live calls with their webhooks when the app answers at once", func(ctx SpecContext) {
		app := newTestApp(behaviour{})
		events := newEventsServer(204)
		e := emulator.New(nil)
		DeferCleanup(e.Close)
		call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: events.URL()})
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())

		Expect(e.Shutdown(ctx)).To(Succeed())
		res := s.Result()
		Expect(res).NotTo(BeNil())
		Expect(res.Ending).To(Equal(emulator.EndHangup))
		Expect(res.Failed()).To(BeFalse())
		Expect(events.Events()).To(Equal([]string{protocol.EventMediaStreamStarted, protocol.EventMediaStreamStopped, protocol.EventDisconnect}))
		_, err = e.NewCall(nil)
		Expect(err).To(MatchError(emulator.ErrClosed))
	})

	It("cuts off a slow app's webhooks at its budget and does not blame the app", func(ctx SpecContext) {
		app := newTestApp(behaviour{})
		events := newEventsServer(204)
		e := emulator.New(nil) // the default 15 s callback timeout
		DeferCleanup(e.Close)
		call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: events.URL()})
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		Eventually(events.Events).WithTimeout(5 * time.Second).Should(ContainElement(protocol.EventMediaStreamStarted))
		events.mu.Lock()
		events.delay = time.Minute // from now on the app answers after a minute
		events.mu.Unlock()

		budget, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		Expect(e.Shutdown(budget)).To(MatchError(context.DeadlineExceeded))
		Expect(time.Since(began)).To(BeNumerically("<", 5*time.Second), "nobody waits out the callback timeout")

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
		e := emulator.New(nil) // the default 10 s handshake timeout
		DeferCleanup(e.Close)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: silentListener(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []emulator.Entry { return e.Journal().Entries() }).Should(ContainElement(HaveField("Kind", emulator.KindCall)))

		budget, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		Expect(e.Shutdown(budget)).To(MatchError(context.DeadlineExceeded))
		Expect(time.Since(began)).To(BeNumerically("<", 3*time.Second), "the handshake is cut off, not waited out")
		res := s.Result()
		Expect(res).NotTo(BeNil())
		Expect(res.Aborted).To(BeTrue())
		Expect(res.AppFault).To(BeFalse(), "an interrupted handshake says nothing about the app")
	}, SpecTimeout(15*time.Second))

	It("does not blame the app for a close handshake it cut short", func(ctx SpecContext) {
		app := newTestApp(behaviour{ignoreClose: true})
		e := emulator.New(nil) // the default 5 s close timeout
		DeferCleanup(e.Close)
		call, err := e.NewCall(nil)
		Expect(err).NotTo(HaveOccurred())
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())

		budget, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		Expect(e.Shutdown(budget)).To(MatchError(context.DeadlineExceeded))
		res := s.Result()
		Expect(res.Aborted).To(BeTrue())
		Expect(res.Ending).To(BeEmpty(), "not close-handshake-timeout: the app had no chance to answer")
		Expect(res.AppFault).To(BeFalse())
	}, SpecTimeout(15*time.Second))

	It("waits for a call that was already ending, within its budget", func(ctx SpecContext) {
		app := newTestApp(behaviour{})
		events := newEventsServer(204)
		e := emulator.New(nil)
		DeferCleanup(e.Close)
		call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: events.URL()})
		Expect(err).NotTo(HaveOccurred())
		_, err = call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		events.mu.Lock()
		events.delay = time.Minute
		events.mu.Unlock()
		ending, cancelEnding := context.WithCancel(ctx)
		cancelEnding()
		Expect(call.Hangup(ending)).To(MatchError(context.Canceled), "the call goes on ending on its own")

		budget, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		Expect(e.Shutdown(budget)).To(MatchError(context.DeadlineExceeded), "its webhooks were cut off")
		Expect(time.Since(began)).To(BeNumerically("<", 5*time.Second))
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("https webhooks", func() {
	It("trust the CA given for wss:// (Options.TLSConfig)", func(ctx SpecContext) {
		app := newTestApp(behaviour{})
		got := make(chan string, 8)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.URL.Path
			w.WriteHeader(http.StatusNoContent)
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted run's handshake errors
		srv.StartTLS()
		DeferCleanup(srv.Close)
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())

		run := func(o *emulator.Options) *emulator.StreamResult {
			e := newEmulator(o)
			call, err := e.NewCall(nil)
			Expect(err).NotTo(HaveOccurred())
			s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: srv.URL + "/events", Pace: emulator.Fast})
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Media(ctx, 20*time.Millisecond)).To(Succeed())
			res, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			return res
		}

		res := run(&emulator.Options{TLSConfig: &tls.Config{RootCAs: pool}})
		Expect(res.Deliveries).To(HaveLen(2))
		for _, d := range res.Deliveries {
			Expect(d.Status()).To(Equal(http.StatusNoContent))
		}
		Eventually(got).Should(Receive(Equal("/events")))

		res = run(nil)
		Expect(res.Deliveries[0].Final().Error).To(ContainSubstring("certificate"), "without the CA the app's certificate is not trusted, and the message says so")
	})
})
