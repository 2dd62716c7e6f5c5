package emulator_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
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
