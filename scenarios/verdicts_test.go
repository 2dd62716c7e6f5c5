package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/scenarios"
)

// Each verdict a run gives must be true: no pass from an app that is
// down, from nothing having happened, or from nothing having been run; no
// failure for a correct app that differs from the reference consumer.

// typeName is what a Go type looks like in a message ("satisfying
// *matchers.WithTransformMatcher", Gomega's "<int>: 3"): no failure a user
// reads may hold one.
var typeName = regexp.MustCompile(`\*[a-z]+\.[A-Z]\w*|<[\w.*\[\]]+( \| [^>]*)?>:`)

// plainWords fails when any failure message of the results names a Go type.
func plainWords(results ...*scenarios.Result) {
	GinkgoHelper()
	for _, r := range results {
		for _, f := range r.Failures {
			Expect(typeName.FindString(f.Message)).To(BeEmpty(), "%s: %s", f.Expectation, f.Message)
		}
		Expect(typeName.FindString(r.Error)).To(BeEmpty(), r.Error)
	}
}

// strictConsumer is a correct app that differs from the reference
// consumer in every allowed way: it closes the socket itself the moment
// it reads stop, answers GET webhooks 405, and answers any event its
// endpoint does not take (disconnect at /events, say) 400.
func strictConsumer() *consumer.Server {
	GinkgoHelper()
	return apptest.NewConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
}

// tlsHooks is an https:// webhook endpoint answering 204, with the PEM
// file of its certificate.
func tlsHooks() (url, caFile string) {
	GinkgoHelper()
	hooks := apptest.NewTLSHooks()
	return hooks.EventsURL(), hooks.CAFile()
}

var _ = Describe("verdicts", func() {
	Describe("an ending that is a fault of the app", func() {
		var ref *consumer.Server
		BeforeEach(func() { ref = newReference() })

		It("fails the scenario when nothing listens, whatever else expect says, and says so first", func(ctx SpecContext) {
			src := quick + `scenarios:
  - name: the app is down
    stream: {name: agent}
    steps: [{media: 60ms}, stopStream]
    expect:
      stopped: {cause: connection-error}
      webhooks: {status: 204, within: 1s}
`
			r := runOne(ctx, src, against(apptest.RefusedURL(), ref.EventsURL(), ref.DisconnectURL()))
			Expect(r.Status).To(Equal(scenarios.Failed))
			Expect(endings(r)).To(Equal([]ending{{emulator.EndConnectRefused, "mediaStreamStopped", "connection-error"}}))
			// The root cause alone: the stream's other expectations would
			// only repeat it.
			Expect(expectations(r)).To(Equal([]string{"expect.ending"}))
			f := failure(r, "expect.ending")
			Expect(f.Pos).To(at(lineOf(src, "- name: the app is down")))
			Expect(f.Message).To(HavePrefix(`Expected stream "agent"`))
			Expect(f.Message).To(ContainSubstring("ended with connect-refused, a fault of the app"))
			Expect(f.Message).To(ContainSubstring("expect.ending: connect-refused"), "it says how to expect it")
			plainWords(r)
		}, timeout)

		It("fails on an error close code, a missing close answer and a refused handshake alike", func(ctx SpecContext) {
			closer := apptest.NewWS(apptest.After(2, apptest.Close(4001, "unauthorized")))
			deaf := apptest.NewWS(apptest.IgnoreClose())
			refusing := apptest.NewWS(apptest.Refuse(http.StatusServiceUnavailable))
			src := quick + fmt.Sprintf(`scenarios:
  - name: app-close-code
    stream: {name: agent, destination: %q}
    pace: realtime
    steps: [{media: 2s}]
  - name: close-handshake-timeout
    stream: {name: agent, destination: %q}
    steps: [{media: 60ms}, stopStream]
  - name: handshake-status
    stream: {name: agent, destination: %q}
    steps: [{media: 60ms}]
`, closer.URL(), deaf.URL(), refusing.URL())
			results := runInline(ctx, src, against(ref.WebSocketURL(), ref.EventsURL(), ref.DisconnectURL()))
			for _, r := range results {
				Expect(r.Status).To(Equal(scenarios.Failed), r.Name)
				Expect(string(r.Streams[0].Result.Ending)).To(Equal(r.Name))
				Expect(expectations(r)).To(Equal([]string{"expect.ending"}), r.Name)
				Expect(failure(r, "expect.ending").Message).To(ContainSubstring("ended with "+r.Name+", a fault of the app"), r.Name)
			}
			plainWords(results...)
		}, timeout)

		It("passes when expect.ending names exactly that ending, and judges the rest of the stream", func(ctx SpecContext) {
			closer := apptest.NewWS(apptest.After(2, apptest.Close(4001, "unauthorized")))
			src := quick + `scenarios:
  - name: expected
    pace: realtime
    stream: {name: agent}
    steps: [{media: 2s}]
    expect:
      ending: app-close-code
      stopped: {cause: connection-error, errorMessage: code 4001}
      close: {by: app, code: 4001}
  - name: expected, but the rest is wrong
    pace: realtime
    stream: {name: agent}
    steps: [{media: 2s}]
    expect:
      ending: app-close-code
      close: {by: app, code: 4002}
  - name: another ending expected
    pace: realtime
    stream: {name: agent}
    steps: [{media: 2s}]
    expect:
      ending: {stream: agent, is: app-abnormal-close}
`
			results := runInline(ctx, src, against(closer.URL(), ref.EventsURL(), ref.DisconnectURL()))
			Expect(named(results, "expected")).To(passed())

			wrong := named(results, "expected, but the rest is wrong")
			Expect(expectations(wrong)).To(Equal([]string{"expect.close"}))
			Expect(failure(wrong, "expect.close").Message).To(ContainSubstring("code 4002"))

			other := named(results, "another ending expected")
			Expect(expectations(other)).To(Equal([]string{"expect.ending"}))
			f := failure(other, "expect.ending")
			Expect(f.Pos).To(at(lineOf(src, "ending: {stream: agent, is: app-abnormal-close}")))
			Expect(f.Message).To(ContainSubstring("have ended with app-abnormal-close"))
			Expect(f.Message).To(ContainSubstring("ended with app-close-code"))
			plainWords(results...)
		}, timeout)

		It("judges each stream on its own: the ending named for one stream does not excuse another", func(ctx SpecContext) {
			down := apptest.RefusedURL()
			// oneDown is a scenario whose second stream, late, is refused.
			oneDown := func(name, ending string) string {
				return fmt.Sprintf(`  - name: %s
    stream: {name: agent}
    steps:
      - media: 60ms
      - start: {name: late, destination: %q}
      - media: 60ms
    expect:
      ending: %s
`, name, down, ending)
			}
			src := quick + "scenarios:\n" +
				oneDown("one stream down, expected", "{stream: late, is: connect-refused}") +
				oneDown("one stream down, unexpected", "{stream: agent, is: hangup}")
			results := runInline(ctx, src, against(ref.WebSocketURL(), ref.EventsURL(), ref.DisconnectURL()))
			Expect(named(results, "one stream down, expected")).To(passed())
			r := named(results, "one stream down, unexpected")
			Expect(expectations(r)).To(Equal([]string{"expect.ending"}))
			Expect(failure(r, "expect.ending").Message).To(ContainSubstring(`stream "late"`))
		}, timeout)

		It("the loader checks expect.ending: a known ending (with a suggestion), is: given, a defined stream", func() {
			// expecting is a scenario that hangs up at once, expecting ending.
			expecting := func(name, ending string) string {
				return "  - name: " + name + "\n    stream: {name: agent}\n    steps: [hangup]\n    expect:\n      ending: " + ending + "\n"
			}
			src := "scenarios:\n" +
				expecting("a", "conect-refused") +
				expecting("b", "{stream: agent}") +
				expecting("c", "{stream: nope, is: hangup}")
			_, err := scenarios.Parse(inlineName, []byte(src))
			var errs scenarios.Errors
			Expect(errors.As(err, &errs)).To(BeTrue(), "%v", err)
			Expect(errs).To(HaveLen(3))
			Expect(errs[0].Pos.Line).To(Equal(lineOf(src, "ending: conect-refused")))
			Expect(errs[0].Msg).To(HavePrefix(`ending: "conect-refused" is not one of stop-stream, hangup, connect-refused`))
			Expect(errs[0].Msg).To(HaveSuffix(`(did you mean "connect-refused"?)`))
			Expect(errs[1].Pos.Line).To(Equal(lineOf(src, "ending: {stream: agent}")))
			Expect(errs[1].Msg).To(ContainSubstring(`ending: missing key "is"`))
			Expect(errs[2].Pos.Line).To(Equal(lineOf(src, "ending: {stream: nope, is: hangup}")))
			Expect(errs[2].Msg).To(ContainSubstring(`stream "nope" is not defined`))
		})
	})

	Describe("expectations that need webhooks", func() {
		It("are file errors at their place when the target has nowhere to send them", func(ctx SpecContext) {
			app := apptest.NewWS()
			src := quick + `target: {websocket: ` + app.URL() + `}
scenarios:
  - name: webhooks
    steps: [{media: 20ms}]
    expect:
      webhooks: {status: 2xx}
  - name: started
    steps: [{media: 20ms}]
    expect:
      started: true
  - name: disconnect
    steps: [{media: 20ms}]
    expect:
      disconnect: {cause: hangup}
`
			f := parseInline(src)
			_, err := scenarios.Run(ctx, []*scenarios.File{f}, scenarios.RunOptions{})
			var errs scenarios.Errors
			Expect(errors.As(err, &errs)).To(BeTrue(), "%v", err)
			Expect(app.Handshakes()).To(BeZero(), "nothing ran")
			Expect(errs).To(HaveLen(3))
			want := []struct{ needle, msg string }{
				{"webhooks: {status: 2xx}", "expect.webhooks needs target.events"},
				{"started: true", "expect.started needs target.events"},
				{"disconnect: {cause: hangup}", "expect.disconnect needs target.disconnect"},
			}
			for i, w := range want {
				Expect(errs[i].Pos.File).To(Equal(inlineName))
				Expect(errs[i].Pos.Line).To(Equal(lineOf(src, w.needle)))
				Expect(errs[i].Pos.Col).To(BeNumerically(">", 1))
				Expect(errs[i].Msg).To(HavePrefix(w.msg))
				Expect(errs[i].Line).To(ContainSubstring(w.needle), "the source line is shown")
			}
			Expect(err.Error()).To(MatchRegexp(`^inline\.yaml:\d+:\d+: expect\.webhooks needs target\.events`))

			By("Check says the same without running, and nothing once the options supply the URLs")
			Expect(scenarios.Check([]*scenarios.File{f}, scenarios.RunOptions{})).To(MatchError(err.Error()))
			Expect(scenarios.Check([]*scenarios.File{f}, scenarios.RunOptions{Events: "http://127.0.0.1:1/e", Disconnect: "http://127.0.0.1:1/d"})).To(Succeed())
			By("Check judges only the scenarios the run selects")
			Expect(scenarios.Check([]*scenarios.File{f}, scenarios.RunOptions{Skip: regexp.MustCompile(".")})).To(Succeed())
		}, timeout)

		It("are fine with no target at all: the built-in consumer takes events and disconnect", func(ctx SpecContext) {
			r := runOne(ctx, quick+`scenarios:
  - name: built-in
    steps: [{media: 20ms}]
    expect:
      started: true
      webhooks: {status: 204}
      disconnect: {cause: hangup}
`, scenarios.RunOptions{})
			Expect(r).To(passed())
			Expect(webhooks(r)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}))
			Expect(r.Webhooks[0].URL).To(HaveSuffix("/events"))
			Expect(r.Webhooks[2].URL).To(HaveSuffix("/disconnect"))
		}, timeout)

		It("fail at run time when they hold only because nothing was delivered", func(ctx SpecContext) {
			// The app's BXML starts a stream without a streamEventUrl, and
			// the target has no disconnect URL: no webhook at all.
			ref := newReference()
			bx := apptest.NewHooks(apptest.BXML(bxmlDoc(`<Response><StartStream name="agent" destination="` + ref.WebSocketURL() + `"/><Pause duration="0.2"/></Response>`)))
			src := quick + `target: {websocket: ` + ref.WebSocketURL() + `}
scenarios:
  - name: nothing delivered
    bxml: {url: ` + bx.URL("/start") + `}
    steps: [{media: {for: 40ms, stream: agent}}]
    expect:
      webhooks: {status: 204}
  - name: nothing delivered, nothing asked
    bxml: {url: ` + bx.URL("/start") + `}
    steps: [{media: {for: 40ms, stream: agent}}]
`
			results := runInline(ctx, src, scenarios.RunOptions{})
			r := named(results, "nothing delivered")
			Expect(webhooks(r)).To(Equal([]string{"initiate"}), "the BXML fetch only: no webhook to judge")
			Expect(expectations(r)).To(Equal([]string{"expect.webhooks.status"}))
			Expect(failure(r, "expect.webhooks.status").Message).To(HavePrefix("no webhook was delivered, so none was answered with 204"))
			Expect(named(results, "nothing delivered, nothing asked")).To(passed(), "nothing could be sent, and nothing was asked")
			plainWords(results...)
		}, timeout)

		It("fail at run time when the call's BXML started no stream, with the BXML's failure first", func(ctx SpecContext) {
			ref := newReference()
			src := quick + `target: {events: ` + ref.EventsURL() + `, disconnect: ` + ref.DisconnectURL() + `}
scenarios:
  - name: the BXML is not there
    bxml: {url: http://` + apptest.RefusedAddr() + `/voice}
    steps: [{wait: 20ms}]
    expect:
      started: true
      violations: 0
`
			r := runOne(ctx, src, scenarios.RunOptions{})
			Expect(expectations(r)).To(Equal([]string{"expect.violations", "expect.started"}))
			f := failure(r, "expect.started")
			Expect(f.Message).To(HavePrefix("the call's BXML failed: initiate webhook POST http://"))
			Expect(f.Message).To(HaveSuffix("so no stream was started"))
		}, timeout)
	})

	Describe("selection", func() {
		It("refuses a Focus or Skip that leaves nothing to run", func(ctx SpecContext) {
			f := parseInline(quick + "scenarios:\n  - name: a\n    steps: [hangup]\n  - name: b\n    steps: [hangup]\n")
			for _, o := range []scenarios.RunOptions{
				{Focus: regexp.MustCompile("zzz")},
				{Skip: regexp.MustCompile("^[ab]$")},
				{Focus: regexp.MustCompile("a"), Skip: regexp.MustCompile("a")},
			} {
				results, err := scenarios.Run(ctx, []*scenarios.File{f}, o)
				Expect(err).To(MatchError(scenarios.ErrNothingSelected))
				Expect(results).To(BeNil())
			}
		}, timeout)

		It("Skip skips the scenarios whose name matches", func(ctx SpecContext) {
			results := runInline(ctx, quick+"scenarios:\n  - name: keep me\n    steps: [{media: 20ms}]\n  - name: skip me\n    steps: [{media: 20ms}]\n",
				scenarios.RunOptions{Skip: regexp.MustCompile("skip")})
			Expect(statuses(results)).To(Equal(map[string]scenarios.Status{"keep me": scenarios.Passed, "skip me": scenarios.Skipped}))
		}, timeout)

		It("Repeat runs each scenario N times, each a result of its own; a flaky app fails the run", func(ctx SpecContext) {
			// The app refuses every third connection.
			ref := newReference()
			flaky := apptest.NewWS(apptest.Every(3, apptest.Close(4000, "flaky")))
			dir := filepath.Join(GinkgoT().TempDir(), "journals")
			opts := against(flaky.URL(), ref.EventsURL(), ref.DisconnectURL())
			opts.Repeat, opts.Parallel, opts.JournalDir = 3, 1, dir
			results := runInline(ctx, quick+"scenarios:\n  - name: one\n    steps: [{media: 40ms}]\n  - name: two\n    steps: [{media: 40ms}]\n", opts)
			Expect(results).To(HaveLen(6))
			var labels, got []string
			for _, r := range results {
				labels = append(labels, r.Label())
				got = append(got, string(r.Status))
				Expect(r.Repetitions).To(Equal(3))
				Expect(r.JournalFile).To(MatchRegexp(`-r%d\.jsonl$`, r.Repetition))
			}
			Expect(labels).To(Equal([]string{"one [1/3]", "one [2/3]", "one [3/3]", "two [1/3]", "two [2/3]", "two [3/3]"}))
			Expect(got).To(Equal([]string{"passed", "passed", "failed", "passed", "passed", "failed"}))
			Expect(scenarios.Summarize(results, 0).OK()).To(BeFalse())
			listing, err := os.ReadDir(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(listing).To(HaveLen(6))
		}, timeout)
	})

	Describe("disconnect routing", func() {
		It("sends disconnect to the disconnect URL only, and none when it is unset", func(ctx SpecContext) {
			app := strictConsumer()
			src := quick + `scenarios:
  - name: hangup
    steps: [{media: 40ms}, hangup]
`
			without := runOne(ctx, src, against(app.WebSocketURL(), app.EventsURL()))
			Expect(without).To(passed())
			Expect(webhooks(without)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped(closed)"}), "no disconnect URL: no disconnect")

			with := runOne(ctx, src, against(app.WebSocketURL(), app.EventsURL(), app.DisconnectURL()))
			Expect(with).To(passed())
			Expect(webhooks(with)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}))
			for _, d := range with.Webhooks {
				want := app.EventsURL()
				if d.Event.EventType == "disconnect" {
					want = app.DisconnectURL()
				}
				Expect(d.URL).To(Equal(want), d.Event.EventType)
				Expect(d.Status()).To(Equal(http.StatusNoContent))
			}
		}, timeout)

		It("sends disconnect with its own method, not the stream events'", func(ctx SpecContext) {
			hooks := apptest.NewHooks()
			ref := newReference()
			methods := func(src string) map[string]string {
				GinkgoHelper()
				before := len(hooks.Requests())
				r := runOne(ctx, src, scenarios.RunOptions{})
				Expect(r).To(passed())
				got := map[string]string{}
				for _, q := range hooks.Requests()[before:] {
					got[q.Event.EventType] = q.Method
				}
				return got
			}
			target := `target: {websocket: ` + ref.WebSocketURL() + `, events: ` + hooks.EventsURL() + `, disconnect: ` + hooks.URL("/disconnect") + `, eventMethod: GET`
			body := `}
scenarios:
  - name: hangup
    steps: [{media: 40ms}, hangup]
`
			Expect(methods(quick+target+body)).To(Equal(map[string]string{
				"mediaStreamStarted": http.MethodGet, "mediaStreamStopped": http.MethodGet, "disconnect": http.MethodPost,
			}), "eventMethod is StartStream's; the call's disconnectMethod defaults to POST")
			Expect(methods(quick + target + `, disconnectMethod: GET` + body)).To(HaveKeyWithValue("disconnect", http.MethodGet))
		}, timeout)

		It("does so for the calls of bxml: scenarios too", func(ctx SpecContext) {
			app := strictConsumer()
			bx := apptest.NewHooks(apptest.BXML(bxmlDoc(`<Response><StartStream name="agent" destination="` + app.WebSocketURL() + `" streamEventUrl="` + app.EventsURL() + `"/><Pause duration="0.2"/></Response>`)))
			src := quick + `target: {events: ` + app.EventsURL() + `}
scenarios:
  - name: bxml call
    bxml: {url: ` + bx.URL("/start") + `}
    steps: [{media: {for: 40ms, stream: agent}}]
`
			r := runOne(ctx, src, scenarios.RunOptions{})
			Expect(r).To(passed())
			Expect(webhooks(r)).To(Equal([]string{"initiate", "mediaStreamStarted", "mediaStreamStopped(closed)"}))
		}, timeout)
	})

	Describe("a correct app that differs from the reference consumer", func() {
		It("passes every applicable scenario of the example, every time", func(ctx SpecContext) {
			app := strictConsumer()
			f, err := scenarios.Load("../scenarios.example.yaml")
			Expect(err).NotTo(HaveOccurred())
			opts := against(app.WebSocketURL(), app.EventsURL(), app.DisconnectURL())
			opts.Repeat = 3
			results := runFiles(ctx, opts, f)
			Expect(results).To(HaveLen(3 * len(f.Scenarios)))
			for _, r := range results {
				Expect(r.Status).To(Equal(scenarios.Passed), "%s:\n%s", r.Label(), scenarios.FailureText(r))
			}
		}, SpecTimeout(60*time.Second))
	})

	It("waits at the end for every webhook the call still owes, however many, while each is answered inside the callbackTimeout", func(ctx SpecContext) {
		// Seven webhooks, one at a time, at 1s each: longer than a close
		// handshake and two callbackTimeouts, yet each answer is inside
		// the 2s callbackTimeout, which Bandwidth takes.
		hooks := apptest.NewHooks(apptest.Reply{Delay: time.Second})
		r := runOne(ctx, quick+`scenarios:
  - name: three streams, slow answers
    stream: {name: a}
    streams: [{name: b}, {name: c}]
    steps:
      - media: 20ms
    expect:
      webhooks: {status: 204}
`, against(apptest.NewWS().URL(), hooks.EventsURL(), hooks.EventsURL()))
		Expect(r).To(passed())
		Expect(r.Webhooks).To(HaveLen(7))
		for _, d := range r.Webhooks {
			Expect(d.Final().Latency).To(BeNumerically(">=", time.Second))
		}
	}, SpecTimeout(time.Minute))

	Describe("an interrupt", func() {
		It("during the final hangup cuts the webhooks still owed and reports interrupted", func(ctx SpecContext) {
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			// The stop's webhook interrupts the run and is never answered
			// inside the run's long callbackTimeout: only the interrupt
			// can end the hangup.
			hooks := apptest.NewHooks()
			hooks.AnswerWhen(func(q apptest.Request) bool { return q.What() == "mediaStreamStopped (closed)" },
				apptest.Reply{Hang: true, Do: func(apptest.Request) { cancel() }})
			results := runFiles(runCtx, scenarios.RunOptions{WebSocket: apptest.NewWS().URL(), Events: hooks.EventsURL(), Disconnect: hooks.EventsURL()},
				parseInline(quick+`scenarios:
  - name: hung at the end
    timeouts: {callback: 25s}
    stream: {name: agent}
    steps: [{media: 20ms}]
`))
			r := named(results, "hung at the end")
			Expect(r.Status).To(Equal(scenarios.Interrupted))
			Expect(hooks.EventTypes()).To(ContainElement("mediaStreamStopped"))
			for _, d := range r.Webhooks {
				if d.Final().Error != "" {
					Expect(d.Interrupted()).To(BeTrue(), d.Final().Error)
				}
			}
		}, SpecTimeout(15*time.Second))

		It("hangs up the live call within the grace, cuts unanswered webhooks, and reports interrupted, not a verdict", func(ctx SpecContext) {
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			// The app's webhooks answer long after the run should be over.
			hooks := apptest.NewHooks(apptest.Reply{Delay: 30 * time.Second})
			var mu sync.Mutex
			app := apptest.NewWS(apptest.After(1, apptest.Do(cancel)))
			src := quick + `scenarios:
  - name: long
    pace: realtime
    timeouts: {callback: 25s} # the app's slow answers are not late: the interrupt comes first
    stream: {name: agent}
    steps: [{media: 30s}]
  - name: never started
    steps: [{media: 20ms}]
`
			var cancelled time.Time
			go func() { <-runCtx.Done(); mu.Lock(); cancelled = time.Now(); mu.Unlock() }()
			results := runFiles(runCtx, scenarios.RunOptions{WebSocket: app.URL(), Events: hooks.EventsURL(), Disconnect: hooks.EventsURL(), Parallel: 1}, parseInline(src))
			mu.Lock()
			took := time.Since(cancelled)
			mu.Unlock()
			Expect(took).To(BeNumerically("<", emulator.InterruptGrace+time.Second), "the live call ended within the grace")

			long := named(results, "long")
			Expect(long.Status).To(Equal(scenarios.Interrupted))
			Expect(long.Failures).To(BeEmpty())
			Expect(long.Error).To(HavePrefix("interrupted"))
			Expect(long.Error).NotTo(ContainSubstring("context canceled"))
			never := named(results, "never started")
			Expect(never.Status).To(Equal(scenarios.Interrupted))
			Expect(never.Error).To(ContainSubstring("not run"))
			Expect(scenarios.Summarize(results, 0).Interrupted).To(Equal(2))

			By("the app saw the call end: stop, then a normal close")
			Expect(app.First()).To(apptest.HaveStartMediaStop())
			Expect(app.First().CloseCode).To(Equal(websocket.CloseNormalClosure))
			Expect(app.Handshakes()).To(Equal(1))
			By("the webhooks were sent, and those unanswered were cut off, not blamed")
			Expect(hooks.EventTypes()).To(ContainElement("mediaStreamStarted"))
			for _, d := range long.Webhooks {
				if d.Final().Error != "" {
					Expect(d.Interrupted()).To(BeTrue(), d.Final().Error)
				}
			}
			plainWords(results...)
		}, timeout)
	})

	Describe("ca:", func() {
		It("is trusted for https:// webhooks and https:// BXML fetches, not only wss://", func(ctx SpecContext) {
			ref := newReference()
			hooksURL, caFile := tlsHooks()
			bx := apptest.NewTLSHooks(apptest.BXML(bxmlDoc(`<Response><StartStream name="agent" destination="` + ref.WebSocketURL() + `" streamEventUrl="` + hooksURL + `"/><Pause duration="0.2"/></Response>`)))
			bxCA := bx.CAFile()

			file := func(ca string) string {
				t := fmt.Sprintf("target: {websocket: %q, events: %q, disconnect: %q", ref.WebSocketURL(), hooksURL, hooksURL)
				if ca != "" {
					t += fmt.Sprintf(", ca: %q", ca)
				}
				return t + "}\n" + quick + "scenarios:\n  - name: webhooks over https\n    steps: [{media: 20ms}]\n"
			}
			r := runOne(ctx, file(caFile), scenarios.RunOptions{})
			Expect(r).To(passed())
			Expect(webhooks(r)).To(HaveLen(3))

			By("without the CA the webhooks fail on the certificate, and the message says so")
			r = runOne(ctx, file(""), scenarios.RunOptions{})
			Expect(r.Status).To(Equal(scenarios.Failed))
			Expect(failure(r, "expect.webhooks.status").Message).To(ContainSubstring("x509"))

			By("a BXML fetch over https trusts the CA")
			src := fmt.Sprintf("target: {ca: %q}\n", bxCA) + quick + "scenarios:\n  - name: bxml over https\n    bxml: {url: " + bx.URL("/start") + "}\n    steps: [{media: {for: 20ms, stream: agent}}]\n"
			r = runOne(ctx, src, scenarios.RunOptions{})
			Expect(r.Status).NotTo(Equal(scenarios.Errored), r.Error)
			Expect(r.Streams).To(HaveLen(1), "the BXML was fetched and started its stream")

			By("without it, the run says the BXML fetch failed on the certificate")
			src = quick + "scenarios:\n  - name: bxml over https\n    bxml: {url: " + bx.URL("/start") + "}\n    steps: [{media: {for: 20ms, stream: agent}}]\n"
			r = runOne(ctx, src, scenarios.RunOptions{})
			Expect(r.Status).To(Equal(scenarios.Errored))
			Expect(r.Error).To(HavePrefix("the call's BXML failed: initiate webhook POST https://"))
			Expect(r.Error).To(ContainSubstring("x509"))
		}, timeout)

		It("RunOptions.CA overrides the file's, relative to the working directory", func(ctx SpecContext) {
			ref := newReference()
			hooksURL, caFile := tlsHooks()
			wd, err := os.Getwd()
			Expect(err).NotTo(HaveOccurred())
			rel, err := filepath.Rel(wd, caFile)
			Expect(err).NotTo(HaveOccurred())
			r := runOne(ctx, quick+"scenarios:\n  - name: x\n    steps: [{media: 20ms}]\n",
				scenarios.RunOptions{WebSocket: ref.WebSocketURL(), Events: hooksURL, CA: rel})
			Expect(r).To(passed())
		}, timeout)
	})

	Describe("failure messages", func() {
		It("speak the user's language: expect.disconnect and expect.violations name no Go type", func(ctx SpecContext) {
			ref := newReference()
			app := apptest.NewWS(apptest.Send(invalidPlayAudio, `not json`))
			src := quick + `scenarios:
  - name: wrong cause
    stream: {name: agent, destination: ` + ref.WebSocketURL() + `}
    steps: [{media: 20ms}, hangup]
    expect:
      disconnect: {cause: busy}
  - name: too many violations
    stream: {name: agent, mode: bidirectional}
    steps: [{media: 20ms}, stopStream]
    expect:
      violations: 1
`
			results := runInline(ctx, src, against(app.URL(), ref.EventsURL(), ref.DisconnectURL()))
			d := failure(named(results, "wrong cause"), "expect.disconnect")
			Expect(d.Message).To(HavePrefix("Expected the 3 webhook deliveries to have a disconnect webhook with cause busy, but "))
			Expect(d.Message).To(ContainSubstring("not with cause busy: it carried cause hangup"))
			v := failure(named(results, "too many violations"), "expect.violations")
			Expect(v.Message).To(MatchRegexp(`^Expected stream "agent" \(s-[^)]+\) to have at most 1 protocol violation from the app, but the app committed 2 protocol violations\n`))
			plainWords(results...)
		}, timeout)
	})
})
