package scenarios_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/scenarios"
)

// bxmlApp is an app under test that serves BXML: /stream-pause starts a
// stream to ws and pauses, /last-verb ends with StartStream, /invalid is
// not BXML, /hangup hangs the call up through the Voice API at api
// before answering; /events and /disconnect answer every webhook 204.
type bxmlApp struct {
	*apptest.Hooks
	api string // the Voice API's host:port
}

func newBXMLApp(ws, api string) *bxmlApp {
	a := &bxmlApp{Hooks: apptest.NewHooks(apptest.NotFound), api: api}
	a.Route("/events", apptest.Reply{})
	a.Route("/disconnect", apptest.Reply{})
	startStream := fmt.Sprintf(`<StartStream name="agent" destination="%s" streamEventUrl="/events"/>`, ws)
	a.Serve("/stream-pause", bxmlDoc(`<Response>`+startStream+`<Pause duration="0.3"/></Response>`))
	a.Serve("/last-verb", bxmlDoc(`<Response><SpeakSentence>Connecting you now.</SpeakSentence>`+startStream+`</Response>`))
	a.Serve("/invalid", bxmlDoc(`<Response><Pause duration="1">`))
	hangup := apptest.BXML(bxmlDoc(`<Response><Pause duration="5"/></Response>`))
	hangup.Do = a.hangUp
	a.Route("/hangup", hangup)
	return a
}

// hangUp ends the call of the request through the Voice API.
func (a *bxmlApp) hangUp(q apptest.Request) {
	var ev struct{ AccountID, CallID string }
	Expect(json.Unmarshal(q.Body, &ev)).To(Succeed())
	url := fmt.Sprintf("http://%s/api/v2/accounts/%s/calls/%s", a.api, ev.AccountID, ev.CallID)
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"state":"completed"}`))
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
}

// bxmlDoc is doc with the XML declaration.
func bxmlDoc(doc string) string { return `<?xml version="1.0" encoding="UTF-8"?>` + doc }

// bxmlFile is testdata/bxml.yaml pointed at app and the Voice API address,
// with more scenarios appended.
func bxmlFile(app *bxmlApp, more string) *scenarios.File {
	GinkgoHelper()
	src, err := os.ReadFile("testdata/bxml.yaml")
	Expect(err).NotTo(HaveOccurred())
	s := strings.ReplaceAll(string(src), "http://bxml-app.test", app.URL(""))
	s = strings.ReplaceAll(s, "127.0.0.1:18090", app.api)
	return parseAs("testdata/bxml.yaml", s+more)
}

var _ = Describe("scenarios with bxml: and target.api", func() {
	var app *bxmlApp
	BeforeEach(func() {
		app = newBXMLApp(newReference().WebSocketURL(), apptest.RefusedAddr())
	})

	It("runs the app's BXML, names its streams by BXML name, and checks the app's Voice API use", func(ctx SpecContext) {
		results := runFiles(ctx, scenarios.RunOptions{}, bxmlFile(app, `
  - name: expects a BXML replacement the app never makes
    bxml: {url: `+app.URL("")+`/hangup}
    steps: [waitForEnd: 2s]
    expect:
      api: [replaceBxml]
`))
		Expect(statuses(results)).To(Equal(map[string]scenarios.Status{
			"the app starts a stream, then pauses":               scenarios.Passed,
			"StartStream as the last verb ends the call at once": scenarios.Passed,
			"invalid BXML ends the call":                         scenarios.Passed,
			"the app hangs up through the Voice API":             scenarios.Passed,
			"expects a BXML replacement the app never makes":     scenarios.Failed,
		}), "%v", results)

		pause := named(results, "the app starts a stream, then pauses")
		Expect(pause.Streams).To(HaveLen(1))
		Expect(pause.Streams[0].Name).To(Equal("agent"))
		Expect(pause.Streams[0].Result.FramesByTrack).To(HaveKeyWithValue("inbound", 10))
		Expect(webhooks(pause)).To(Equal([]string{"initiate", "mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}),
			"every exchange, the BXML fetch first")
		Expect(pause.Webhooks[0].BXML).To(BeTrue())
		for _, e := range pause.Journal {
			Expect(e.CallID).To(Or(BeEmpty(), Equal(pause.Webhooks[0].Event.CallID)), "the shared emulator's journal is cut to the call")
		}

		// The pitfall: the BXML runs out right after StartStream, so the
		// call hangs up and the 1 s of media never flows.
		last := named(results, "StartStream as the last verb ends the call at once")
		Expect(last.Streams).To(HaveLen(1))
		Expect(last.Streams[0].Result.MediaDuration).To(BeNumerically("<", 500*time.Millisecond))

		Expect(webhooks(named(results, "invalid BXML ends the call"))).To(Equal([]string{"initiate", "disconnect(invalid-bxml)"}))
		Expect(webhooks(named(results, "the app hangs up through the Voice API"))).To(Equal([]string{"initiate", "disconnect(hangup)"}))

		f := failure(named(results, "expects a BXML replacement the app never makes"), "expect.api")
		Expect(f.Message).To(ContainSubstring("updateCall"))
		Expect(f.Message).To(ContainSubstring("updateCallBxml"))
		Expect(f.Pos).NotTo(BeEmpty())
		Expect(f.Excerpt).To(ContainSubstring("/api/v2/accounts/"), "the excerpt shows the call's journal")
	}, timeout)

	It("fails a step on a stream the BXML never starts, and a waitForEnd the call outlives", func(ctx SpecContext) {
		results := runFiles(ctx, scenarios.RunOptions{}, parseInline(fmt.Sprintf(`
target: {events: %[1]s/events}
`+quick+`scenarios:
  - name: no such stream
    bxml: {url: %[1]s/stream-pause}
    steps: [media: {for: 100ms, stream: other}]
  - name: still running
    bxml: {url: %[1]s/stream-pause}
    steps: [waitForEnd: 50ms]
`, app.URL(""))))
		Expect(named(results, "no such stream").Status).To(Equal(scenarios.Errored))
		Expect(named(results, "no such stream").Error).To(MatchRegexp(`steps\[0\] media: the (call ended before its BXML started|BXML did not start) a stream named "other" \(started: "agent"\)`))
		Expect(named(results, "still running").Status).To(Equal(scenarios.Errored))
		Expect(named(results, "still running").Error).To(ContainSubstring("waitForEnd: the call did not end within 50ms"))
	}, timeout)

	It("waits at the end for every webhook the BXML call owes, while each is answered inside the callbackTimeout", func(ctx SpecContext) {
		// Two streams, then the call's end: five webhooks one at a time,
		// at 1.5s each, inside the 2s callbackTimeout.
		ws := newReference().WebSocketURL()
		app.Route("/events", apptest.Reply{Delay: 1500 * time.Millisecond})
		app.Serve("/two-streams", bxmlDoc(fmt.Sprintf(`<Response><StartStream name="a" destination="%[1]s" streamEventUrl="/events"/>`+
			`<StartStream name="b" destination="%[1]s" streamEventUrl="/events"/><Pause duration="0.3"/></Response>`, ws)))
		r := runOne(ctx, fmt.Sprintf(`
target: {events: %[1]s/events, disconnect: %[1]s/disconnect}
`+quick+`scenarios:
  - name: two streams, slow answers
    bxml: {url: %[1]s/two-streams}
    steps: [wait: 10ms]
    expect:
      webhooks: {status: 204}
`, app.URL("")), scenarios.RunOptions{})
		Expect(r).To(passed())
		Expect(webhooks(r)).To(ConsistOf("initiate", "mediaStreamStarted", "mediaStreamStarted",
			"mediaStreamStopped(closed)", "mediaStreamStopped(closed)", "disconnect(hangup)"))
	}, SpecTimeout(time.Minute))

	It("fails, not errors, a scenario whose steps the app's failed BXML kept from running", func(ctx SpecContext) {
		app.Route("/broken", apptest.Reply{Status: http.StatusInternalServerError})
		src := fmt.Sprintf(`
target: {events: %[1]s/events}
`+quick+`scenarios:
  - name: not BXML
    bxml: {url: %[1]s/invalid}
    steps: [media: 100ms]
  - name: an error answer
    bxml: {url: %[1]s/broken}
    steps: [media: 100ms]
`, app.URL(""))
		results := runFiles(ctx, scenarios.RunOptions{}, parseInline(src))
		for name, want := range map[string]string{"not BXML": "invalid BXML", "an error answer": "500"} {
			r := named(results, name)
			Expect(r.Status).To(Equal(scenarios.Failed), "%s: %s", name, r.Error)
			f := failure(r, "bxml")
			Expect(f.Message).To(ContainSubstring("the call's BXML failed"))
			Expect(f.Message).To(ContainSubstring(want))
			Expect(f.Pos).To(HavePrefix("inline.yaml:"))
			Expect(f.Excerpt).NotTo(BeEmpty())
		}
	}, timeout)

	It("says, when the call outlives a waitForEnd, how the app's Voice API requests on it were answered", func(ctx SpecContext) {
		// The app hangs up without the credentials the Voice API wants.
		addr := apptest.RefusedAddr()
		app.api = addr
		results := runFiles(ctx, scenarios.RunOptions{}, parseInline(fmt.Sprintf(`
target: {events: %[1]s/events, api: %[2]q, apiUsername: api-user, apiPassword: api-secret}
`+quick+`scenarios:
  - name: refused hangup
    bxml: {url: %[1]s/hangup}
    steps: [waitForEnd: 1s]
`, app.URL(""), addr)))
		r := named(results, "refused hangup")
		Expect(r.Error).To(ContainSubstring("waitForEnd: the call did not end within 1s (its BXML is still running; the app's Voice API requests on the call: updateCall (401))"))
	}, timeout)

	It("gives the advice on the app's BXML in a passing scenario's result, its JSON and its JUnit case", func(ctx SpecContext) {
		app.Serve("/snake", bxmlDoc(fmt.Sprintf(`<Response><StartStream name="agent" destination="%s" destination_username="u" destination_password="p" streamEventUrl="/events"/>`+
			`<Pause duration="0.2"/></Response>`, newReference().WebSocketURL())))
		r := runOne(ctx, fmt.Sprintf(`
target: {events: %[1]s/events, disconnect: %[1]s/disconnect}
`+quick+`scenarios:
  - name: snake case
    bxml: {url: %[1]s/snake}
    steps: [waitForEnd: 2s]
`, app.URL("")), scenarios.RunOptions{})
		Expect(r).To(passed(), "advice fails nothing")
		Expect(r.Advice).To(ContainElement(ContainSubstring("destination_username")))
		raw, err := json.Marshal(r)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).To(ContainSubstring(`"advice":[`))
		var junit strings.Builder
		Expect(scenarios.WriteJUnit(&junit, []*scenarios.Result{r}, time.Second, time.Now())).To(Succeed())
		Expect(junit.String()).To(ContainSubstring("advice: "))
		Expect(junit.String()).To(ContainSubstring("destination_username"))
	}, timeout)

	It("refuses a second Voice API on a taken address", func(ctx SpecContext) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ln.Close)
		f := parseInline(fmt.Sprintf("target: {api: %q}\nscenarios:\n  - name: x\n    bxml: {url: %s/stream-pause}\n    steps: [wait: 10ms]\n", ln.Addr().String(), app.URL("")))
		_, err = scenarios.Run(ctx, []*scenarios.File{f}, scenarios.RunOptions{})
		Expect(err).To(MatchError(ContainSubstring("target.api")))
	}, timeout)

	It("loads testdata/bxml.yaml to the model it describes", func() {
		f, err := scenarios.Load("testdata/bxml.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Target.API).To(Equal("127.0.0.1:18090"))
		Expect(f.Scenarios[0].BXML.URL).To(Equal("http://bxml-app.test/stream-pause"))
		Expect(f.Scenarios[1].BXML).To(PointTo(MatchFields(IgnoreExtras, Fields{"Method": Equal("POST"), "Event": Equal("initiate")})))
		Expect(f.Scenarios[2].Steps[0]).To(MatchFields(IgnoreExtras, Fields{"Kind": Equal(scenarios.StepWaitForEnd), "Duration": Equal(2 * time.Second)}))
		Expect(f.Scenarios[3].Steps[0]).To(MatchFields(IgnoreExtras, Fields{"Kind": Equal(scenarios.StepWait), "Duration": Equal(50 * time.Millisecond)}))
		Expect(f.Scenarios[3].Expect.API.Operations).To(Equal([]string{"updateCall"}))
		Expect(*f.Scenarios[0].Expect.BXMLWarnings).To(Equal(0))
	})
})
