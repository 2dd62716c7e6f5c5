package emulator_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

var _ = Describe("the journal", func() {
	It("records a stream in order and round-trips as JSON Lines", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL()})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 60*time.Millisecond)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())

		entries := e.Journal().Entries()
		var kinds []string
		for i, en := range entries {
			Expect(en.Seq).To(Equal(int64(i + 1)))
			if i > 0 {
				Expect(en.Time).NotTo(BeTemporally("<", entries[i-1].Time))
			}
			if en.StreamID == s.ID || en.Kind == emulator.KindCall || en.Event == "disconnect" {
				kinds = append(kinds, string(en.Kind))
			}
		}
		// The stream's story: handshake, start, first media, stop, close both
		// ways, totals, ending, then the webhooks and the call's end.
		Expect(kinds).To(ContainElements("handshake", "frame.out", "close", "media", "ending", "webhook", "call"))
		Expect(kinds[0]).To(Equal("call"))
		Expect(kinds[1]).To(Equal("handshake"))

		var buf bytes.Buffer
		Expect(e.Journal().WriteJSONLines(&buf)).To(Succeed())
		Expect(bytes.Count(buf.Bytes(), []byte("\n"))).To(Equal(len(entries)))
		back, err := emulator.ReadJSONLines(&buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(back).To(HaveLen(len(entries)))
		for i := range back {
			Expect(back[i].Message).To(Equal(entries[i].Message))
			Expect(back[i].Time.Equal(entries[i].Time)).To(BeTrue())
		}
	})

	It("writes the format's version in every line, the ending on ending entries and the stream's setup on its handshake", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := apptest.NewEmulator(&emulator.Options{AppCloseAsError: true})
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL(), DisconnectMethod: "GET", Tag: "t-7",
			Username: "hook-user", Password: "hook-secret"})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Name: "agent", Destination: app.URL(), StreamEventURL: events.EventsURL(),
			Pace: emulator.Fast, Mode: protocol.ModeBidirectional, Tracks: protocol.TracksBoth, Audio: media.Silence(),
			DestinationUsername: "ws-user", DestinationPassword: "ws-secret"})
		_, err := s.EndAt(ctx, 40*time.Millisecond, emulator.EndReset)
		Expect(err).NotTo(HaveOccurred())
		_, err = call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred(), "the first stream has ended: the name is free again")
		Expect(call.Hangup(ctx)).To(Succeed())

		var buf bytes.Buffer
		Expect(e.Journal().WriteJSONLines(&buf)).To(Succeed())
		Expect(buf.String()).NotTo(ContainSubstring("secret"))
		back, err := emulator.ReadJSONLines(&buf)
		Expect(err).NotTo(HaveOccurred())
		for _, en := range back {
			Expect(en.Version).To(Equal(emulator.JournalVersion), "line %d", en.Seq)
		}
		Expect(e.Journal().Entries()[0].Version).To(BeZero(), "the version is the file's, stamped as it is written")
		Expect(back).To(ContainElement(And(HaveField("Kind", emulator.KindEnding), HaveField("StreamID", s.ID),
			HaveField("Ending", emulator.EndReset), HaveField("Cause", "connection-error"))))

		var setup *emulator.StreamSetup
		for _, en := range back {
			if en.Kind == emulator.KindHandshake && en.StreamID == s.ID {
				setup = en.Setup
			}
		}
		Expect(setup).NotTo(BeNil())
		Expect(*setup).To(Equal(emulator.StreamSetup{Mode: protocol.ModeBidirectional, Tracks: protocol.TracksBoth, Pace: emulator.Fast,
			Audio: "silence", EventMethod: "POST", DestinationAuth: true,
			Call: emulator.CallSetup{AccountID: emulator.DefaultAccountID, From: emulator.DefaultFrom, To: emulator.DefaultTo,
				Direction: "inbound", Tag: "t-7", DisconnectMethod: "GET"},
			Timeouts: emulator.TimeoutsSetup{Handshake: e.Options().Timeouts.Handshake, Write: e.Options().Timeouts.Write,
				CloseHandshake: e.Options().Timeouts.CloseHandshake, Callback: e.Options().Timeouts.Callback, DeadPeer: e.Options().Timeouts.DeadPeer},
			AppCloseAsError: true}))
		Expect(setup.Timeouts.Timeouts()).To(Equal(e.Options().Timeouts))
	})

	It("keeps in fields what programs read: a webhook's method, copy and attempt, an ending's errorMessage, a refusal's", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := apptest.NewEmulator(&emulator.Options{DuplicateWebhooks: true})
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: events.EventsURL(), DisconnectMethod: "GET"})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		r, err := s.EndAt(ctx, 40*time.Millisecond, emulator.EndReset)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ErrorMessage).NotTo(BeEmpty())
		refused, err := call.StartStream(ctx, emulator.StreamSpec{Name: "nowhere", Destination: apptest.RefusedURL(), StreamEventURL: events.EventsURL()})
		Expect(err).NotTo(HaveOccurred())
		rr, err := refused.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(call.Hangup(ctx)).To(Succeed())

		entries := e.Journal().Entries()
		Expect(entries).To(ContainElement(And(HaveField("Kind", emulator.KindEnding), HaveField("StreamID", s.ID), HaveField("Error", r.ErrorMessage))))
		Expect(entries).To(ContainElement(And(HaveField("Kind", emulator.KindHandshake), HaveField("StreamID", refused.ID),
			HaveField("Ending", emulator.EndConnectRefused), HaveField("Error", rr.ErrorMessage))))
		var hooks []emulator.Entry
		for _, en := range entries {
			if en.Kind == emulator.KindWebhook && en.Event == protocol.EventDisconnect {
				hooks = append(hooks, en)
			}
		}
		Expect(hooks).To(ConsistOf(
			And(HaveField("Method", "GET"), HaveField("Copy", 1), HaveField("Attempt", 1)),
			And(HaveField("Method", "GET"), HaveField("Copy", 2), HaveField("Attempt", 1))))
	})

	It("reads journals older than versions, and refuses one of a newer version", func() {
		old, err := emulator.ReadJSONLines(strings.NewReader(`{"seq":1,"kind":"call","message":"call"}` + "\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(old).To(ConsistOf(HaveField("Version", 0)))
		_, err = emulator.ReadJSONLines(strings.NewReader(`{"v":1,"seq":1,"kind":"call","message":"a"}` + "\n" + `{"v":2,"seq":2,"kind":"call","message":"b"}` + "\n"))
		Expect(err).To(MatchError("journal entry 2 is in format version 2, newer than this package reads (1 and older)"))
	})

	It("says on a rejected StartStream which ending it was", func(ctx SpecContext) {
		app := apptest.NewWS()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		specs.Stream(ctx, call, emulator.StreamSpec{Name: "agent", Destination: app.URL(), Pace: emulator.Fast})
		_, err := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).To(BeAssignableToTypeOf(&emulator.RejectedError{}))
		Expect(e.Journal().Entries()).To(ContainElement(And(HaveField("Kind", emulator.KindRejected), HaveField("Ending", emulator.EndDuplicate))))
	})

	It("lets a waiter see an entry as it is added", func(ctx SpecContext) {
		j := emulator.NewJournal()
		got := make(chan emulator.Entry, 1)
		go func() {
			defer GinkgoRecover()
			en, err := j.WaitFor(ctx, func(en emulator.Entry) bool { return en.Kind == emulator.KindFault })
			Expect(err).NotTo(HaveOccurred())
			got <- en
		}()
		j.Add(emulator.Entry{Kind: emulator.KindCall, Message: "one"})
		j.Add(emulator.Entry{Kind: emulator.KindFault, Message: "two"})
		Eventually(got).WithTimeout(time.Second).Should(Receive(HaveField("Message", "two")))
		short, cancel := context.WithCancel(ctx)
		cancel()
		_, err := j.WaitFor(short, func(emulator.Entry) bool { return false })
		Expect(err).To(MatchError(context.Canceled))
	})

	It("is the debug log when the emulator has a logger", func(ctx SpecContext) {
		app := apptest.NewWS()
		var buf syncBuffer
		e := apptest.NewEmulator(&emulator.Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast,
			DestinationUsername: "u", DestinationPassword: "log-secret"})
		Expect(err).NotTo(HaveOccurred())
		_, err = s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(buf.String()).To(ContainSubstring("close frame sent: code 1000"))
		Expect(buf.String()).To(ContainSubstring("kind=handshake"))
		Expect(buf.String()).NotTo(ContainSubstring("log-secret"))
	})
})

// syncBuffer is a bytes.Buffer safe for the emulator's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ = Describe("Journal.Since", func() {
	It("waits for the entries after a sequence number and returns only those", func(ctx SpecContext) {
		j := emulator.NewJournal()
		j.Add(emulator.Entry{Message: "one"})
		got, err := j.Since(ctx, 0)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(ConsistOf(HaveField("Message", "one")))

		later := make(chan []emulator.Entry, 1)
		go func() {
			defer GinkgoRecover()
			entries, err := j.Since(ctx, 1)
			Expect(err).NotTo(HaveOccurred())
			later <- entries
		}()
		Consistently(later).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())
		j.Add(emulator.Entry{Message: "two"})
		Eventually(later).WithTimeout(5 * time.Second).Should(Receive(ConsistOf(And(HaveField("Message", "two"), HaveField("Seq", int64(2))))))

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = j.Since(cancelled, 2)
		Expect(err).To(MatchError(context.Canceled))
	}, SpecTimeout(10*time.Second))
})
