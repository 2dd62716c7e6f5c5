package scenarios

import (
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
// A standalone Gomega collects each failure instead of stopping.
func (p *play) check() []Failure {
	var out []Failure
	x := p.sc.Expect
	expect := func(name string, pos Pos, actual any, m types.GomegaMatcher, streamID string) {
		var msg string
		g := gomega.NewGomega(func(message string, _ ...int) { msg = message })
		if g.Expect(actual).To(m) {
			return
		}
		// The stream's journal, or for call-level expectations the end of
		// the whole journal.
		f := Failure{Expectation: name, Message: msg, Excerpt: suite.JournalExcerpt(p.entries(), streamID, excerptLines)}
		if pos.Line == 0 {
			// Implicit expectations (204, no violations) and those the
			// model keeps no place for: the scenario's.
			pos = p.sc.Pos
		}
		if pos.Line > 0 {
			f.Pos = pos.String()
		}
		out = append(out, f)
	}
	missing := func(name string, pos Pos, stream string) {
		msg := fmt.Sprintf("no stream named %q was started", stream)
		if stream == "" { // the first stream: the call (its BXML) started none
			msg = "no stream was started"
		}
		out = append(out, Failure{Expectation: name, Pos: pos.String(), Message: msg})
	}

	// Always: every webhook answered as the policy says, no violations.
	policy := x.Webhooks
	if policy == nil {
		policy = &WebhooksExpect{Status: "204"}
	}
	deliveries := p.deliveries()
	status := suite.BeAnsweredWith(204)
	if policy.Status == "2xx" {
		status = suite.BeAnswered2xx()
	}
	if len(deliveries) > 0 {
		expect("expect.webhooks.status", policy.Pos, deliveries, status, "")
		if policy.Within > 0 {
			expect("expect.webhooks.within", policy.Pos, deliveries, suite.BeAnsweredWithin(policy.Within), "")
		}
	}
	for _, sr := range p.order {
		if x.Violations != nil && *x.Violations > 0 {
			expect("expect.violations", Pos{}, sr.stream, gomega.WithTransform(func(s *emulator.Stream) int { return s.Result().Violations }, gomega.BeNumerically("<=", *x.Violations)), sr.ID)
			continue
		}
		expect("expect.violations", Pos{}, sr.stream, suite.HaveNoViolations(), sr.ID)
	}

	if x.Started != nil {
		if sr := p.stream(""); sr != nil {
			m := suite.HaveWebhook(protocol.EventMediaStreamStarted)
			if !*x.Started {
				m = gomega.Not(m)
			}
			expect("expect.started", Pos{}, sr.stream, m, sr.ID)
		}
	}
	if e := x.Stopped; e != nil {
		if sr := p.stream(e.Stream); sr == nil {
			missing("expect.stopped", e.Pos, e.Stream)
		} else {
			expect("expect.stopped", e.Pos, sr.stream, suite.HaveStopped(e.Cause, messageArgs(e.ErrorMessage)...), sr.ID)
		}
	}
	if e := x.Rejected; e != nil {
		if sr := p.rejected(e.Stream); sr == nil {
			out = append(out, Failure{Expectation: "expect.rejected", Pos: e.Pos.String(), Message: rejectedNone(e.Stream)})
		} else {
			expect("expect.rejected", e.Pos, sr.stream, suite.HaveBeenRejected(e.Cause, messageArgs(e.ErrorMessage)...), sr.ID)
		}
	}
	if e := x.Disconnect; e != nil {
		m := suite.HaveWebhook(protocol.EventDisconnect, gomega.WithTransform(func(d *emulator.Delivery) string { return d.Event.Cause }, gomega.Equal(e.Cause)))
		expect("expect.disconnect", e.Pos, deliveries, m, "")
	}
	if e := x.Close; e != nil {
		if sr := p.stream(e.Stream); sr == nil {
			missing("expect.close", e.Pos, e.Stream)
		} else {
			if e.By != "" || e.Code != 0 {
				expect("expect.close", e.Pos, sr.stream, suite.HaveClosed(e.By, e.Code), sr.ID)
			}
			if e.Handshake != nil {
				m := suite.HaveCompletedCloseHandshake()
				if !*e.Handshake {
					m = gomega.Not(m)
				}
				expect("expect.close.handshake", e.Pos, sr.stream, m, sr.ID)
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
			expect("expect.playAudio", e.Pos, sr.stream, suite.HaveSentPlayAudio(minimum, e.Within), sr.ID)
		}
	}
	if x.AcceptsNewStream != nil && *x.AcceptsNewStream {
		spec, err := p.spec(p.sc.Stream)
		if err == nil {
			spec.Name = ""
			expect("expect.acceptsNewStream", Pos{}, p.e, suite.AcceptNewStream(p.ctx, spec), "")
		}
	}
	if e := x.API; e != nil && p.call != nil {
		expect("expect.api", e.Pos, p.apiOperations(), gomega.ContainElements(e.Operations), "")
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
		if e.Kind == bxml.KindBXML && e.CallID == p.call.ID && strings.HasPrefix(e.Message, "warning: ") {
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
