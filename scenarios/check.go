package scenarios

import (
	"errors"
	"fmt"
	"strings"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/suite"
)

// excerptLines is how much journal a failure shows.
const excerptLines = 12

// check evaluates the scenario's expectations with the suite package's
// matchers, so an expectation means the same in a file as in a Go spec.
// A standalone Gomega collects each failure instead of stopping. The root
// causes come first: how each stream ended (an ending that is a fault of
// the app fails unless expect.ending names it), then what the app sent,
// then the rest.
func (p *play) check() []Failure {
	var out []Failure
	x := p.sc.Expect
	expect := func(name string, pos Pos, actual any, m types.GomegaMatcher, streamID string) bool {
		var msg string
		g := gomega.NewGomega(func(message string, _ ...int) { msg = message })
		if g.Expect(actual).To(m) {
			return true
		}
		// The stream's journal, or for call-level expectations the end of
		// the whole journal.
		out = append(out, p.failure(name, pos, msg, streamID))
		return false
	}
	fail := func(name string, pos Pos, msg, streamID string) {
		out = append(out, p.failure(name, pos, msg, streamID))
	}
	missing := func(name string, pos Pos, stream string) {
		msg := fmt.Sprintf("no stream named %q was started", stream)
		if stream == "" { // the first stream: the call (its BXML) started none
			msg = "no stream was started"
		}
		if p.bxmlRun != nil {
			if err := p.bxmlRun.Err(); err != nil && !errors.Is(err, bxml.ErrCallEnded) {
				msg = fmt.Sprintf("the call's BXML failed: %v; so %s", err, msg)
			}
		}
		out = append(out, Failure{Expectation: name, Pos: pos.String(), Message: msg})
	}

	// How each stream ended. A stream whose ending fails here (broken) is
	// judged by that alone: its other expectations would only repeat the
	// root cause. judge holds the ending expect.ending names for a stream:
	// when it is an app fault, the stream's other matchers are told to
	// accept it (suite.HaveEnded), so they judge the rest.
	if e := x.Ending; e != nil && p.stream(e.Stream) == nil {
		missing("expect.ending", e.Pos, e.Stream)
	}
	broken := map[*StreamRun]bool{}
	judge := map[*StreamRun]emulator.Ending{}
	for _, sr := range p.order {
		if e := x.Ending; e != nil && p.stream(e.Stream) == sr {
			if !expect("expect.ending", e.Pos, sr.stream, suite.HaveEnded(e.Is), sr.ID) {
				broken[sr] = true
			}
			judge[sr] = e.Is
			continue
		}
		if !expect("expect.ending", Pos{}, sr.stream, suite.HaveNoAppFault(), sr.ID) {
			broken[sr] = true
		}
	}
	// on runs a stream matcher unless the stream's ending already failed.
	on := func(name string, pos Pos, sr *StreamRun, m types.GomegaMatcher) {
		if broken[sr] {
			return
		}
		if ending, ok := judge[sr]; ok && sr.Result != nil && sr.Result.AppFault {
			m = suite.HaveEnded(ending, m)
		}
		expect(name, pos, sr.stream, m, sr.ID)
	}

	// Always: no violations, every webhook answered as the policy says.
	// Only a stream that connected carried anything of the app's.
	connected := 0
	for _, sr := range p.order {
		if sr.Result == nil || !sr.Result.Connected {
			continue
		}
		connected++
		if x.Violations != nil && *x.Violations > 0 {
			if !broken[sr] && sr.Result.Violations > *x.Violations {
				fail("expect.violations", Pos{}, fmt.Sprintf("want at most %d protocol violations from the app on stream %q, got %d",
					*x.Violations, sr.Name, sr.Result.Violations), sr.ID)
			}
			continue
		}
		on("expect.violations", Pos{}, sr, suite.HaveNoViolations())
	}
	if x.Violations != nil && connected == 0 && len(broken) == 0 {
		fail("expect.violations", Pos{}, "no stream connected, so the app sent nothing to judge for violations", "")
	}
	policy := x.Webhooks
	if policy == nil {
		policy = &WebhooksExpect{Status: "204"}
	}
	deliveries := p.deliveries()
	status := suite.BeAnsweredWith(204)
	if policy.Status == "2xx" {
		status = suite.BeAnswered2xx()
	}
	// The policy is judged over the webhooks sent; with none it holds only
	// because nothing happened, so it fails, unless nothing could be sent
	// (no URL to send to) and the file did not ask for it.
	if len(deliveries) > 0 || x.Webhooks != nil || p.webhooksExpected() {
		expect("expect.webhooks.status", policy.Pos, deliveries, status, "")
		if policy.Within > 0 && len(deliveries) > 0 { // over none, status said it
			expect("expect.webhooks.within", policy.Pos, deliveries, suite.BeAnsweredWithin(policy.Within), "")
		}
	}

	if x.Started != nil {
		if sr := p.stream(""); sr == nil {
			missing("expect.started", x.StartedPos, "")
		} else {
			m := suite.HaveWebhook(protocol.EventMediaStreamStarted)
			if !*x.Started {
				m = gomega.Not(m)
			}
			on("expect.started", x.StartedPos, sr, m)
		}
	}
	if e := x.Stopped; e != nil {
		if sr := p.stream(e.Stream); sr == nil {
			missing("expect.stopped", e.Pos, e.Stream)
		} else if !broken[sr] {
			p.ending("expect.stopped", protocol.EventMediaStreamStopped, e, sr, on, fail)
		}
	}
	if e := x.Rejected; e != nil {
		if sr := p.rejected(e.Stream); sr == nil {
			out = append(out, Failure{Expectation: "expect.rejected", Pos: e.Pos.String(), Message: rejectedNone(e.Stream)})
		} else if !broken[sr] {
			p.ending("expect.rejected", protocol.EventMediaStreamRejected, e, sr, on, fail)
		}
	}
	if e := x.Disconnect; e != nil {
		if msg := disconnectProblem(deliveries, e.Cause); msg != "" {
			fail("expect.disconnect", e.Pos, msg, "")
		}
	}
	if e := x.Close; e != nil {
		if sr := p.stream(e.Stream); sr == nil {
			missing("expect.close", e.Pos, e.Stream)
		} else {
			if e.By != "" || e.Code != 0 || e.Handshake == nil {
				on("expect.close", e.Pos, sr, suite.HaveClosed(emulator.Actor(e.By), e.Code))
			}
			if e.Handshake != nil {
				m := suite.HaveCompletedCloseHandshake()
				if !*e.Handshake {
					m = gomega.Not(m)
				}
				on("expect.close.handshake", e.Pos, sr, m)
			}
		}
	}
	if e := x.PlayAudio; e != nil {
		if sr := p.stream(e.Stream); sr == nil {
			missing("expect.playAudio", e.Pos, e.Stream)
		} else {
			minimum := e.Min
			if minimum <= 0 {
				minimum = 1
			}
			on("expect.playAudio", e.Pos, sr, suite.HaveSentPlayAudio(minimum, e.Within))
		}
	}
	if x.AcceptsNewStream != nil && *x.AcceptsNewStream {
		spec, err := p.spec(p.sc.Stream)
		if err != nil {
			fail("expect.acceptsNewStream", Pos{}, "no new stream could be started: "+err.Error(), "")
		} else {
			spec.Name = ""
			expect("expect.acceptsNewStream", Pos{}, p.e, suite.AcceptNewStream(p.ctx, spec), "")
		}
	}
	if e := x.API; e != nil && p.call != nil {
		if ops := p.apiOperations(); !containsAll(ops, e.Operations) {
			made := "it made none"
			if len(ops) > 0 {
				made = "it made: " + strings.Join(ops, ", ")
			}
			fail("expect.api", e.Pos, fmt.Sprintf("want the app to make these Voice API requests on the call: %s; but %s",
				strings.Join(e.Operations, ", "), made), "")
		}
	}
	if x.BXMLWarnings != nil && p.call != nil {
		if ws := p.bxmlWarnings(); len(ws) > *x.BXMLWarnings {
			out = append(out, Failure{Expectation: "expect.bxmlWarnings", Pos: p.sc.Pos.String(),
				Message: fmt.Sprintf("want at most %d BXML warnings, got %d:\n  %s", *x.BXMLWarnings, len(ws), strings.Join(ws, "\n  ")),
				Excerpt: suite.JournalExcerpt(p.entries(), "", excerptLines)})
		}
	}
	return out
}

// failure is a Failure with the journal around it: the stream's, or for
// call-level expectations the end of the whole journal. Implicit
// expectations (no app fault, 204, no violations) and those the model
// keeps no place for are placed at the scenario.
func (p *play) failure(name string, pos Pos, msg, streamID string) Failure {
	f := Failure{Expectation: name, Message: msg, Excerpt: suite.JournalExcerpt(p.entries(), streamID, excerptLines)}
	if pos.Line == 0 {
		pos = p.sc.Pos
	}
	if pos.Line > 0 {
		f.Pos = pos.String()
	}
	return f
}

// webhooksExpected says whether the scenario's call had somewhere to send
// webhooks: a stream event URL (the target's; with bxml: the app's BXML
// names its own) or a disconnect URL.
func (p *play) webhooksExpected() bool {
	return (p.sc.BXML == nil && p.t.Events != "") || p.t.Disconnect != ""
}

// ending checks expect.stopped or expect.rejected on a stream: its
// webhook event and, when given, the cause and a substring of the
// errorMessage.
func (p *play) ending(name string, event string, e *EndingExpect, sr *StreamRun, on func(string, Pos, *StreamRun, types.GomegaMatcher), fail func(string, Pos, string, string)) {
	if e.Cause != "" {
		m := suite.HaveStopped(e.Cause, messageArgs(e.ErrorMessage)...)
		if event == protocol.EventMediaStreamRejected {
			m = suite.HaveBeenRejected(e.Cause, messageArgs(e.ErrorMessage)...)
		}
		on(name, e.Pos, sr, m)
		return
	}
	// No cause given: the event (and errorMessage) alone.
	r := sr.Result
	if r == nil {
		return
	}
	switch {
	case r.Event != event:
		fail(name, e.Pos, fmt.Sprintf("want stream %q to end with %s, but it ended as %s with cause %s (ending %s)",
			sr.Name, event, orNone(r.Event), orNone(r.Cause), r.Ending), sr.ID)
	case e.ErrorMessage != "" && !strings.Contains(r.ErrorMessage, e.ErrorMessage):
		fail(name, e.Pos, fmt.Sprintf("want the %s errorMessage of stream %q to contain %q, but it was %q",
			event, sr.Name, e.ErrorMessage, r.ErrorMessage), sr.ID)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// disconnectProblem checks the call's disconnect webhook: sent, and with
// the cause when one is given; "" when it holds.
func disconnectProblem(ds []*emulator.Delivery, cause string) string {
	var seen []string
	for _, d := range ds {
		if d.Event == nil || d.Event.EventType != protocol.EventDisconnect {
			continue
		}
		if cause == "" || d.Event.Cause == cause {
			return ""
		}
		seen = append(seen, d.Event.Cause)
	}
	want := "a disconnect webhook"
	if cause != "" {
		want += " with cause " + cause
	}
	if len(seen) == 0 {
		return fmt.Sprintf("want %s, but none was sent (webhooks sent: %s)", want, eventList(ds))
	}
	return fmt.Sprintf("want %s, but the disconnect webhook carried cause %s", want, strings.Join(seen, ", then "))
}

// eventList names the webhooks sent, in order.
func eventList(ds []*emulator.Delivery) string {
	if len(ds) == 0 {
		return "none"
	}
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.Event == nil {
			continue
		}
		n := d.Event.EventType
		if d.Event.Cause != "" {
			n += " (" + d.Event.Cause + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// apiOperations are the Voice API operations the app made successfully
// on the scenario's call, in order, e.g. "updateCall"; a refused request
// shows as "updateCall (401)".
func (p *play) apiOperations() []string {
	ops := []string{}
	for _, e := range p.entries() {
		if e.Kind != voiceapi.KindAPI || e.CallID != p.call.ID {
			continue
		}
		op := e.Event
		if e.Code < 200 || e.Code > 299 {
			op = fmt.Sprintf("%s (%d)", op, e.Code)
		}
		ops = append(ops, op)
	}
	return ops
}

// bxmlWarnings are the warnings the engine journaled for the call's BXML.
func (p *play) bxmlWarnings() []string {
	var ws []string
	for _, e := range p.entries() {
		if e.Kind == bxml.KindWarning && e.CallID == p.call.ID {
			ws = append(ws, e.Message)
		}
	}
	return ws
}

// rejected returns the rejected stream with the given name; for "" the
// last stream rejected. That default is derived from the streams' results
// rather than recorded at StartStream, so it also covers the streams a
// call's BXML starts and connects refused with rejectOnConnectError.
func (p *play) rejected(name string) *StreamRun {
	var last *StreamRun
	for _, sr := range p.order {
		if r := sr.stream.Result(); r == nil || r.Event != protocol.EventMediaStreamRejected {
			continue
		}
		if sr.Name == name {
			return sr
		}
		last = sr
	}
	if name != "" {
		return nil
	}
	return last
}

func rejectedNone(name string) string {
	if name == "" {
		return "no stream was rejected"
	}
	return fmt.Sprintf("stream %q was not rejected", name)
}

func messageArgs(s string) []any {
	if s == "" {
		return nil
	}
	return []any{s}
}

// summary is a one-line account of a failure for tables.
func (f Failure) summary() string {
	first, _, _ := strings.Cut(strings.TrimSpace(f.Message), "\n")
	return f.Expectation + ": " + first
}
