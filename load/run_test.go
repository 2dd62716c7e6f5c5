package load_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/apptest"
	consumerapp "github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/load"
)

// against aims options at a consumer's URLs.
func against(ws, events, disconnect string, o load.Options) *load.Options {
	GinkgoHelper()
	o.Stream.Destination, o.Stream.StreamEventURL = ws, events
	o.Call.DisconnectURL = disconnect
	if o.Stream.Audio == nil {
		tone, err := media.Tone(440)
		Expect(err).NotTo(HaveOccurred())
		o.Stream.Audio = tone
	}
	if o.Hold == (load.Hold{}) {
		o.Hold = load.Hold{Min: 200 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	return &o
}

// consumer starts the reference consumer and aims o at it.
func consumer(o load.Options) *load.Options {
	c := apptest.NewConsumer(nil)
	return against(c.WebSocketURL(), c.EventsURL(), c.DisconnectURL(), o)
}

func run(o *load.Options) *load.Summary {
	GinkgoHelper()
	s, err := load.Run(context.Background(), o)
	Expect(err).NotTo(HaveOccurred())
	return s
}

var _ = Describe("a load run", func() {
	It("holds its concurrent calls against a correct app, replacing each that ends, and measures them", func() {
		s := run(consumer(load.Options{Calls: 4, Duration: time.Second}))
		// Four slots, each a 200 ms call after another for a second.
		Expect(s.Started).To(BeNumerically(">=", 8))
		Expect(s.Calls).To(Equal(s.Started), "every call started has ended")
		Expect(s.Errors).To(BeZero(), "%v", s.ErrorsByCause)
		Expect(s.Endings).To(Equal(map[string]int{string(emulator.EndHangup): s.Calls}))
		// 200 ms of media is 10 frames a call, fewer for the calls the
		// run's end cut short.
		Expect(s.Cut).To(BeNumerically("<=", 4))
		Expect(s.Frames).To(BeNumerically(">=", int64(10*(s.Calls-s.Cut))))
		for _, name := range []string{load.HistLateness, load.HistBlocked, load.HistHandshake, load.HistWebhook,
			load.HistWebhook + ".mediaStreamStarted", load.HistWebhook + ".mediaStreamStopped", load.HistWebhook + ".disconnect"} {
			Expect(s.Histograms).To(HaveKey(name))
			Expect(s.Histograms[name].Count).To(BeNumerically(">", 0), name)
		}
		Expect(s.Histograms[load.HistHandshake].Count).To(BeNumerically("==", s.Calls))
		Expect(s.Histograms[load.HistWebhook].Count).To(BeNumerically("==", 3*s.Calls-2*s.Cut),
			"Started, Stopped and disconnect a call, but only Started for a call the run's end cut short")
		Expect(s.Series).NotTo(BeEmpty())
		Expect(s.Settings.Calls).To(Equal(4))
	})

	It("starts calls at the given rate whatever the app does (open model)", func() {
		s := run(consumer(load.Options{Rate: 10, Duration: time.Second}))
		Expect(s.Started).To(Equal(10), "arrivals at 0, 100 … 900 ms")
		Expect(s.Calls).To(Equal(10))
	})

	It("ends calls in the weighted mix it was given, the same draws for the same seed", func() {
		mix, err := load.ParseMix("stop=1,reset=1,hangup=1")
		Expect(err).NotTo(HaveOccurred())
		first := run(consumer(load.Options{Rate: 12, Duration: time.Second, Endings: mix, Seed: 7}))
		Expect(first.Calls).To(Equal(12))
		Expect(first.Endings).To(HaveKey(string(emulator.EndStopStream)))
		Expect(first.Endings).To(HaveKey(string(emulator.FaultReset)))
		Expect(first.Endings).To(HaveKey(string(emulator.EndHangup)))
		Expect(first.Errors).To(BeZero(), "a reset is the network's doing, not the app's: %v", first.ErrorsByCause)
		again := run(consumer(load.Options{Rate: 12, Duration: time.Second, Endings: mix, Seed: 7}))
		Expect(again.Endings).To(Equal(first.Endings))
	})

	It("fails no call of a correct app that differs from the reference, however the calls end", func() {
		// It closes first after stop, takes webhooks by POST only and
		// answers an event type it does not know with 400; disconnect has
		// its own endpoint.
		c := apptest.NewConsumer(&consumerapp.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
		mix, err := load.ParseMix("stop=1,hangup=1,reset=1,drop=1,error=1")
		Expect(err).NotTo(HaveOccurred())
		o := against(c.WebSocketURL(), c.EventsURL(), c.DisconnectURL(), load.Options{Rate: 15, Duration: time.Second, Endings: mix})
		o.Emulator.Timeouts.DeadPeer = 200 * time.Millisecond
		s := run(o)
		Expect(s.Calls).To(Equal(15))
		Expect(s.Endings).To(HaveLen(5), "every ending was drawn: %v", s.Endings)
		Expect(s.Errors).To(BeZero(), "%v", s.ErrorsByCause)
		Expect(s.Histograms[load.HistWebhook].Count).To(BeNumerically(">", 15), "the webhooks were answered and timed")
	})

	Describe("progress", func() {
		// skipping is a script that skips 5 frames in its first call, as a
		// stream that falls behind does, and nothing else.
		skipping := func() func(context.Context, emulator.Meter) load.Outcome {
			var calls atomic.Int32
			return func(_ context.Context, m emulator.Meter) load.Outcome {
				if calls.Add(1) == 1 {
					m.Skipped(5)
				}
				return load.Outcome{}
			}
		}
		line := `\d+s/2.5s  calls \d+ live, \d+ done  \d+ frames/s  lateness p99 [\d.]+ms  webhook p99 [\d.]+ms  errors 0  skipped 5`

		It("prints a line every ProgressEvery, saying when bwemu skipped frames", func() {
			var out bytes.Buffer
			run(&load.Options{Rate: 4, Duration: 2500 * time.Millisecond, Script: skipping(), Progress: &out, ProgressEvery: time.Second})
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			Expect(len(lines)).To(BeNumerically(">=", 2), out.String())
			for _, l := range lines {
				Expect(l).To(MatchRegexp("^" + line))
			}
		})

		It("rewrites one line in place on a terminal, and ends it", func() {
			var out bytes.Buffer
			run(&load.Options{Rate: 4, Duration: 2500 * time.Millisecond, Script: skipping(), Progress: &out, Terminal: true})
			Expect(out.String()).To(HaveSuffix("\n"))
			rewrites := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\r\033[K")
			Expect(rewrites[0]).To(BeEmpty(), "every line begins by clearing the last")
			Expect(len(rewrites)).To(BeNumerically(">=", 3), "%q", out.String())
			for _, l := range rewrites[1:] {
				Expect(l).To(MatchRegexp("^" + line + "( \\(ending the live calls\\))?$"))
			}
		})
	})

	It("counts the calls an app fails by cause, and journals only those, up to the limit", func() {
		app := apptest.NewWS(apptest.Refuse(503))
		hooks := apptest.NewHooks()
		dir := GinkgoT().TempDir()
		s := run(against(app.URL(), hooks.EventsURL(), "", load.Options{Rate: 5, Duration: time.Second, JournalDir: dir, MaxJournals: 2}))
		Expect(s.Calls).To(Equal(5))
		Expect(s.Errors).To(Equal(5))
		Expect(s.ErrorsByCause).To(HaveKeyWithValue("ending "+string(emulator.EndHandshakeStatus), 5))
		files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(2))
		Expect(s.Journals).To(ContainElement(ContainSubstring("3 more failed calls not journaled")))
		b, err := os.ReadFile(files[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(ContainSubstring("503"))
	})

	It("counts a webhook the app does not answer 2xx as an error of that event", func() {
		c := apptest.NewConsumer(nil)
		hooks := apptest.NewHooks()
		hooks.AnswerWhen(func(q apptest.Request) bool { return q.Event != nil && q.Event.EventType == "mediaStreamStopped" }, apptest.Reply{Status: 500})
		s := run(against(c.WebSocketURL(), hooks.EventsURL(), "", load.Options{Rate: 4, Duration: time.Second}))
		Expect(s.Errors).To(Equal(4))
		Expect(s.ErrorsByCause).To(Equal(map[string]int{"mediaStreamStopped: 500": 4}))
	})

	It("leaves the run's final burst out of the answer times, but still counts its failures", func() {
		// Every call outlives the run: all end together when it is over.
		// The app answers their Stopped slowly, and the disconnect with 500.
		c := apptest.NewConsumer(nil)
		hooks := apptest.NewHooks()
		hooks.AnswerWhen(func(q apptest.Request) bool { return q.Event != nil && q.Event.EventType == "mediaStreamStopped" },
			apptest.Reply{Delay: 300 * time.Millisecond})
		hooks.AnswerWhen(func(q apptest.Request) bool { return q.Event != nil && q.Event.EventType == "disconnect" },
			apptest.Reply{Status: 500})
		s := run(against(c.WebSocketURL(), hooks.EventsURL(), hooks.DisconnectURL(), load.Options{Calls: 3, Duration: time.Second,
			Hold: load.Hold{Min: time.Minute, Max: time.Minute}}))
		Expect(s.Calls).To(Equal(3))
		Expect(s.Cut).To(Equal(3))
		Expect(hooks.Requests()).To(ContainElement(HaveField("Event.EventType", "mediaStreamStopped")), "the burst was sent")
		Expect(s.Histograms[load.HistWebhook].Count).To(BeNumerically("==", 3), "the Started of each call")
		Expect(s.Histograms[load.HistWebhook].Max()).To(BeNumerically("<", 300*time.Millisecond))
		Expect(s.Histograms).To(HaveKey(load.HistWebhook + ".mediaStreamStarted"))
		Expect(s.Histograms).NotTo(HaveKey(load.HistWebhook + ".mediaStreamStopped"))
		Expect(s.Errors).To(Equal(3), "a failed answer in the burst is still the app's")
		Expect(s.ErrorsByCause).To(Equal(map[string]int{"disconnect: 500": 3}))
	})

	It("shows an app that cannot keep up as write blocking long before any write times out", func() {
		// Both tracks send 100 messages a second; the app reads 50.
		app := apptest.NewSlowWS(20 * time.Millisecond)
		hooks := apptest.NewHooks()
		o := against(app.URL(), hooks.EventsURL(), "", load.Options{Calls: 1, Duration: 3 * time.Second,
			Hold: load.Hold{Min: 3 * time.Second, Max: 3 * time.Second}})
		o.Stream.Tracks = "both"
		o.Emulator.Timeouts = emulator.Timeouts{Write: 10 * time.Second, CloseHandshake: 200 * time.Millisecond}
		o.Emulator.SendBuffer = 8 << 10
		s := run(o)
		Expect(s.Endings).NotTo(HaveKey(string(emulator.EndWriteTimeout)))
		Expect(s.Histograms[load.HistBlocked].Max()).To(BeNumerically(">", 50*time.Millisecond))
		Expect(s.Series).To(ContainElement(HaveField("BlockedMaxMs", BeNumerically(">", 50))), "%+v", s.Series)
		Expect(s.Series[0].BlockedMaxMs).To(BeNumerically("<", 50), "the first second, before the buffers filled")
	})

	It("marks a run generator-bound when bwemu uses its CPU budget, with advice", func() {
		s := run(consumer(load.Options{Calls: 2, Duration: 500 * time.Millisecond, CPUBudget: 0.0001}))
		Expect(s.Generator.Bound).To(BeTrue())
		Expect(s.Generator.Reasons).To(ContainElement(ContainSubstring("CPU budget")))
		Expect(s.Generator.Advice).To(ContainSubstring("shard"))
		Expect(s.Generator.CPUUse).To(BeNumerically(">=", 0.9))
	})

	It("ends its live calls with their webhooks when interrupted, and says so", func() {
		c := apptest.NewConsumer(nil)
		ctx, cancel := context.WithCancel(context.Background())
		o := against(c.WebSocketURL(), c.EventsURL(), c.DisconnectURL(), load.Options{Calls: 3, Duration: time.Minute,
			Hold: load.Hold{Min: time.Minute, Max: time.Minute}})
		done := make(chan *load.Summary)
		go func() {
			defer GinkgoRecover()
			s, err := load.Run(ctx, o)
			Expect(err).NotTo(HaveOccurred())
			done <- s
		}()
		Eventually(func() int { return len(c.Streams()) }).WithTimeout(5 * time.Second).Should(Equal(3))
		cancel()
		var s *load.Summary
		Eventually(done).WithTimeout(emulator.InterruptGrace + 5*time.Second).Should(Receive(&s))
		Expect(s.Interrupted).To(BeTrue())
		Expect(s.Calls).To(Equal(3))
		Expect(s.Errors).To(BeZero(), "an interrupt is never the app's fault: %v", s.ErrorsByCause)
	})

	It("starts every shard at the same instant when told", func() {
		at := time.Now().Add(300 * time.Millisecond)
		s := run(consumer(load.Options{Rate: 2, Duration: 500 * time.Millisecond, StartAt: at}))
		Expect(s.Start).To(BeTemporally(">=", at))
	})

	It("runs its share of the calls in a shard", func() {
		opts := load.Options{Rate: 10, Duration: time.Second}
		opts.Shard = load.Shard{Index: 0, Count: 3}
		first := run(consumer(opts))
		opts.Shard = load.Shard{Index: 2, Count: 3}
		last := run(consumer(opts))
		// 10/3 calls a second each: arrivals at 0, 300, 600, 900 ms.
		Expect(first.Started).To(Equal(4))
		Expect(last.Started).To(Equal(4))
		Expect(first.Settings.Shard).To(Equal("0/3"))
	})

	It("refuses options that cannot run", func() {
		for _, o := range []load.Options{{Duration: time.Second}, {Calls: 1, Rate: 1, Duration: time.Second},
			{Calls: 1}, {Calls: 1, Duration: time.Second, Ramp: 2 * time.Second}} {
			o := o
			o.Hold = load.Hold{Min: time.Second, Max: time.Second}
			o.Stream.Destination = "ws://127.0.0.1:9/media"
			_, err := load.Run(context.Background(), &o)
			Expect(err).To(HaveOccurred(), "%+v", o)
		}
	})
})
