package buggy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/buggy"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
)

// Credentials the consumers are told to require when a case needs them.
const (
	wsUser, wsPassword       = "bandwidth", "ws-secret"
	eventUser, eventPassword = "bandwidth", "event-secret"
)

// timeouts are shorter than conformance.DefaultTimeouts where a defect
// makes the suite wait them out (an unanswered close, a socket never
// read), and still generous for a correct consumer on loopback.
var timeouts = emulator.Timeouts{CloseHandshake: time.Second, Write: 2 * time.Second, Handshake: 3 * time.Second}

// expectation is one defect's row: what to run and how the suite must judge it.
type expectation struct {
	// only selects the cases to run (IDs).
	only string
	// isolate runs each case of only against a fresh consumer: the defect
	// is stateful (it breaks the consumer for good), so one case would
	// spill into the next.
	isolate bool
	// wsCreds and eventCreds configure both the consumer and the target
	// with credentials; bidi makes the target bidirectional and the
	// consumer echo; eventGET says the app asks for its stream events as
	// GET (Target.EventMethod); metrics makes the consumer hold backend
	// sessions and gives their gauge to the run (Options.AppMetrics).
	wsCreds, eventCreds, bidi, eventGET, metrics bool
	// status is the verdict the cases in ids must get (Fail or NonStrict).
	status conformance.Status
	// ids are the cases that must catch the defect (with anyOf, at least
	// one of them must, and the others may fail too); also the cases that
	// may fail as well (a knock-on effect of the same defect). Every other
	// selected case must pass.
	ids, also []string
	anyOf     bool
	// words must all appear in the reason of each case in ids
	// (case-insensitively): what tells the developer what went wrong.
	words []string
	// callback is the app's callbackTimeout for the run (zero: the
	// default, 15 s): short where a hung webhook only needs to be past it.
	callback time.Duration
}

func target(ws, events, disconnect string, e expectation) conformance.Target {
	t := conformance.Target{WebSocket: ws, Events: events, Disconnect: disconnect, Bidirectional: e.bidi}
	if e.eventGET {
		t.EventMethod = "GET"
	}
	if e.wsCreds {
		t.WSUser, t.WSPassword = wsUser, wsPassword
	}
	if e.eventCreds {
		t.EventUser, t.EventPassword = eventUser, eventPassword
	}
	return t
}

// leakSettle is how long the leak cases wait for a consumer to be back at
// its baseline: a correct one is within milliseconds.
const leakSettle = time.Second

// selecting is the options that run the cases re matches (by ID or title),
// with the short timeouts.
func selecting(re string) conformance.Options {
	return conformance.Options{Only: regexp.MustCompile(re), Timeouts: timeouts, LeakSettle: leakSettle}
}

// runAgainst starts a consumer with the defect, runs the cases o selects
// and closes the consumer.
func runAgainst(ctx SpecContext, d buggy.Defect, e expectation, o conformance.Options) []conformance.Result {
	GinkgoHelper()
	opts := &buggy.Options{Echo: e.bidi, Backend: e.metrics}
	if e.wsCreds {
		opts.WSUser, opts.WSPassword = wsUser, wsPassword
	}
	if e.eventCreds {
		opts.EventUser, opts.EventPassword = eventUser, eventPassword
	}
	srv, err := buggy.Start(d, opts)
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(srv.Close()).To(Succeed()) }()
	if e.metrics {
		o.AppMetrics = conformance.MetricsGauge{URL: srv.MetricsURL(), Name: buggy.MetricName}
	}
	results, err := conformance.Run(ctx, target(srv.WebSocketURL(), srv.EventsURL(), srv.DisconnectURL(), e), o)
	Expect(err).NotTo(HaveOccurred())
	Expect(results).NotTo(BeEmpty(), "no case matches %v", o.Only)
	return results
}

// judge lists every way the suite's verdicts miss the expectation: a case
// that should catch the defect and does not, a reason that does not say
// what is wrong, a case that fails although the defect is none of its
// business.
func judge(d buggy.Defect, e expectation, results []conformance.Result) []string {
	var problems []string
	add := func(r conformance.Result, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if r.Journal != "" {
			msg += "\njournal of " + r.ID + ":\n" + r.Journal
		}
		problems = append(problems, msg)
	}
	byID := map[string]conformance.Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	caught := 0
	for _, id := range e.ids {
		r, ran := byID[id]
		switch {
		case !ran:
			problems = append(problems, fmt.Sprintf("case %s did not run", id))
			continue
		case r.Status != e.status:
			if !e.anyOf {
				add(r, "%s should judge %s %q but said %q: %s", id, d, e.status, r.Status, r.Reason)
			}
			continue
		}
		caught++
		if !strings.HasPrefix(r.Reason, id+": ") {
			add(r, "%s's reason does not start with its case ID: %s", id, r.Reason)
		}
		for _, w := range e.words {
			if !strings.Contains(strings.ToLower(r.Reason), strings.ToLower(w)) {
				add(r, "%s's reason does not say %q: %s", id, w, r.Reason)
			}
		}
	}
	if e.anyOf && caught == 0 {
		problems = append(problems, fmt.Sprintf("none of %s judged %s %q", strings.Join(e.ids, ", "), d, e.status))
	}
	for _, r := range results {
		if !slices.Contains(e.ids, r.ID) && !slices.Contains(e.also, r.ID) && !r.Status.Passing(false) {
			add(r, "%s is not expected to fail for %s (a wrong-case catch) but said %q: %s", r.ID, d, r.Status, r.Reason)
		}
	}
	if conformance.Passed(results, false) {
		problems = append(problems, "the run passed")
	}
	if e.status == conformance.NonStrict && !conformance.Passed(results, true) {
		problems = append(problems, "a lenient run should pass a defect that is only non-strict")
	}
	return problems
}

// summary lists results one per line, for failure messages and reports.
func summary(results []conformance.Result) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%-5s %-10s %6s  %s\n", r.ID, r.Status, r.Duration.Round(time.Millisecond), r.Reason)
	}
	return b.String()
}

var _ = Describe("the conformance suite", func() {
	DescribeTable("catches the defect with the right case and a reason that says what is wrong",
		func(ctx SpecContext, d buggy.Defect, e expectation) {
			var results []conformance.Result
			if e.isolate {
				for _, c := range conformance.Selected(regexp.MustCompile(e.only)) {
					results = append(results, runAgainst(ctx, d, e, e.options("^"+regexp.QuoteMeta(c.ID)+"$"))...)
				}
			} else {
				results = runAgainst(ctx, d, e, e.options(e.only))
			}
			AddReportEntry(string(d), summary(results))

			problems := judge(d, e, results)
			if len(problems) > 0 {
				Fail(fmt.Sprintf("the suite's verdicts on %s miss the defect:\n%s\nresults:\n%s", d, strings.Join(problems, "\n\n"), summary(results)))
			}
		},
		defectEntries(),
	)

	It("lists an entry for every defect", func() {
		var covered []buggy.Defect
		for _, r := range rows() {
			covered = append(covered, r.defect)
		}
		Expect(covered).To(ConsistOf(buggy.Defects()))
	})

	Describe("passes correct consumers", func() {
		full := expectation{wsCreds: true, eventCreds: true, bidi: true, metrics: true}

		It("passes the reference consumer (internal/consumer), every case", func(ctx SpecContext) {
			c, err := consumer.Start("127.0.0.1:0", &consumer.Options{WSUser: wsUser, WSPassword: wsPassword,
				EventUser: eventUser, EventPassword: eventPassword, Echo: true})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(c.Close)
			results, err := conformance.Run(ctx, target(c.WebSocketURL(), c.EventsURL(), c.DisconnectURL(), full), conformance.Options{Timeouts: timeouts})
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry("reference consumer", summary(results))
			Expect(results).To(HaveLen(len(conformance.Cases())))
			Expect(conformance.Passed(results, false)).To(BeTrue(), summary(results))
		}, SpecTimeout(3*time.Minute))

		It("passes the buggy consumer with no defect, every case", func(ctx SpecContext) {
			results := runAgainst(ctx, buggy.None, full, selecting("."))
			AddReportEntry("no defect", summary(results))
			Expect(results).To(HaveLen(len(conformance.Cases())))
			Expect(conformance.Passed(results, false)).To(BeTrue(), summary(results))
		}, SpecTimeout(3*time.Minute))

		It("passes an app that refuses GET webhooks (405) when it never asked for GET", func(ctx SpecContext) {
			results := runAgainst(ctx, buggy.NoGET, expectation{}, selecting(`^5\.`))
			AddReportEntry("no GET, none asked for", summary(results))
			Expect(conformance.Passed(results, false)).To(BeTrue(), summary(results))
			for _, r := range results {
				if r.ID == "5.11" {
					Expect(r.Status).To(Equal(conformance.Info), summary(results))
					Expect(r.Reason).To(ContainSubstring("--event-method GET"))
				}
			}
		}, SpecTimeout(3*time.Minute))
	})

	// A hung app is judged at its callbackTimeout, as Bandwidth would: the
	// whole suite must end within a few of them, not one per webhook. The
	// app's callbackTimeout here is 2 s (Bandwidth allows 1–25 s) to keep
	// the spec short; every other timeout is conform's default.
	const callback = 2 * time.Second
	DescribeTable("runs the whole suite within a few callbackTimeouts, with conform's default timeouts otherwise, and fails",
		func(ctx SpecContext, d buggy.Defect, expect func(results []conformance.Result)) {
			began := time.Now()
			results := runAgainst(ctx, d, expectation{}, conformance.Options{Timeouts: emulator.Timeouts{Callback: callback}})
			took := time.Since(began)
			AddReportEntry(string(d), fmt.Sprintf("%s\nin %s", summary(results), took.Round(time.Millisecond)))
			Expect(took).To(BeNumerically("<", 30*callback), summary(results))
			expect(results)
		},
		Entry("an app whose webhooks hang, with every webhook case", buggy.HungWebhooks, func(results []conformance.Result) {
			for _, r := range results {
				switch {
				case r.Group != conformance.GroupWebhooks:
					Expect(r.Status.Passing(false)).To(BeTrue(), "%s: the socket cases do not judge webhooks\n%s", r.ID, summary(results))
				case r.ID == "5.10" || r.ID == "5.11":
					Expect(r.Status).To(Equal(conformance.Info), summary(results))
				default:
					Expect(r.Status).To(Equal(conformance.Fail), summary(results))
					Expect(r.Reason).To(ContainSubstring("not answered within 2s"), summary(results))
				}
			}
		}, SpecTimeout(2*time.Minute)),
		Entry("an app that hangs after accepting (it never reads again)", buggy.NeverReads, func(results []conformance.Result) {
			Expect(conformance.Passed(results, true)).To(BeFalse())
		}, SpecTimeout(2*time.Minute)),
	)
})

// options selects the cases of pattern, with the expectation's callbackTimeout.
func (e expectation) options(pattern string) conformance.Options {
	o := selecting(pattern)
	o.Timeouts.Callback = e.callback
	return o
}

// defectEntries is the table: one entry per row.
func defectEntries() []TableEntry {
	var out []TableEntry
	for _, r := range rows() {
		out = append(out, Entry(string(r.defect), r.defect, r.expectation, SpecTimeout(3*time.Minute)))
	}
	return out
}

type defectRow struct {
	defect buggy.Defect
	expectation
}

// rows says, for every defect, which cases must catch it and how.
func rows() []defectRow {
	const (
		fail      = conformance.Fail
		nonStrict = conformance.NonStrict
	)
	return []defectRow{
		{buggy.Status200, expectation{only: `^5\.`, status: nonStrict,
			ids:   []string{"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9"},
			words: []string{"200", "204"}}},
		{buggy.Status500OnConnectionError, expectation{only: `^5\.`, status: fail,
			ids: []string{"5.3"}, words: []string{"500", "204", "connection-error"}}},
		{buggy.SlowWebhooks, expectation{only: `^5\.1$`, status: nonStrict,
			ids: []string{"5.1"}, words: []string{"answered 204 No Content in 3", "within 2s", "inside the callbackTimeout (15s)"}}},
		{buggy.HungWebhooks, expectation{only: `^5\.`, status: fail, callback: 2 * time.Second,
			ids:   []string{"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.12"},
			words: []string{"not answered within 2s", "at once"}}},
		{buggy.StartedAfterStream, expectation{only: `^5\.`, status: fail, callback: 2 * time.Second,
			ids: []string{"5.12"}, also: []string{"5.5", "5.6"}, words: []string{"mediaStreamStarted", "live", "not answered"}}},
		{buggy.CrashOnErrorCause, expectation{only: `^5\.`, status: fail,
			ids: []string{"5.4"}, words: []string{"500", "204"}}},
		{buggy.CloseOnOutboundTrack, expectation{only: `^2\.`, status: fail,
			ids: []string{"2.4", "2.5"}, words: []string{"1003"}}},
		{buggy.CloseOnStreamParams, expectation{only: `^2\.`, status: fail,
			ids: []string{"2.2"}, also: []string{"2.6"}, words: []string{"1008"}}},
		{buggy.CloseErrorOnStart, expectation{only: `^4\.[3-6]$`, status: fail,
			ids: []string{"4.3", "4.4", "4.5", "4.6"}, words: []string{"1011"}}},
		{buggy.RejectUnknownFields, expectation{only: `^2\.`, status: nonStrict,
			ids: []string{"2.6"}, words: []string{"1007"}}},
		{buggy.DropOnUnknownEvent, expectation{only: `^3\.`, status: nonStrict,
			ids: []string{"3.3"}, words: []string{"bwemuFutureEvent", "dropped the connection", "keep streaming"}}},
		{buggy.NumericSequenceNumber, expectation{only: `^3\.`, status: fail,
			ids: []string{"3.1", "3.2"}, also: []string{"3.3"}, words: []string{"1007"}}},
		{buggy.NeverReads, expectation{only: `^3\.`, status: fail,
			ids: []string{"3.2"}, also: []string{"3.1", "3.3"}, words: []string{"stopped reading"}}},
		{buggy.NoCloseHandshake, expectation{only: `^4\.`, status: fail,
			ids: []string{"4.1", "4.2", "4.5"}, also: []string{"4.3", "4.4", "4.6"}, words: []string{"close"}}},
		{buggy.DropOnStop, expectation{only: `^4\.`, status: fail,
			ids: []string{"4.1", "4.2"}, also: []string{"4.3", "4.4", "4.5", "4.6"}, words: []string{"close"}}},
		{buggy.RefuseAfterAbort, expectation{only: `^4\.[34]$`, isolate: true, status: fail,
			ids: []string{"4.3"}, words: []string{"new stream", "503"}}},
		{buggy.RefuseAfterError, expectation{only: `^4\.5$`, isolate: true, status: fail,
			ids: []string{"4.5"}, words: []string{"new stream", "503"}}},
		{buggy.ListenerDiesOnBrokenHandshake, expectation{only: `^4\.6$`, isolate: true, status: fail,
			ids: []string{"4.6"}, words: []string{"new stream"}}},
		{buggy.NoWSAuth, expectation{only: `^1\.`, wsCreds: true, status: fail,
			ids: []string{"1.2"}, words: []string{"101", "401"}}},
		{buggy.AuthAfterUpgrade, expectation{only: `^1\.`, wsCreds: true, status: fail,
			ids: []string{"1.2"}, words: []string{"101", "401"}}},
		{buggy.NoEventAuth, expectation{only: `^5\.`, eventCreds: true, status: fail,
			ids: []string{"5.10"}, words: []string{"401"}}},
		{buggy.NonIdempotent, expectation{only: `^5\.`, status: fail,
			ids: []string{"5.9"}, words: []string{"409", "204", "twice"}}},
		{buggy.NoGET, expectation{only: `^5\.`, eventGET: true, status: fail,
			ids: []string{"5.11"}, also: []string{"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.12"},
			words: []string{"405", "GET", "--event-method GET"}}},
		{buggy.InvalidPlayAudioBase64, expectation{only: `^6\.`, bidi: true, status: fail,
			ids: []string{"6.1", "6.2"}, words: []string{"not valid base64"}}},
		{buggy.InvalidPlayAudioContentType, expectation{only: `^6\.`, bidi: true, status: fail,
			ids: []string{"6.1", "6.2"}, words: []string{"audio/x-mulaw"}}},
		{buggy.PlayAudioOnUnidirectional, expectation{only: `^[1-47]\.`, status: nonStrict, anyOf: true,
			ids: []string{"1.1", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2", "3.3",
				"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "7.1", "7.2", "7.3"},
			words: []string{"playAudio", "unidirectional", "--bidirectional"}}},
		{buggy.FaultSpreads, expectation{only: `^7\.`, isolate: true, status: fail,
			ids: []string{"7.3"}, words: []string{"1011"}}},
		{buggy.OneStreamAtATime, expectation{only: `^(4\.4|7\.)`, status: fail,
			ids: []string{"4.4", "7.1", "7.2", "7.3"}, words: []string{"503"}}},
		// 8.1 needs the consumer in a process of its own (suite/conformance's
		// specs run it so); here 8.1 is informational and 8.2 reads the gauge.
		{buggy.LeakOnAbort, expectation{only: `^8\.`, metrics: true, status: fail,
			ids: []string{"8.2"}, words: []string{buggy.MetricName, "was 0 before the faults and still 6", "after the TCP resets",
				"after the silent drops", "after the internal-error closes (1011)", "without Bandwidth's stop message"}}},
	}
}
