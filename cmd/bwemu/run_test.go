package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
)

var _ = Describe("bwemu validate", func() {
	It("accepts the example file and counts its scenarios", func(ctx SpecContext) {
		out := validateCmd(ctx, exampleFile)
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(Equal("ok: " + exampleFile + " (12 scenarios)\n"))
		Expect(out.stderr).To(BeEmpty())
	}, timeout)

	It("reports every error of a file as FILE:LINE:COL with the source line and a caret", func(ctx SpecContext) {
		src := `scenarios:
  - name: one
    stream: {name: agent, colour: red}
    steps: [hangup]
  - name: two
    pace: slow
    steps:
      - media: forever
`
		path := scenarioFile("three-errors.yaml", src)
		out := validateCmd(ctx, path)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty(), "a bad file is not reported ok")

		srcLines := strings.Split(src, "\n")
		want := []struct {
			line, col int
			msg       string
		}{
			{3, 27, `unknown key "colour" in stream (want one of name, mode, tracks, params, destination, query, audio)`},
			{6, 11, `pace: "slow" is not one of realtime, fast`},
			{8, 16, `media: "forever" is not a duration`},
		}
		got := lines(out.stderr)
		Expect(got).To(HaveLen(3*len(want)), "three lines per error: headline, source line, caret")
		for i, w := range want {
			block := got[3*i : 3*i+3]
			Expect(block[0]).To(HavePrefix(fmt.Sprintf("%s:%d:%d: %s", path, w.line, w.col, w.msg)))
			Expect(block[1]).To(Equal("    " + srcLines[w.line-1]))
			Expect(block[2]).To(Equal("    " + strings.Repeat(" ", w.col-1) + "^"))
		}
	}, timeout)

	It("checks every file: a bad one fails the run but the good one is still reported ok", func(ctx SpecContext) {
		bad := scenarioFile("bad.yaml", "scenarios:\n  - name: a\n    steps: [hangupp]\n")
		good := scenarioFile("good.yaml", "scenarios:\n  - name: a\n    steps: [hangup]\n  - name: b\n    steps: [{media: 1s}]\n")
		out := validateCmd(ctx, bad, good)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(Equal("ok: " + good + " (2 scenarios)\n"))
		Expect(out.stdout).NotTo(ContainSubstring(bad))
		Expect(out.stderr).To(MatchRegexp(`(?m)^` + regexp.QuoteMeta(bad) + `:3:13: .*hangupp`))
		Expect(out.stderr).NotTo(ContainSubstring(good))
	}, timeout)

	It("asks for a file when given none", func(ctx SpecContext) {
		out := validateCmd(ctx)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		Expect(out.stderr).To(ContainSubstring("bwemu: no scenario file given\n"))
		Expect(out.stderr).To(ContainSubstring("usage: " + validateSynopsis + "\n"))
	}, timeout)

	It("fails on a file that does not exist", func(ctx SpecContext) {
		missing := filepath.Join(GinkgoT().TempDir(), "nope.yaml")
		out := validateCmd(ctx, missing)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		Expect(out.stderr).To(ContainSubstring(missing))
		Expect(out.stderr).To(ContainSubstring("no such file or directory"))
	}, timeout)

	It("prints its usage for --help", func(ctx SpecContext) {
		out := validateCmd(ctx, "--help")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(HavePrefix("usage: " + validateSynopsis + "\n"))
	}, timeout)
})

var _ = Describe("bwemu run against the built-in reference consumer", func() {
	It("passes every scenario of the example in seconds and reports them", func(ctx SpecContext) {
		began := time.Now()
		out := runCmd(ctx, exampleFile, "--pace", "fast")
		took := time.Since(began)
		Expect(out.code).To(Equal(exitPass))
		Expect(took).To(BeNumerically("<", 10*time.Second))

		By("the summary table lists all 12 scenarios, passed, in file order")
		Expect(out.stdout).To(HavePrefix("\nSCENARIO"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^SCENARIO +RESULT +TIME +FILE$`))
		at := -1
		for _, name := range exampleNames {
			Expect(out.stdout).To(MatchRegexp(tableRow(name, "PASSED", exampleFile)))
			i := strings.Index(out.stdout, "\n"+name+" ")
			Expect(i).To(BeNumerically(">", at), "%q is out of file order", name)
			at = i
		}
		Expect(out.stdout).NotTo(ContainSubstring("FAILED"))
		Expect(out.stdout).NotTo(ContainSubstring("SKIPPED"))
		Expect(out.stdout).To(MatchRegexp(`\nPASS: 12 passed, 0 failed, 0 errors, 0 skipped in \S+\n$`))

		By("stderr, not a terminal, has one plain [i/n] PASSED line per scenario")
		Expect(out.stderr).NotTo(ContainSubstring("\r"))
		Expect(out.stderr).NotTo(ContainSubstring("\033"))
		progress := lines(out.stderr)
		Expect(progress).To(HaveLen(12))
		var names []string
		for i, l := range progress {
			m := progressLine.FindStringSubmatch(l)
			Expect(m).NotTo(BeNil(), "progress line %q", l)
			Expect(m[1]).To(Equal(strconv.Itoa(i + 1)))
			Expect(m[2]).To(Equal("12"))
			Expect(m[3]).To(Equal("PASSED"))
			names = append(names, m[4])
		}
		// Scenarios run 4 at a time, so they finish in any order.
		Expect(names).To(ConsistOf(exampleNames))
	}, timeout)

	It("writes the JUnit and JSON reports and one journal per scenario", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		junit := filepath.Join(dir, "report.xml")
		jsonPath := filepath.Join(dir, "report.json")
		journals := filepath.Join(dir, "journals", "nested") // created by the run
		out := runCmd(ctx, "--junit", junit, exampleFile, "--pace", "fast", "--json", jsonPath, "--journal", journals)
		Expect(out.code).To(Equal(exitPass))

		By("--junit: well-formed XML with 12 passed testcases")
		doc := apptest.ReadJUnit(junit)
		Expect(doc.Tests).To(Equal(12))
		Expect(doc.Failures).To(BeZero())
		Expect(doc.Errors).To(BeZero())
		Expect(doc.Skipped).To(BeZero())
		Expect(doc.Suites).To(HaveLen(1))
		suite := doc.Suites[0]
		Expect(suite.Name).To(Equal(exampleFile))
		Expect(suite.Tests).To(Equal(12))
		_, err := time.Parse(time.RFC3339, suite.Timestamp)
		Expect(err).NotTo(HaveOccurred())
		Expect(suite.Cases).To(HaveLen(12))
		for i, c := range suite.Cases {
			Expect(c.Name).To(Equal(exampleNames[i]))
			Expect(c.Classname).To(Equal(exampleFile))
			Expect(c.File).To(Equal(exampleFile))
			Expect(c.Line).To(BeNumerically(">", 1))
			_, err := strconv.ParseFloat(c.Time, 64)
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Failure).To(BeNil())
			Expect(c.Error).To(BeNil())
			Expect(c.Skipped).To(BeNil())
			Expect(c.SystemOut).To(HavePrefix("journal: " + journals))
		}

		By("--json: the summary and every result with its webhook exchanges")
		rep := readJSONReport(jsonPath)
		Expect(rep.Summary.Total).To(Equal(12))
		Expect(rep.Summary.Passed).To(Equal(12))
		Expect(rep.Summary.DurationMs).To(BeNumerically(">", 0))
		Expect(rep.Results).To(HaveLen(12))
		for i, r := range rep.Results {
			Expect(r.Name).To(Equal(exampleNames[i]))
			Expect(r.File).To(Equal(exampleFile))
			Expect(r.Status).To(Equal("passed"))
			Expect(r.Pos).To(HavePrefix(exampleFile + ":"))
			Expect(r.Streams).NotTo(BeEmpty())
			Expect(r.Webhooks).NotTo(BeEmpty(), "%s has no webhooks", r.Name)
			var types []string
			for _, w := range r.Webhooks {
				Expect(w.Method).To(Equal(http.MethodPost))
				Expect(w.URL).To(MatchRegexp(`^http://127\.0\.0\.1:\d+/`))
				Expect(w.Event.CallID).NotTo(BeEmpty())
				Expect(w.Attempts).NotTo(BeEmpty())
				Expect(w.Attempts[len(w.Attempts)-1].Status).To(Equal(http.StatusNoContent))
				types = append(types, w.Event.EventType)
			}
			Expect(types).To(ContainElement("mediaStreamStarted"), r.Name)
			Expect(types).To(ContainElement("disconnect"), r.Name)
			Expect(r.Journal).To(HavePrefix(journals))
		}

		By("--journal: 12 JSON Lines files, one per scenario")
		entries, err := os.ReadDir(journals)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(12))
		for _, r := range rep.Results {
			Expect(r.Journal).To(BeAnExistingFile())
			Expect(filepath.Ext(r.Journal)).To(Equal(".jsonl"))
			js := journalLines(r.Journal)
			Expect(js).NotTo(BeEmpty())
			var kinds []any
			for _, e := range js {
				kinds = append(kinds, e["kind"])
			}
			Expect(kinds).To(ContainElement("webhook"), r.Journal)
		}
		for _, e := range entries {
			Expect(e.Name()).To(MatchRegexp(`^scenarios\.example-\d+-[A-Za-z0-9._-]+\.jsonl$`))
		}
	}, timeout)
})

var _ = Describe("bwemu run when the app misbehaves", func() {
	It("fails a scenario whose webhooks are answered 200, showing what was seen and the journal", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Status: http.StatusOK})
		const name = "the app answers webhooks 200"
		src := target(app.URL(), events.EventsURL(), events.DisconnectURL()) + fastDefaults + `scenarios:
  - name: ` + name + `
    steps:
      - media: 200ms
      - stopStream
    expect:
      stopped: {cause: closed}
`
		path := scenarioFile("webhooks.yaml", src)
		junit := filepath.Join(GinkgoT().TempDir(), "junit.xml")
		out := runCmd(ctx, path, "--junit", junit)
		Expect(out.code).To(Equal(exitFail))
		// The stream itself was fine: the webhooks are what failed.
		Expect(app.Handshakes()).To(Equal(1))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))

		By("the table and the failure block")
		Expect(out.stdout).To(MatchRegexp(tableRow(name, "FAILED", path)))
		scPos := fmt.Sprintf("%s:%d:5", path, lineOf(src, "- name: "+name))
		block := failureBlock(out.stdout, name)
		Expect(block).To(HavePrefix("--- FAILED: " + name + " (" + scPos + ")\n"))
		Expect(block).To(ContainSubstring("expect.webhooks.status"))
		Expect(block).To(ContainSubstring("answered with 204"))
		Expect(block).To(MatchRegexp(`mediaStreamStarted webhook was answered 200`))
		Expect(block).To(ContainSubstring("journal around it:"))
		Expect(block).To(MatchRegexp(`(?m)^    +\+\d+\.\d{3}ms  webhook `), "journal lines")
		Expect(block).To(MatchRegexp(`(?m)^    +\+\d+\.\d{3}ms  webhook +emulator +POST ` + regexp.QuoteMeta(events.EventsURL()) + ` → 200 in `))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 0 passed, 1 failed, 0 errors, 0 skipped in \S+\n$`))
		Expect(lines(out.stderr)).To(ConsistOf(MatchRegexp(`^\[1/1\] FAILED +` + regexp.QuoteMeta(name) + ` \(`)))

		By("the JUnit failure carries the message and the journal excerpt")
		doc := apptest.ReadJUnit(junit)
		Expect(doc.Failures).To(Equal(1))
		c := doc.Suites[0].Cases[0]
		Expect(c.Failure).NotTo(BeNil())
		Expect(c.Failure.Type).To(Equal("expectation"))
		Expect(c.Failure.Message).To(HavePrefix("expect.webhooks.status: "))
		Expect(c.Failure.Text).To(ContainSubstring("answered 200"))
		Expect(c.Failure.Text).To(ContainSubstring("\njournal:\n"))
		Expect(c.Failure.Text).To(MatchRegexp(`(?m)^ *\+\d+\.\d{3}ms  webhook `))
	}, timeout)

	// Call-level expectations (expect.webhooks.*, expect.disconnect) show
	// the end of the whole journal, the failing stream webhooks included.
	It("shows the failing stream webhooks in the journal excerpt of expect.webhooks.status", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Status: http.StatusOK})
		path := scenarioFile("webhooks.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+fastDefaults+`scenarios:
  - name: answered 200
    steps: [{media: 100ms}]
`)
		out := runCmd(ctx, path)
		Expect(out.code).To(Equal(exitFail))
		excerpt := failureBlock(out.stdout, "answered 200")
		excerpt = excerpt[strings.Index(excerpt, "journal around it:"):]
		Expect(strings.Count(excerpt, "→ 200 in")).To(Equal(3), "started, stopped and disconnect were all answered 200")
		Expect(excerpt).To(MatchRegexp(`(?m)^ +\+\d+\.\d{3}ms  handshake `))
	}, timeout)

	It("fails a scenario when the app closes with 4001, with the expectation's FILE:LINE:COL, the cause and the journal", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		events := apptest.NewHooks()
		const passing, failing = "the app's 4001 is a connection error", "the app keeps the stream"
		src := target(app.URL(), events.EventsURL()) + realtimeDefaults + `scenarios:
  - name: ` + passing + `
    steps:
      - media: 10s # ended by the app's close long before
    expect:
      ending: app-close-code # the app's fault, expected: the rest is judged
      stopped: {cause: connection-error, errorMessage: code 4001}
  - name: ` + failing + `
    steps:
      - media: 10s
    expect:
      ending: app-close-code
      stopped: {cause: closed}
`
		path := scenarioFile("close.yaml", src)
		dir := GinkgoT().TempDir()
		junit := filepath.Join(dir, "junit.xml")
		journals := filepath.Join(dir, "journals")
		out := runCmd(ctx, path, "--junit", junit, "--journal", journals)
		Expect(out.code).To(Equal(exitFail))
		Expect(app.Handshakes()).To(Equal(2))

		Expect(out.stdout).To(MatchRegexp(tableRow(passing, "PASSED", path)))
		Expect(out.stdout).To(MatchRegexp(tableRow(failing, "FAILED", path)))
		Expect(out.stdout).NotTo(ContainSubstring("--- FAILED: " + passing))

		stoppedPos := fmt.Sprintf("%s:%d:", path, lineOf(src, "stopped: {cause: closed}"))
		block := failureBlock(out.stdout, failing)
		Expect(block).To(HavePrefix(fmt.Sprintf("--- FAILED: %s (%s:%d:5)\n", failing, path, lineOf(src, "- name: "+failing))))
		Expect(block).To(MatchRegexp(`(?m)^` + regexp.QuoteMeta(stoppedPos) + `\d+: expect\.stopped$`))
		Expect(block).To(ContainSubstring("have stopped with cause closed"))
		Expect(block).To(ContainSubstring("cause connection-error"))
		Expect(block).To(ContainSubstring("4001"))
		Expect(block).To(ContainSubstring("journal of stream"), "the matcher message carries the stream's journal")
		Expect(block).To(MatchRegexp(`(?m)^    +\+\d+\.\d{3}ms  `))
		Expect(block).To(MatchRegexp(`(?m)^  full journal: ` + regexp.QuoteMeta(journals) + `/close-\d+-the-app-keeps-the-stream\.jsonl$`))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 1 passed, 1 failed, 0 errors, 0 skipped in \S+\n$`))

		doc := apptest.ReadJUnit(junit)
		Expect(doc.Tests).To(Equal(2))
		Expect(doc.Failures).To(Equal(1))
		cases := doc.Suites[0].Cases
		Expect(cases[0].Failure).To(BeNil())
		Expect(cases[1].Name).To(Equal(failing))
		Expect(cases[1].Failure).NotTo(BeNil())
		Expect(cases[1].Failure.Message).To(HavePrefix("expect.stopped: "))
		Expect(cases[1].Failure.Text).To(HavePrefix(stoppedPos))
		Expect(cases[1].Failure.Text).To(ContainSubstring("4001"))
		Expect(cases[1].Failure.Text).To(ContainSubstring("journal of stream"))
	}, timeout)

	It("--html writes one page, the failing scenario first, its failure drawn after the event it is about", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		events := apptest.NewHooks()
		const passing, failing = "the app's 4001 is a connection error", "the app keeps the stream"
		src := target(app.URL(), events.EventsURL()) + realtimeDefaults + `scenarios:
  - name: ` + passing + `
    steps: [{media: 10s}]
    expect:
      ending: app-close-code
  - name: ` + failing + `
    steps: [{media: 10s}]
    expect:
      ending: app-close-code
      stopped: {cause: closed}
`
		path := scenarioFile("close.yaml", src)
		dir := GinkgoT().TempDir()
		page := filepath.Join(dir, "report.html")
		out := runCmd(ctx, path, "--html", page, "--journal", filepath.Join(dir, "journals"))
		Expect(out.code).To(Equal(exitFail))

		r := readHTMLReport(page)
		Expect(r.title).To(Equal("bwemu run: FAIL"))
		Expect(r.cases).To(Equal([]string{failing, passing}))
		Expect(r.failures).To(HaveLen(1))
		Expect(r.failures[0].expectation).To(Equal("expect.stopped"))
		Expect(r.failures[0].text).To(ContainSubstring(fmt.Sprintf("%s:%d:", path, lineOf(src, "stopped: {cause: closed}"))))
		Expect(r.failures[0].about).To(ContainSubstring("mediaStreamStopped (connection-error)"), "drawn after the webhook it judged")
		Expect(r.links).To(ContainElement(MatchRegexp(`^\./journals/close-\d+-the-app-keeps-the-stream\.jsonl$`)), "the journal linked relative to the page")
	}, timeout)
})

// htmlReport is what a reader finds in an HTML report.
type htmlReport struct {
	title string
	// cases are the names of the cases, in page order.
	cases []string
	// failures are the failures drawn in the diagrams, in page order.
	failures []drawnFailure
	// links are the hrefs that lead out of the page.
	links []string
}

// drawnFailure is a failure in a diagram: its expectation, its text, and
// the text of the row drawn before it, the event it is about.
type drawnFailure struct{ expectation, text, about string }

// readHTMLReport parses the --html report at path.
func readHTMLReport(path string) htmlReport {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var r htmlReport
	texts := func(n *html.Node) string {
		var parts []string
		for _, t := range apptest.Elements(n, "text", "") {
			if t.FirstChild != nil {
				parts = append(parts, t.FirstChild.Data)
			}
		}
		return strings.Join(parts, " | ")
	}
	apptest.Walk(apptest.ParseHTML(raw), func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		attrs := map[string]string{}
		for _, a := range n.Attr {
			attrs[a.Key] = a.Val
		}
		switch {
		case n.Data == "title" && r.title == "":
			r.title = n.FirstChild.Data
		case n.Data == "span" && attrs["class"] == "name":
			r.cases = append(r.cases, n.FirstChild.Data)
		case n.Data == "g" && attrs["data-expectation"] != "":
			prev := n.PrevSibling
			for prev != nil && prev.Type != html.ElementNode {
				prev = prev.PrevSibling
			}
			Expect(prev).NotTo(BeNil(), "a failure follows the row it is about")
			r.failures = append(r.failures, drawnFailure{expectation: attrs["data-expectation"], text: texts(n), about: texts(prev)})
		case attrs["href"] != "" && !strings.HasPrefix(attrs["href"], "#"):
			r.links = append(r.links, attrs["href"])
		}
	})
	return r
}

var _ = Describe("bwemu run flags", func() {
	// targetless is a file with no target: it runs against the built-in
	// consumer unless --ws / --events point it elsewhere.
	const targetless = fastDefaults + `scenarios:
  - name: first
    steps:
      - media: 200ms
      - stopStream
    expect:
      stopped: {cause: closed}
  - name: second
    stream: {name: agent, params: {tenant: acme}}
    steps:
      - media: 200ms
      - hangup
    expect:
      disconnect: {cause: hangup}
`

	It("points a target-less file at the app with --ws and --events", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		path := scenarioFile("targetless.yaml", targetless)
		out := runCmd(ctx, path, "--ws", app.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL(), "--parallel", "1")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(MatchRegexp(tableRow("first", "PASSED", path)))
		Expect(out.stdout).To(MatchRegexp(tableRow("second", "PASSED", path)))
		Expect(app.Handshakes()).To(Equal(2))
		Expect(app.Streams()[1].StartJSON).To(HaveKeyWithValue("streamParams", map[string]any{"tenant": "acme"}), "the second scenario's stream")
		Expect(events.Whats()).To(Equal([]string{
			"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)",
			"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)",
		}))
	}, timeout)

	It("prints the advice on the app's BXML for a scenario that passes", func(ctx SpecContext) {
		ws := apptest.NewWS()
		app := apptest.NewHooks()
		app.Serve("/snake", `<Response><StartStream name="agent" destination="`+ws.URL()+`" destination_username="u" streamEventUrl="/events"/><Pause duration="0.2"/></Response>`)
		path := scenarioFile("snake.yaml", "target: {events: "+app.EventsURL()+", disconnect: "+app.DisconnectURL()+"}\n"+
			"defaults: {pace: fast}\nscenarios:\n  - name: snake case\n    bxml: {url: "+app.URL("/snake")+"}\n    steps: [waitForEnd: 2s]\n")
		out := runCmd(ctx, path)
		Expect(out.code).To(Equal(exitPass), out.stdout)
		Expect(out.stdout).To(MatchRegexp(tableRow("snake case", "PASSED", path)))
		Expect(out.stdout).To(MatchRegexp(`(?m)^--- ADVICE: snake case \(` + regexp.QuoteMeta(path) + `:\d+:\d+\)\n    .*destination_username`))
	}, timeout)

	It("--ws overrides a file's own target", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		path := scenarioFile("elsewhere.yaml", target(apptest.RefusedURL(), events.EventsURL(), events.DisconnectURL())+targetless)
		out := runCmd(ctx, path, "--ws", app.URL())
		Expect(out.code).To(Equal(exitPass))
		Expect(app.Handshakes()).To(Equal(2))
		Expect(events.Requests()).To(HaveLen(6))
	}, timeout)

	It("--focus runs only the matching scenarios and skips the others", func(ctx SpecContext) {
		out := runCmd(ctx, exampleFile, "--pace", "fast", "--focus", "reset")
		Expect(out.code).To(Equal(exitPass))
		focused := []string{"the network resets the connection", "the app accepts a new stream after a reset"}
		for _, name := range exampleNames {
			status := "SKIPPED"
			if name == focused[0] || name == focused[1] {
				status = "PASSED"
			}
			Expect(out.stdout).To(MatchRegexp(tableRow(name, status, exampleFile)))
		}
		Expect(out.stdout).To(MatchRegexp(`\nPASS: 2 passed, 0 failed, 0 errors, 10 skipped in \S+\n$`))
		var ran []string
		for _, l := range lines(out.stderr) {
			m := progressLine.FindStringSubmatch(l)
			Expect(m).NotTo(BeNil(), "progress line %q", l)
			Expect(m[3]).To(Equal("PASSED"))
			ran = append(ran, m[4])
		}
		Expect(ran).To(ConsistOf(focused))
	}, timeout)

	// failFastFile is a passing scenario, a failing one, then `skipped` more
	// scenarios, against an app that closes every stream with 4001.
	failFastFile := func(app *apptest.WS, events *apptest.Hooks, skipped int) string {
		GinkgoHelper()
		src := target(app.URL(), events.EventsURL()) + realtimeDefaults + `scenarios:
  - name: passes
    steps: [{media: 10s}]
    expect:
      ending: app-close-code
      stopped: {cause: connection-error}
  - name: fails
    steps: [{media: 10s}]
    expect:
      stopped: {cause: closed}
`
		for i := 1; i <= skipped; i++ {
			src += fmt.Sprintf("  - name: never runs %d\n    steps: [{media: 10s}]\n", i)
		}
		return scenarioFile("failfast.yaml", src)
	}

	It("--fail-fast --parallel 1 skips the scenario after the first failure", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		events := apptest.NewHooks()
		path := failFastFile(app, events, 1)
		out := runCmd(ctx, path, "--fail-fast", "--parallel", "1")
		Expect(out.code).To(Equal(exitFail))
		Expect(app.Handshakes()).To(Equal(2), "nothing started after the failure")
		Expect(out.stdout).To(MatchRegexp(tableRow("passes", "PASSED", path)))
		Expect(out.stdout).To(MatchRegexp(tableRow("fails", "FAILED", path)))
		Expect(out.stdout).To(MatchRegexp(tableRow("never runs 1", "SKIPPED", path)))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 1 passed, 1 failed, 0 errors, 1 skipped in \S+\n$`))
		Expect(lines(out.stderr)).To(HaveExactElements(
			MatchRegexp(`^\[1/3\] PASSED +passes \(`),
			MatchRegexp(`^\[2/3\] FAILED +fails \(`),
		))
	}, timeout)

	// A regression spec: scenarios.Run once kept the --parallel slot of every
	// scenario it skipped, so with more skipped scenarios than --parallel the
	// run blocked until interrupted (bounded here to 5s).
	It("--fail-fast --parallel 1 skips every scenario after the first failure, however many", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		events := apptest.NewHooks()
		path := failFastFile(app, events, 3)
		bounded, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		out := runCmd(bounded, path, "--fail-fast", "--parallel", "1")
		Expect(out.stderr).NotTo(ContainSubstring("interrupted"), "the run hung until the 5s bound")
		Expect(out.code).To(Equal(exitFail))
		Expect(app.Handshakes()).To(Equal(2))
		for i := 1; i <= 3; i++ {
			Expect(out.stdout).To(MatchRegexp(tableRow(fmt.Sprintf("never runs %d", i), "SKIPPED", path)))
		}
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 1 passed, 1 failed, 0 errors, 3 skipped in \S+\n$`))
	}, timeout)

	It("without --fail-fast runs every scenario after a failure", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		events := apptest.NewHooks()
		src := target(app.URL(), events.EventsURL()) + fastDefaults + `scenarios:
  - name: fails
    steps: [{media: 10s}]
    expect:
      stopped: {cause: closed}
  - name: still runs
    steps: [{media: 10s}]
    expect:
      ending: app-close-code
      stopped: {cause: connection-error}
`
		out := runCmd(ctx, scenarioFile("all.yaml", src), "--parallel", "1")
		Expect(out.code).To(Equal(exitFail))
		Expect(app.Handshakes()).To(Equal(2))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 1 passed, 1 failed, 0 errors, 0 skipped in \S+\n$`))
	}, timeout)

	It("--pace fast overrides a file's realtime pace", func(ctx SpecContext) {
		path := scenarioFile("slow.yaml", `defaults: {pace: realtime}
scenarios:
  - name: thirty seconds of audio
    steps: [{media: 30s}, hangup]
`)
		began := time.Now()
		out := runCmd(ctx, path, "--pace", "fast")
		Expect(out.code).To(Equal(exitPass))
		Expect(time.Since(began)).To(BeNumerically("<", 10*time.Second))
		Expect(out.stdout).To(MatchRegexp(tableRow("thirty seconds of audio", "PASSED", path)))
	}, timeout)

	It("runs several files: the table in file order, one JUnit testsuite per file", func(ctx SpecContext) {
		first := scenarioFile("first.yaml", targetless)
		second := scenarioFile("second.yaml", fastDefaults+"scenarios:\n  - name: third\n    steps: [{media: 100ms}]\n")
		junit := filepath.Join(GinkgoT().TempDir(), "junit.xml")
		out := runCmd(ctx, first, second, "--junit", junit)
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(MatchRegexp(`(?s)\nfirst +PASSED .*` + regexp.QuoteMeta(first) + `.*\nsecond +PASSED .*` + regexp.QuoteMeta(first) + `.*\nthird +PASSED .*` + regexp.QuoteMeta(second)))
		Expect(out.stdout).To(MatchRegexp(`\nPASS: 3 passed, 0 failed, 0 errors, 0 skipped in \S+\n$`))
		doc := apptest.ReadJUnit(junit)
		Expect(doc.Tests).To(Equal(3))
		Expect(doc.Suites).To(HaveLen(2))
		Expect(doc.Suites[0].Name).To(Equal(first))
		Expect(doc.Suites[0].Tests).To(Equal(2))
		Expect(doc.Suites[1].Name).To(Equal(second))
		Expect(doc.Suites[1].Tests).To(Equal(1))
	}, timeout)

	// A regression spec: journals are named BASE-LINE-NAME.jsonl, so two
	// files with the same base name in different directories once wrote the
	// same journal file.
	It("--journal keeps one journal per scenario when files share a base name", func(ctx SpecContext) {
		src := fastDefaults + "scenarios:\n  - name: x\n    steps: [{media: 100ms}]\n"
		a := scenarioFile("s.yaml", src)
		b := scenarioFile("s.yaml", src) // another temporary directory
		dir := GinkgoT().TempDir()
		journals := filepath.Join(dir, "journals")
		jsonPath := filepath.Join(dir, "report.json")
		out := runCmd(ctx, a, b, "--journal", journals, "--json", jsonPath)
		Expect(out.code).To(Equal(exitPass))
		entries, err := os.ReadDir(journals)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(2))
		rep := readJSONReport(jsonPath)
		Expect(rep.Results).To(HaveLen(2))
		Expect(rep.Results[0].Journal).NotTo(Equal(rep.Results[1].Journal))
		for _, r := range rep.Results {
			Expect(journalLines(r.Journal)).NotTo(BeEmpty())
		}
	}, timeout)

	It("writes plain progress lines to a stderr that is a file, not a terminal", func(ctx SpecContext) {
		path := scenarioFile("targetless.yaml", targetless)
		f, err := os.Create(filepath.Join(GinkgoT().TempDir(), "stderr.log"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Close)
		var stdout strings.Builder
		code := run(ctx, []string{"run", path}, &stdout, f)
		Expect(code).To(Equal(exitPass))
		raw, err := os.ReadFile(f.Name())
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring("\r"))
		Expect(string(raw)).NotTo(ContainSubstring("running:"))
		Expect(lines(string(raw))).To(ConsistOf(
			MatchRegexp(`^\[[12]/2\] PASSED  first \(`),
			MatchRegexp(`^\[[12]/2\] PASSED  second \(`),
		))
	}, timeout)

	// An interrupt says nothing about the app: exit 130, "interrupted" in
	// every report, never FAIL or exit 1. The live call still ends with its
	// webhooks, but no slow app holds the run past emulator.InterruptGrace.
	It("stops when interrupted: exit 130 within the grace, INTERRUPTED in the table, JUnit and JSON", func(ctx SpecContext) {
		interrupt, cancel := context.WithCancel(ctx)
		defer cancel()
		var cancelled atomic.Int64
		app := apptest.NewWS(apptest.Do(func() { cancelled.Store(time.Now().UnixNano()); cancel() }))
		events := apptest.NewHooks(apptest.Reply{Hang: true}) // answers no webhook before the callback timeout
		path := scenarioFile("long.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+`defaults: {pace: realtime}
scenarios:
  - name: a long call
    steps: [{media: 60s}]
  - name: never started
    steps: [{media: 1s}]
`)
		dir := GinkgoT().TempDir()
		junit, jsonPath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.json")
		out := runCmd(interrupt, path, "--parallel", "1", "--junit", junit, "--json", jsonPath)
		Expect(time.Since(time.Unix(0, cancelled.Load()))).To(BeNumerically("<", emulator.InterruptGrace+2*time.Second))
		Expect(out.code).To(Equal(exitInterrupted))
		Expect(out.stderr).To(HaveSuffix("bwemu: interrupted\n"))
		Expect(out.stdout).To(MatchRegexp(tableRow("a long call", "INTERRUPTED", path)))
		Expect(out.stdout).To(MatchRegexp(tableRow("never started", "INTERRUPTED", path)))
		Expect(out.stdout).NotTo(ContainSubstring("FAIL"))
		Expect(out.stdout).NotTo(ContainSubstring("context canceled"))
		Expect(out.stdout).To(MatchRegexp(`\nINTERRUPTED: 0 passed, 0 failed, 0 errors, 2 interrupted, 0 skipped in \S+\n$`))
		Expect(app.Handshakes()).To(Equal(1))

		doc := apptest.ReadJUnit(junit)
		Expect(doc.Failures).To(BeZero())
		Expect(doc.Suites[0].Cases).To(HaveLen(2))
		for _, c := range doc.Suites[0].Cases {
			Expect(c.Error).NotTo(BeNil(), c.Name)
			Expect(c.Error.Type).To(Equal("interrupted"))
			Expect(c.Error.Message).To(Equal("interrupted"))
		}
		rep := readJSONReport(jsonPath)
		Expect(rep.Summary.Interrupted).To(Equal(2))
		Expect(rep.Summary.Failed).To(BeZero())
		for _, r := range rep.Results {
			Expect(r.Status).To(Equal("interrupted"))
			Expect(r.Error).To(HavePrefix("interrupted"))
		}
	}, timeout)

	// An interrupt still ends the call: stop, close frame, mediaStreamStopped
	// and disconnect, as `bwemu stream` does.
	It("ends the call properly when interrupted, as bwemu stream does", func(ctx SpecContext) {
		interrupt, cancel := context.WithCancel(ctx)
		defer cancel()
		app := apptest.NewWS(apptest.Do(cancel))
		events := apptest.NewHooks()
		path := scenarioFile("long.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+`defaults: {pace: realtime}
scenarios:
  - name: a long call
    steps: [{media: 60s}]
`)
		out := runCmd(interrupt, path)
		Expect(out.code).To(Equal(exitInterrupted))
		Expect(out.stderr).To(HaveSuffix("bwemu: interrupted\n"))
		Expect(app.First().CloseCode).To(Equal(websocket.CloseNormalClosure))
		Expect(app.First()).To(apptest.HaveStartMediaStop())
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	Describe("bad usage or input: exit 2, nothing run", func() {
		var (
			app  *apptest.WS
			path string
		)
		BeforeEach(func() {
			app = apptest.NewWS()
			events := apptest.NewHooks()
			path = scenarioFile("app.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+targetless)
		})

		DescribeTable("rejects",
			func(ctx SpecContext, args func() []string, complaint string) {
				out := runCmd(ctx, args()...)
				Expect(out.code).To(Equal(exitUsage))
				Expect(out.stdout).To(BeEmpty())
				Expect(out.stderr).To(ContainSubstring(complaint))
				Expect(out.stderr).To(ContainSubstring("usage: " + runSynopsis + "\n"))
				Expect(app.Handshakes()).To(BeZero())
			},
			entry("no file", func() []string { return nil }, "bwemu: no scenario file given\n"),
			entry("--parallel 0", func() []string { return []string{path, "--parallel", "0"} }, "bwemu: --parallel must be at least 1\n"),
			entry("--parallel -3", func() []string { return []string{path, "--parallel", "-3"} }, "bwemu: --parallel must be at least 1\n"),
			entry("a bad --focus regex", func() []string { return []string{path, "--focus", "(unclosed"} }, "bwemu: --focus: error parsing regexp: missing closing ): `(unclosed`\n"),
			entry("a --focus that matches nothing", func() []string { return []string{path, "--focus", "zzz"} }, "bwemu: --focus: no scenario matches \"zzz\"\n"),
			entry("a --skip that matches everything", func() []string { return []string{path, "--skip", "."} }, "bwemu: --skip: every scenario matches \".\", so none is left to run\n"),
			entry("--focus and --skip that leave nothing", func() []string { return []string{path, "--focus", "first", "--skip", "fir"} }, "bwemu: --focus \"first\" and --skip \"fir\" leave no scenario to run\n"),
			entry("a bad --skip regex", func() []string { return []string{path, "--skip", "a(b"} }, "bwemu: --skip: error parsing regexp: missing closing ): `a(b`\n"),
			entry("--repeat 0", func() []string { return []string{path, "--repeat", "0"} }, "bwemu: --repeat must be at least 1\n"),
			entry("--disconnect ws://x", func() []string { return []string{path, "--disconnect", "ws://x"} }, `bwemu: --disconnect: "ws://x" is not an http:// or https:// URL`),
			entry("a --ca that is no certificate", func() []string { return []string{path, "--ca", path} }, "bwemu: --ca: "),
			entry("--ws http://x", func() []string { return []string{path, "--ws", "http://x"} }, `bwemu: --ws: "http://x" is not a ws:// or wss:// URL`),
			entry("--events ws://x", func() []string { return []string{path, "--events", "ws://x"} }, `bwemu: --events: "ws://x" is not an http:// or https:// URL`),
			entry("--pace slow", func() []string { return []string{path, "--pace", "slow"} }, "want one of realtime, fast"),
			entry("an unknown flag", func() []string { return []string{path, "--colour"} }, "flag provided but not defined: -colour"),
			entry("an unwritable --junit", func() []string { return []string{path, "--junit", "/nonexistent/x.xml"} }, "bwemu: --junit: open /nonexistent/x.xml: no such file or directory\n"),
			entry("an unwritable --json", func() []string { return []string{path, "--json", "/nonexistent/x.json"} }, "bwemu: --json: open /nonexistent/x.json: no such file or directory\n"),
			entry("an unwritable --html", func() []string { return []string{path, "--html", "/nonexistent/x.html"} }, "bwemu: --html: open /nonexistent/x.html: no such file or directory\n"),
		)

		It("rejects a broken scenario file with its FILE:LINE:COL errors and runs none of the files", func(ctx SpecContext) {
			src := "scenarios:\n  - name: a\n    steps:\n      - media: 1s\n      - hangupp\n  - name: b\n    tracks: both\n    steps: [hangup]\n"
			broken := scenarioFile("broken.yaml", src)
			junit := filepath.Join(GinkgoT().TempDir(), "junit.xml")
			out := runCmd(ctx, path, broken, "--junit", junit)
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stdout).To(BeEmpty(), "no table: nothing ran")
			Expect(app.Handshakes()).To(BeZero())
			got := lines(out.stderr)
			Expect(got).To(HaveLen(6))
			Expect(got[0]).To(HavePrefix(broken + ":5:9: "))
			Expect(got[0]).To(ContainSubstring("hangupp"))
			Expect(got[1]).To(Equal("          - hangupp"))
			Expect(got[2]).To(Equal("            ^"))
			Expect(got[3]).To(HavePrefix(broken + `:7:5: unknown key "tracks" in scenario`))
			Expect(got[4]).To(Equal("        tracks: both"))
			Expect(got[5]).To(Equal("        ^"))
		}, timeout)

		It("rejects an unusable --journal directory", func(ctx SpecContext) {
			out := runCmd(ctx, path, "--journal", "/dev/null/journals")
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stdout).To(BeEmpty())
			Expect(out.stderr).To(ContainSubstring("bwemu: --journal: mkdir /dev/null: not a directory"))
			Expect(app.Handshakes()).To(BeZero())
		}, timeout)

		It("rejects a file that does not exist", func(ctx SpecContext) {
			missing := filepath.Join(GinkgoT().TempDir(), "nope.yaml")
			out := runCmd(ctx, path, missing)
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stdout).To(BeEmpty())
			Expect(out.stderr).To(ContainSubstring(missing))
			Expect(out.stderr).To(ContainSubstring("no such file or directory"))
			Expect(app.Handshakes()).To(BeZero())
		}, timeout)
	})
})

var _ = Describe("bwemu run gives true verdicts", func() {
	It("fails an app that is down: exit 1, the stream's ending named as the app's fault", func(ctx SpecContext) {
		events := apptest.NewHooks()
		junit := filepath.Join(GinkgoT().TempDir(), "junit.xml")
		out := runCmd(ctx, exampleFile, "--ws", apptest.RefusedURL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL(), "--focus", "204", "--junit", junit)
		Expect(out.code).To(Equal(exitFail))
		const name = "every webhook is answered 204 within a second"
		Expect(out.stdout).To(MatchRegexp(tableRow(name, "FAILED", exampleFile)))
		block := failureBlock(out.stdout, name)
		Expect(block).To(MatchRegexp(`(?m)^` + regexp.QuoteMeta(exampleFile) + `:\d+:\d+: expect\.ending$`))
		Expect(block).To(ContainSubstring("ended with connect-refused, a fault of the app"))
		Expect(block).To(ContainSubstring("expect.ending: connect-refused"))
		Expect(block).NotTo(MatchRegexp(`\*\w+\.\w+Matcher`))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 0 passed, 1 failed, 0 errors, 11 skipped in \S+\n$`))
		doc := apptest.ReadJUnit(junit)
		Expect(doc.Failures).To(Equal(1))
	}, timeout)

	It("refuses, before running, an expectation about webhooks that could not be sent: exit 2 at FILE:LINE:COL", func(ctx SpecContext) {
		By("the example pointed at an app by --ws alone: no events URL for expect.webhooks")
		out := runCmd(ctx, exampleFile, "--ws", apptest.RefusedURL(), "--focus", "204")
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty(), "nothing ran")
		src, err := os.ReadFile(exampleFile)
		Expect(err).NotTo(HaveOccurred())
		line := lineOf(string(src), "webhooks: {status: 204, within: 1s}")
		got := lines(out.stderr)
		Expect(got).To(HaveLen(3))
		Expect(got[0]).To(MatchRegexp(`^` + regexp.QuoteMeta(fmt.Sprintf("%s:%d:", exampleFile, line)) + `\d+: expect\.webhooks needs target\.events`))
		Expect(got[0]).To(ContainSubstring("--events URL"))
		Expect(got[1]).To(ContainSubstring("webhooks: {status: 204, within: 1s}"))
		Expect(got[2]).To(MatchRegexp(`^ +\^$`))

		By("a file whose target has no disconnect URL, for expect.disconnect; validate says the same")
		app := apptest.NewWS()
		events := apptest.NewHooks()
		fileSrc := target(app.URL(), events.EventsURL()) + fastDefaults + `scenarios:
  - name: hangs up
    steps: [{media: 100ms}, hangup]
    expect:
      disconnect: {cause: hangup}
`
		path := scenarioFile("nodisconnect.yaml", fileSrc)
		for _, o := range []outcome{runCmd(ctx, path), validateCmd(ctx, path)} {
			Expect(o.code).To(Equal(exitUsage))
			Expect(o.stdout).To(BeEmpty())
			Expect(o.stderr).To(HavePrefix(fmt.Sprintf("%s:%d:", path, lineOf(fileSrc, "disconnect: {cause: hangup}"))))
			Expect(o.stderr).To(ContainSubstring("expect.disconnect needs target.disconnect"))
		}
		Expect(app.Handshakes()).To(BeZero())
		By("--disconnect supplies it")
		Expect(validateCmd(ctx, path, "--disconnect", events.DisconnectURL()).code).To(Equal(exitPass))
		out = runCmd(ctx, path, "--disconnect", events.DisconnectURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("passes a correct app that differs from the reference consumer, every time", func(ctx SpecContext) {
		app := apptest.NewConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
		out := runCmd(ctx, exampleFile, "--ws", app.WebSocketURL(), "--events", app.EventsURL(), "--disconnect", app.DisconnectURL(), "--pace", "fast", "--repeat", "3")
		Expect(out.code).To(Equal(exitPass), out.stdout)
		Expect(out.stdout).To(MatchRegexp(`\nPASS: 36 passed, 0 failed, 0 errors, 0 skipped in \S+\n$`))
	}, SpecTimeout(60*time.Second))

	It("--skip skips the matching scenarios; --repeat runs each N times and reports each repetition", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Every(2, apptest.Close(4000, "unauthorized"))) // every second stream is closed with 4000: a flaky app
		events := apptest.NewHooks()
		path := scenarioFile("repeat.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+fastDefaults+`scenarios:
  - name: alpha
    steps: [{media: 100ms}]
  - name: beta
    steps: [{media: 100ms}]
  - name: gamma
    steps: [{media: 100ms}]
`)
		dir := GinkgoT().TempDir()
		junit, jsonPath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.json")
		out := runCmd(ctx, path, "--skip", "^beta$", "--repeat", "2", "--parallel", "1", "--junit", junit, "--json", jsonPath)
		Expect(out.code).To(Equal(exitFail), "one repetition of each failed")
		Expect(app.Handshakes()).To(Equal(4))
		for _, row := range []struct{ name, status string }{
			{"alpha [1/2]", "PASSED"}, {"alpha [2/2]", "FAILED"}, {"beta", "SKIPPED"}, {"gamma [1/2]", "PASSED"}, {"gamma [2/2]", "FAILED"},
		} {
			Expect(out.stdout).To(MatchRegexp(tableRow(row.name, row.status, path)))
		}
		Expect(failureBlock(out.stdout, "alpha [2/2]")).To(ContainSubstring("app-close-code"))
		Expect(out.stdout).To(MatchRegexp(`\nFAIL: 2 passed, 2 failed, 0 errors, 1 skipped in \S+\n$`))
		Expect(lines(out.stderr)).To(HaveExactElements(
			MatchRegexp(`^\[1/4\] PASSED +alpha \[1/2\] \(`), MatchRegexp(`^\[2/4\] FAILED +alpha \[2/2\] \(`),
			MatchRegexp(`^\[3/4\] PASSED +gamma \[1/2\] \(`), MatchRegexp(`^\[4/4\] FAILED +gamma \[2/2\] \(`),
		))

		doc := apptest.ReadJUnit(junit)
		var names []string
		for _, c := range doc.Suites[0].Cases {
			names = append(names, c.Name)
		}
		Expect(names).To(Equal([]string{"alpha [1/2]", "alpha [2/2]", "beta", "gamma [1/2]", "gamma [2/2]"}))
		Expect(doc.Failures).To(Equal(2))
		rep := readJSONReport(jsonPath)
		Expect(rep.Results).To(HaveLen(5))
		Expect(rep.Results[1].Name).To(Equal("alpha"))
		Expect([]int{rep.Results[1].Repetition, rep.Results[1].Repetitions}).To(Equal([]int{2, 2}))
		Expect([]int{rep.Results[2].Repetition, rep.Results[2].Repetitions}).To(Equal([]int{0, 0}), "a skipped scenario is not repeated")
	}, timeout)

	It("--ca trusts the CA for https:// webhooks", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewTLSHooks()
		caFile := events.CAFile()
		path := scenarioFile("tls.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+fastDefaults+"scenarios:\n  - name: over https\n    steps: [{media: 100ms}]\n")
		out := runCmd(ctx, path, "--ca", caFile)
		Expect(out.code).To(Equal(exitPass), out.stdout)
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		out = runCmd(ctx, path)
		Expect(out.code).To(Equal(exitFail))
		Expect(failureBlock(out.stdout, "over https")).To(ContainSubstring("x509"))
	}, timeout)
})

// failureBlock is the "--- FAILED: name" account in stdout, up to the next
// block or the verdict line.
func failureBlock(stdout, name string) string {
	GinkgoHelper()
	head := "--- FAILED: " + name + " ("
	i := strings.Index(stdout, head)
	Expect(i).To(BeNumerically(">=", 0), "no %q block in stdout", head)
	rest := stdout[i:]
	end := len(rest)
	for _, stop := range []string{"\n\n--- ", "\nPASS: ", "\nFAIL: "} {
		if j := strings.Index(rest, stop); j >= 0 && j < end {
			end = j
		}
	}
	return rest[:end+1]
}
