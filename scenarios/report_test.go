package scenarios_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/scenarios"
)

// The JSON report as a consumer reads it, by the documented field names.
type (
	jsonAttempt struct {
		Status    int     `json:"status"`
		LatencyMs float64 `json:"latencyMs"`
		Error     string  `json:"error"`
	}
	jsonDelivery struct {
		Event struct {
			EventType string `json:"eventType"`
			Cause     string `json:"cause"`
			CallID    string `json:"callId"`
		} `json:"event"`
		Method   string        `json:"method"`
		URL      string        `json:"url"`
		Copy     int           `json:"copy"`
		Attempts []jsonAttempt `json:"attempts"`
	}
	jsonResult struct {
		File       string              `json:"file"`
		Name       string              `json:"name"`
		Pos        string              `json:"pos"`
		Status     string              `json:"status"`
		DurationMs float64             `json:"durationMs"`
		Failures   []scenarios.Failure `json:"failures"`
		Error      string              `json:"error"`
		Streams    []struct {
			Name   string `json:"name"`
			ID     string `json:"id"`
			Result struct {
				Ending string `json:"ending"`
				Event  string `json:"event"`
				Cause  string `json:"cause"`
			} `json:"result"`
		} `json:"streams"`
		Webhooks []jsonDelivery `json:"webhooks"`
		Journal  string         `json:"journal"`
	}
	jsonReport struct {
		Summary struct {
			Total, Passed, Failed, Errors, Skipped, Interrupted int
			DurationMs                                          float64
		} `json:"summary"`
		Results []jsonResult `json:"results"`
	}
)

var _ = Describe("reports", func() {
	// src has a scenario of every status: passed, failed (twice over),
	// skipped (by Focus) and error (the run broke).
	const src = quick + `scenarios:
  - name: passes
    stream: {name: agent}
    steps: [{media: 40ms}, stopStream]
  - name: fails <twice> & "loudly"
    stream: {name: agent}
    steps: [{media: 40ms}, error]
    expect:
      stopped: {cause: closed}
      close: {by: app}
  - name: not focused
    stream: {name: agent}
    steps: [{media: 40ms}]
  - name: breaks
    stream: {name: agent}
    steps: [hangup, {start: {name: late}}]
`
	const other = quick + `scenarios:
  - name: passes too
    stream: {name: agent}
    steps: [{media: 20ms}]
`
	var (
		results []*scenarios.Result
		took    time.Duration
		started time.Time
	)
	BeforeEach(func(ctx SpecContext) {
		ref := newReference()
		opts := against(ref.WebSocketURL(), ref.EventsURL(), ref.DisconnectURL())
		opts.Focus = regexp.MustCompile(`^(passes|fails|breaks)`)
		started = time.Now()
		results = runFiles(ctx, opts, parseInline(src), parseAs("other.yaml", other))
		took = time.Since(started)
		Expect(statuses(results)).To(Equal(map[string]scenarios.Status{
			"passes": scenarios.Passed, `fails <twice> & "loudly"`: scenarios.Failed,
			"not focused": scenarios.Skipped, "breaks": scenarios.Errored, "passes too": scenarios.Passed,
		}))
	}, NodeTimeout(20*time.Second))

	failed := func() *scenarios.Result {
		GinkgoHelper()
		return named(results, `fails <twice> & "loudly"`)
	}

	It("Summarize counts them", func() {
		s := scenarios.Summarize(results, took)
		Expect(s).To(Equal(scenarios.Summary{Total: 5, Passed: 2, Failed: 1, Errors: 1, Skipped: 1, Duration: took}))
		Expect(s.OK()).To(BeFalse())
		Expect(scenarios.Summarize(results[:1], took).OK()).To(BeTrue())
	})

	It("WriteJUnit writes valid JUnit XML: a suite per file, a case per scenario", func(ctx SpecContext) {
		var buf bytes.Buffer
		Expect(scenarios.WriteJUnit(&buf, results, took, started)).To(Succeed())
		doc := apptest.DecodeJUnit(buf.Bytes())
		Expect(doc.XMLName.Local).To(Equal("testsuites"))
		Expect(doc.Name).To(Equal("bwemu"))
		Expect([]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped}).To(Equal([]int{5, 1, 1, 1}))
		Expect(strconv.ParseFloat(doc.Time, 64)).To(BeNumerically("~", took.Seconds(), 0.001))
		Expect(doc.Suites).To(HaveLen(2))

		inline, second := doc.Suites[0], doc.Suites[1]
		Expect(inline.Name).To(Equal(inlineName))
		Expect([]int{inline.Tests, inline.Failures, inline.Errors, inline.Skipped}).To(Equal([]int{4, 1, 1, 1}))
		Expect(second.Name).To(Equal("other.yaml"))
		Expect([]int{second.Tests, second.Failures, second.Errors, second.Skipped}).To(Equal([]int{1, 0, 0, 0}))
		stamp, err := time.Parse(time.RFC3339, inline.Timestamp)
		Expect(err).NotTo(HaveOccurred())
		Expect(stamp).To(BeTemporally("~", started, time.Second))

		Expect(inline.Cases).To(HaveLen(4))
		for i, c := range append(inline.Cases, second.Cases...) {
			r := results[i]
			Expect(c.Name).To(Equal(r.Name))
			Expect(c.Classname).To(Equal(r.File))
			Expect(c.File).To(Equal(r.File))
			Expect(c.Line).To(Equal(r.Scenario.Pos.Line))
			secs, err := strconv.ParseFloat(c.Time, 64)
			Expect(err).NotTo(HaveOccurred())
			Expect(secs).To(BeNumerically("~", r.Duration.Seconds(), 0.001))
		}
		pass, fail, skip, broken := inline.Cases[0], inline.Cases[1], inline.Cases[2], inline.Cases[3]
		Expect(pass.Failure).To(BeNil())
		Expect(pass.Error).To(BeNil())
		Expect(pass.Skipped).To(BeNil())

		Expect(fail.Name).To(Equal(`fails <twice> & "loudly"`), "escaped and read back")
		Expect(fail.Failure).NotTo(BeNil())
		Expect(fail.Error).To(BeNil())
		Expect(fail.Failure.Type).To(Equal("expectation"))
		Expect(fail.Failure.Message).To(HavePrefix("expect.stopped: Expected stream \"agent\""))
		Expect(fail.Failure.Message).NotTo(ContainSubstring("\n"), "the message is the headline")
		for _, f := range failed().Failures {
			Expect(fail.Failure.Text).To(ContainSubstring(f.Pos + ": " + f.Expectation + "\n" + f.Message))
			// Stream matchers carry the stream's journal in their message;
			// the excerpt is not repeated after it.
			Expect(f.Message).To(ContainSubstring("journal of stream"))
			Expect(fail.Failure.Text).NotTo(ContainSubstring("journal:\n" + f.Excerpt))
		}
		Expect(fail.Failure.Text).To(ContainSubstring("close frame sent: code 1011"), "the journal excerpt")

		Expect(skip.Skipped).NotTo(BeNil())
		Expect(skip.Skipped.Message).To(Equal("not run"))
		Expect(skip.Failure).To(BeNil())

		Expect(broken.Error).NotTo(BeNil())
		Expect(broken.Error.Message).To(ContainSubstring("call has ended"))
		Expect(broken.Error.Text).To(Equal(named(results, "breaks").Error))
		Expect(broken.Failure).To(BeNil())
	})

	It("WriteJUnit names each case's journal file", func(ctx SpecContext) {
		ref := newReference()
		opts := against(ref.WebSocketURL(), ref.EventsURL())
		opts.JournalDir = GinkgoT().TempDir()
		rs := runFiles(ctx, opts, parseAs("other.yaml", other))
		var buf bytes.Buffer
		Expect(scenarios.WriteJUnit(&buf, rs, time.Second, time.Now())).To(Succeed())
		doc := apptest.DecodeJUnit(buf.Bytes())
		Expect(doc.Suites[0].Cases[0].SystemOut).To(Equal("journal: " + rs[0].JournalFile))
	}, timeout)

	It("WriteJUnit keeps the XML well-formed whatever the messages hold", func(ctx SpecContext) {
		nasty := "ends ]]> here & <now>\x1b[31m red \x00 nul \ufffe"
		rs := []*scenarios.Result{{
			File: "x.yaml", Name: nasty, Status: scenarios.Failed,
			Failures: []scenarios.Failure{{Expectation: "expect.stopped", Pos: "x.yaml:3:5", Message: nasty, Excerpt: nasty}},
		}, {
			File: "x.yaml", Name: "broke", Status: scenarios.Errored, Error: nasty,
		}}
		var buf bytes.Buffer
		Expect(scenarios.WriteJUnit(&buf, rs, time.Second, time.Now())).To(Succeed())
		doc := apptest.DecodeJUnit(buf.Bytes())
		c := doc.Suites[0].Cases[0]
		Expect(c.Name).To(ContainSubstring("ends ]]> here & <now>"))
		Expect(c.Failure.Text).To(ContainSubstring("ends ]]> here & <now>"))
		Expect(doc.Suites[0].Cases[1].Error.Message).To(ContainSubstring("ends ]]> here & <now>"))
	})

	It("WriteJSON writes the summary and every result with its webhook exchanges", func() {
		var buf bytes.Buffer
		Expect(scenarios.WriteJSON(&buf, results, took)).To(Succeed())
		var doc jsonReport
		Expect(json.Unmarshal(buf.Bytes(), &doc)).To(Succeed())
		sum := scenarios.Summarize(results, took)
		Expect(doc.Summary.Total).To(Equal(sum.Total))
		Expect(doc.Summary.Passed).To(Equal(sum.Passed))
		Expect(doc.Summary.Failed).To(Equal(sum.Failed))
		Expect(doc.Summary.DurationMs).To(BeNumerically("~", ms(sum.Duration), 1e-6), "durations in milliseconds, the unit in the key")
		Expect(doc.Results).To(HaveLen(len(results)))
		for i, jr := range doc.Results {
			r := results[i]
			Expect(jr.Name).To(Equal(r.Name))
			Expect(jr.File).To(Equal(r.File))
			Expect(jr.Pos).To(Equal(r.Pos))
			Expect(jr.Status).To(Equal(string(r.Status)))
			Expect(jr.DurationMs).To(BeNumerically("~", ms(r.Duration), 1e-6))
			Expect(jr.Error).To(Equal(r.Error))
			Expect(jr.Failures).To(Equal(r.Failures))
			Expect(jr.Streams).To(HaveLen(len(r.Streams)))
			Expect(jr.Webhooks).To(HaveLen(len(r.Webhooks)))
			for j, d := range jr.Webhooks {
				want := r.Webhooks[j]
				Expect(d.Event.EventType).To(Equal(want.Event.EventType))
				Expect(d.Event.Cause).To(Equal(want.Event.Cause))
				Expect(d.Method).To(Equal("POST"))
				Expect(d.Copy).To(Equal(1))
				Expect(d.Attempts).To(HaveLen(1))
				Expect(d.Attempts[0].Status).To(Equal(204))
				Expect(d.Attempts[0].LatencyMs).To(BeNumerically(">", 0))
				Expect(d.Attempts[0].LatencyMs).To(BeNumerically("~", ms(want.Final().Latency), 1e-6))
			}
		}
		pass := doc.Results[0]
		Expect(pass.Streams[0].Result.Ending).To(Equal("stop-stream"))
		var events []string
		for _, d := range pass.Webhooks {
			events = append(events, d.Event.EventType)
		}
		Expect(events).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped", "disconnect"}))
		Expect(pass.Webhooks[0].Event.CallID).To(HavePrefix("c-"))

		fail := doc.Results[1]
		Expect(fail.Failures).To(HaveLen(2))
		Expect(fail.Failures[0].Expectation).To(Equal("expect.stopped"))
		Expect(fail.Failures[0].Pos).To(at(lineOf(src, "stopped: {cause: closed}")))
		Expect(fail.Failures[0].Excerpt).NotTo(BeEmpty())
		Expect(fail.Failures[1].Expectation).To(Equal("expect.close"))
		Expect(fail.Failures[1].Pos).To(at(lineOf(src, "close: {by: app}")))

		Expect(doc.Results[2].Webhooks).To(BeEmpty(), "a skipped scenario has none")
		Expect(doc.Results[2].Streams).To(BeEmpty())
		Expect(doc.Results[3].Error).To(ContainSubstring("call has ended"))

		// The raw names, as documented.
		Expect(buf.String()).To(ContainSubstring(`"latencyMs"`))
		Expect(buf.String()).To(ContainSubstring(`"durationMs"`))
		Expect(buf.String()).NotTo(MatchRegexp(`"\w+Ns":`), "no duration in nanoseconds")
		Expect(buf.String()).NotTo(ContainSubstring(`"Journal"`), "the in-memory journal stays out")
	})

	It("FailureText shows each expectation, its message and the journal around it", func() {
		r := failed()
		text := scenarios.FailureText(r)
		Expect(r.Failures).To(HaveLen(2))
		var want strings.Builder
		for _, f := range r.Failures {
			want.WriteString(f.Pos + ": " + f.Expectation + "\n")
			for _, l := range strings.Split(strings.TrimRight(f.Message, "\n"), "\n") {
				want.WriteString("    " + l + "\n")
			}
			if !strings.Contains(f.Message, "journal of stream") {
				want.WriteString("  journal around it:\n")
				for _, l := range strings.Split(strings.TrimRight(f.Excerpt, "\n"), "\n") {
					want.WriteString("    " + l + "\n")
				}
			}
		}
		Expect(text).To(Equal(want.String()))
		Expect(text).To(MatchRegexp(`(?m)^inline\.yaml:%d:\d+: expect\.stopped\n    Expected stream "agent" \(s-[^)]+\) to have stopped with cause closed, but it ended as mediaStreamStopped with cause error`,
			lineOf(src, "stopped: {cause: closed}")))
		Expect(text).To(MatchRegexp(`(?m)^inline\.yaml:%d:\d+: expect\.close\n`, lineOf(src, "close: {by: app}")))
		Expect(text).To(MatchRegexp(`(?m)^    \s*\+\d+\.\d+ms  close      emulator  close frame sent: code 1011`))

		broken := named(results, "breaks")
		Expect(scenarios.FailureText(broken)).To(Equal("error: " + broken.Error + "\n"))
		Expect(scenarios.FailureText(named(results, "passes"))).To(BeEmpty())
	})
})

var _ = Describe("the JSON report's secrets", func() {
	It("never carries a password from a webhook URL", func(ctx SpecContext) {
		app := newReference()
		events := strings.Replace(app.EventsURL(), "http://", "http://hooks:url-secret@", 1)
		f := parseInline(quick + `
target:
  websocket: ` + app.WebSocketURL() + `
  events: ` + events + `
scenarios:
  - name: one stream
    steps:
      - media: 40ms
`)
		results := runFiles(ctx, scenarios.RunOptions{}, f)
		Expect(results[0].Status).To(Equal(scenarios.Passed))
		var buf bytes.Buffer
		Expect(scenarios.WriteJSON(&buf, results, time.Second)).To(Succeed())
		Expect(buf.String()).To(ContainSubstring("hooks:%5Bredacted%5D@"), "the webhooks are in the report")
		Expect(buf.String()).NotTo(ContainSubstring("url-secret"))
	})
})

var _ = Describe("a voice agent's turns in the reports", func() {
	// conversation is a result of a conversation on a recorded stream:
	// one turn answered, one not, two that interrupted the app.
	conversation := func(status scenarios.Status) *scenarios.Result {
		return &scenarios.Result{
			File: "agent.yaml", Name: "converses", Status: status, JournalFile: "journals/agent-3-converses.jsonl",
			Failures: []scenarios.Failure{{Expectation: "expect.reply", Pos: "agent.yaml:9:14", Message: "Expected stream \"agent\" to have been answered within 500ms of each turn"}},
			Streams: []scenarios.StreamRun{{Name: "agent", ID: "s-1", Result: &emulator.StreamResult{
				Turns: []emulator.Turn{
					{Replied: true, Latency: 240 * time.Millisecond, Played: time.Second},
					{Listened: 1500 * time.Millisecond},
					{Replied: true, Latency: 1234567 * time.Microsecond, Played: 300 * time.Millisecond, BargeIn: true, Stopped: true, StoppedAfter: 180 * time.Millisecond},
					{BargeIn: true, Listened: 400 * time.Millisecond},
				},
				Recording: &emulator.Recording{HeardFile: "rec/agent-s-1-heard.wav", SaidFile: "rec/agent-s-1-said.wav"},
			}}, {Name: "side", ID: "s-2", Result: &emulator.StreamResult{
				Recording: &emulator.Recording{Error: "recording: permission denied"},
			}}, {Name: "never", ID: "s-3"}},
		}
	}

	It("WriteJUnit lists each turn's response latency and the recordings in system-out, and the recordings in the failure", func() {
		var buf bytes.Buffer
		Expect(scenarios.WriteJUnit(&buf, []*scenarios.Result{conversation(scenarios.Failed)}, time.Second, time.Now())).To(Succeed())
		c := apptest.DecodeJUnit(buf.Bytes()).Cases()[0]
		Expect(c.SystemOut).To(Equal(`journal: journals/agent-3-converses.jsonl
stream "agent" turn 1: replied after 240ms, played 1s
stream "agent" turn 2: no reply in the 1.5s the caller listened
stream "agent" turn 3: replied after 1.235s, played 300ms; the caller interrupted the app, which stopped after 180ms
stream "agent" turn 4: no reply in the 400ms the caller listened; the caller interrupted the app, which talked on
stream "agent" recorded: heard rec/agent-s-1-heard.wav, said rec/agent-s-1-said.wav
stream "side" was not recorded to files: recording: permission denied`))
		Expect(c.Failure.Text).To(HaveSuffix(`
recordings (what the caller heard and said):
  stream "agent" recorded: heard rec/agent-s-1-heard.wav, said rec/agent-s-1-said.wav
  stream "side" was not recorded to files: recording: permission denied
`))
	})

	It("FailureText ends with the recordings of a failed or broken scenario, to listen to", func() {
		recordings := func(indent string) string {
			return "recordings (what the caller heard and said):\n" +
				indent + `stream "agent" recorded: heard rec/agent-s-1-heard.wav, said rec/agent-s-1-said.wav` + "\n" +
				indent + `stream "side" was not recorded to files: recording: permission denied` + "\n"
		}
		want := recordings("    ")
		Expect(scenarios.FailureText(conversation(scenarios.Failed))).To(HavePrefix("agent.yaml:9:14: expect.reply\n"))
		Expect(scenarios.FailureText(conversation(scenarios.Failed))).To(HaveSuffix(want))
		broken := conversation(scenarios.Errored)
		broken.Failures, broken.Error = nil, "agent.yaml:7:9: steps[1] say: the call has ended"
		Expect(scenarios.FailureText(broken)).To(Equal("error: " + broken.Error + "\n" + want))
		var buf bytes.Buffer
		Expect(scenarios.WriteJUnit(&buf, []*scenarios.Result{broken}, time.Second, time.Now())).To(Succeed())
		Expect(apptest.DecodeJUnit(buf.Bytes()).Cases()[0].Error.Text).To(Equal(broken.Error + "\n\n" + recordings("  ")))
	})

	It("WriteJSON carries each turn with its latency in milliseconds, and the recording files", func() {
		var buf bytes.Buffer
		Expect(scenarios.WriteJSON(&buf, []*scenarios.Result{conversation(scenarios.Passed)}, time.Second)).To(Succeed())
		Expect(buf.String()).To(ContainSubstring(`"turns": [`))
		Expect(buf.String()).To(ContainSubstring(`"latencyMs": 240`))
		Expect(buf.String()).To(ContainSubstring(`"heardFile": "rec/agent-s-1-heard.wav"`))
		Expect(buf.String()).To(ContainSubstring(`"saidFile": "rec/agent-s-1-said.wav"`))
	})
})

// ms is d in milliseconds, as the JSON reports write durations.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
