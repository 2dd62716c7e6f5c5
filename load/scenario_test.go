package load_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/load"
	"github.com/bwemu/bwemu/scenarios"
)

const scripts = `
scenarios:
  - name: a short call the app passes
    pace: realtime
    steps:
      - media: 100ms
      - stopStream
    expect:
      stopped: {cause: closed}
  - name: a call whose expectation cannot hold
    pace: realtime
    steps:
      - media: 100ms
      - hangup
    expect:
      stopped: {cause: connection-error}
`

var _ = Describe("a load run that plays a scenario as each call's script", func() {
	var (
		file *scenarios.File
		app  scenarios.RunOptions
	)
	BeforeEach(func() {
		var err error
		file, err = scenarios.Parse("load.yaml", []byte(scripts))
		Expect(err).NotTo(HaveOccurred())
		c := apptest.NewConsumer(nil)
		app = scenarios.RunOptions{WebSocket: c.WebSocketURL(), Events: c.EventsURL(), Disconnect: c.DisconnectURL()}
	})

	It("measures each call the scenario makes", func() {
		script, err := load.ScenarioScript(file, "a short call the app passes", app)
		Expect(err).NotTo(HaveOccurred())
		s := run(&load.Options{Rate: 4, Duration: time.Second, Script: script, ScriptName: "load.yaml: a short call"})
		Expect(s.Calls).To(Equal(4))
		Expect(s.Errors).To(BeZero(), "%v", s.ErrorsByCause)
		Expect(s.Endings).To(Equal(map[string]int{string(emulator.EndStopStream): 4}))
		Expect(s.Frames).To(BeNumerically(">=", 4*5), "100 ms of media a call")
		Expect(s.Histograms[load.HistHandshake].Count).To(BeNumerically("==", 4), "the scenario's emulator reports to the run's meter")
		Expect(s.Histograms[load.HistWebhook].Count).To(BeNumerically(">=", 4*2))
		Expect(s.Settings.Scenario).To(Equal("load.yaml: a short call"))
	})

	It("counts a call whose scenario fails as an error, by the expectation that failed", func() {
		script, err := load.ScenarioScript(file, "a call whose expectation cannot hold", app)
		Expect(err).NotTo(HaveOccurred())
		s := run(&load.Options{Rate: 3, Duration: time.Second, Script: script})
		Expect(s.Errors).To(Equal(3))
		Expect(s.ErrorsByCause).To(Equal(map[string]int{"expect.stopped": 3}))
	})

	It("refuses a scenario the file does not have, naming those it has", func() {
		_, err := load.ScenarioScript(file, "no such call", app)
		Expect(err).To(MatchError(ContainSubstring(`load.yaml has no scenario "no such call"; it has: a short call the app passes; a call whose expectation cannot hold`)))
	})
})

var _ = Describe("a load run against a voice agent", func() {
	It("measures the response latency of every turn across calls", func() {
		// The agent answers after frame 40; the caller's speech ends at
		// frame 35 or a little later.
		app := apptest.NewWS(apptest.After(40, apptest.Send(apptest.PlayTone(440, 200*time.Millisecond))))
		script := func(ctx context.Context, m emulator.Meter) load.Outcome {
			e := emulator.New(&emulator.Options{Meter: m})
			defer e.Close()
			call, err := e.NewCall(nil)
			if err != nil {
				return load.Outcome{Failures: []string{err.Error()}}
			}
			s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
			if err == nil {
				err = s.Say(ctx, apptest.Speech())
			}
			if err == nil {
				err = s.Silence(ctx, 400*time.Millisecond)
			}
			if err != nil {
				return load.Outcome{Failures: []string{err.Error()}}
			}
			res, err := s.Stop(ctx)
			if err != nil {
				return load.Outcome{Failures: []string{err.Error()}}
			}
			return load.Outcome{Streams: []*emulator.StreamResult{res}}
		}
		s := run(&load.Options{Rate: 3, Duration: time.Second, Script: script, ScriptName: "agent"})
		Expect(s.Errors).To(BeZero(), "%v", s.ErrorsByCause)
		h := s.Histograms[load.HistReply]
		Expect(h).NotTo(BeNil())
		Expect(h.Count).To(BeNumerically("==", s.Calls), "one turn a call")
		Expect(h.P50Ms).To(BeNumerically(">", 0))
		Expect(h.P95Ms).To(BeNumerically(">=", h.P50Ms))

		th, err := load.ParseThreshold("reply.p95<5s")
		Expect(err).NotTo(HaveOccurred())
		Expect(th.Metric).To(Equal("reply.p95"))
	})
})
