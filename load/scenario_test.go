package load_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
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
