package scenarios

import (
	"errors"
	"fmt"
	"slices"
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

// expectations are a scenario's checks in the order their failures are
// reported: the root causes first (how each stream ended: an ending that
// is a fault of the app fails unless expect.ending names it), then what
// the app sent and answered, then the rest. Each judges with the suite
// package's matchers where one exists, so an expectation means the same
// in a file as in a Go spec.
var expectations = []func(*checker){
	(*checker).endings,
	(*checker).violations,
	(*checker).webhooks,
	(*checker).started,
	(*checker).stopped,
	(*checker).rejected,
	(*checker).disconnect,
	(*checker).close,
	(*checker).playAudio,
	(*checker).reply,
	(*checker).bargeIn,
	(*checker).heard,
	(*checker).acceptsNewStream,
	(*checker).api,
	(*checker).bxmlWarnings,
}

// checker collects the failures of one scenario's expectations.
type checker struct {
	p   *play
	x   Expect
	out []Failure
	// broken are the streams whose ending failed: each is judged by that
	// alone, since its other expectations would only repeat the root
	// cause.
	broken map[*StreamRun]bool
	// judge holds the ending expect.ending names for a stream: when it is
	// an app fault, the stream's other matchers are told to accept it
	// (suite.HaveEnded), so they judge the rest.
	judge map[*StreamRun]emulator.Ending
	sent  []*emulator.Delivery // the call's webhooks, once read
}

// check evaluates the scenario's expectations. A standalone Gomega
// collects each failure instead of stopping.
func (p *play) check() []Failure {
	c := &checker{p: p, x: p.sc.Expect, broken: map[*StreamRun]bool{}, judge: map[*StreamRun]emulator.Ending{}}
	for _, expect := range expectations {
		expect(c)
	}
	return c.out
}

// match runs m on actual and returns its failure message, "" when it holds.
func match(actual any, m types.GomegaMatcher) (msg string, ok bool) {
	g := gomega.NewGomega(func(message string, _ ...int) { msg = message })
	ok = g.Expect(actual).To(m)
	return msg, ok
}

// matchStream runs a stream matcher on sr, whatever its ending; the
// suite's stream matchers end their message with the stream's journal.
func (c *checker) matchStream(name string, pos Pos, sr *StreamRun, m types.GomegaMatcher) bool {
	msg, ok := match(sr.stream, m)
	if !ok {
		f := c.p.failure(name, pos, msg, sr.ID)
		f.JournalInMessage = true
		c.out = append(c.out, f)
	}
	return ok
}

// on runs a stream matcher unless the stream's ending already failed.
func (c *checker) on(name string, pos Pos, sr *StreamRun, m types.GomegaMatcher) {
	if c.broken[sr] {
		return
	}
	if ending, ok := c.judge[sr]; ok && sr.Result != nil && sr.Result.AppFault {
		m = suite.HaveEnded(ending, m)
	}
	c.matchStream(name, pos, sr, m)
}

// onCall runs a matcher on something of the call's (its webhooks, the
// emulator); the failure shows the end of the call's journal, unless
// journaled says the matcher's message shows a journal of its own.
func (c *checker) onCall(name string, pos Pos, actual any, m types.GomegaMatcher, journaled bool) {
	if msg, ok := match(actual, m); !ok {
		f := c.p.failure(name, pos, msg, "")
		f.JournalInMessage = journaled
		c.out = append(c.out, f)
	}
}

// fail records a failure found without a matcher.
func (c *checker) fail(name string, pos Pos, msg, streamID string) {
	c.out = append(c.out, c.p.failure(name, pos, msg, streamID))
}

// missing records an expectation about a stream that was never started.
func (c *checker) missing(name string, pos Pos, stream string) {
	msg := fmt.Sprintf("no stream named %q was started", stream)
	if stream == "" { // the first stream: the call (its BXML) started none
		msg = "no stream was started"
	}
	if c.p.bxmlRun != nil {
		if err := c.p.bxmlRun.Err(); err != nil && !errors.Is(err, emulator.ErrCallEnded) {
			msg = fmt.Sprintf("the call's BXML failed: %v; so %s", err, msg)
		}
	}
	c.out = append(c.out, Failure{Expectation: name, Pos: pos.String(), Message: msg})
}

// named is the stream an expectation names ("" = the first); when no
// such stream was started the expectation fails saying so, and it is nil.
func (c *checker) named(name string, pos Pos, stream string) *StreamRun {
	sr := c.p.stream(stream)
	if sr == nil {
		c.missing(name, pos, stream)
	}
	return sr
}

// deliveries are the call's webhooks, read once.
func (c *checker) deliveries() []*emulator.Delivery {
	if c.sent == nil {
		c.sent = c.p.deliveries()
	}
	return c.sent
}

// endings judges how each stream ended: as expect.ending says for the
// stream it names, with no fault of the app for every other.
func (c *checker) endings() {
	e := c.x.Ending
	var named *StreamRun
	if e != nil {
		named = c.named("expect.ending", e.Pos, e.Stream)
	}
	for _, sr := range c.p.order {
		pos, m := Pos{}, suite.HaveNoAppFault()
		if sr == named {
			pos, m = e.Pos, suite.HaveEnded(e.Is)
			c.judge[sr] = e.Is
		}
		if !c.matchStream("expect.ending", pos, sr, m) {
			c.broken[sr] = true
		}
	}
}

// violations judges, always, what each connected stream got from the app:
// no protocol violation, or at most expect.violations. Only a stream that
// connected carried anything of the app's.
func (c *checker) violations() {
	m := suite.HaveNoViolations()
	if n := c.x.Violations; n != nil && *n > 0 {
		m = suite.HaveAtMostViolations(*n)
	}
	connected := 0
	for _, sr := range c.p.order {
		if sr.Result == nil || !sr.Result.Connected {
			continue
		}
		connected++
		c.on("expect.violations", Pos{}, sr, m)
	}
	if c.x.Violations != nil && connected == 0 && len(c.broken) == 0 {
		c.fail("expect.violations", Pos{}, "no stream connected, so the app sent nothing to judge for violations", "")
	}
}

// webhooks judges, always, every webhook's answer by the policy
// (expect.webhooks, or exactly 204). The policy is judged over the
// webhooks sent; with none it holds only because nothing happened, so it
// fails, unless nothing could be sent (no URL to send to) and the file
// did not ask for it.
func (c *checker) webhooks() {
	policy := c.x.Webhooks
	if policy == nil {
		policy = &WebhooksExpect{Status: "204"}
	}
	status := suite.BeAnsweredWith(204)
	if policy.Status == "2xx" {
		status = suite.BeAnswered2xx()
	}
	ds := c.deliveries()
	if len(ds) == 0 && c.x.Webhooks == nil && !c.p.webhooksExpected() {
		return
	}
	c.onCall("expect.webhooks.status", policy.Pos, ds, status, false)
	if policy.Within > 0 && len(ds) > 0 { // over none, status said it
		c.onCall("expect.webhooks.within", policy.Pos, ds, suite.BeAnsweredWithin(policy.Within), false)
	}
}

func (c *checker) started() {
	if c.x.Started == nil {
		return
	}
	if sr := c.named("expect.started", c.x.StartedPos, ""); sr != nil {
		c.on("expect.started", c.x.StartedPos, sr, maybeNot(*c.x.Started, suite.HaveWebhook(protocol.EventMediaStreamStarted)))
	}
}

func (c *checker) stopped() {
	c.endingEvent("expect.stopped", protocol.EventMediaStreamStopped, c.x.Stopped)
}

func (c *checker) rejected() {
	c.endingEvent("expect.rejected", protocol.EventMediaStreamRejected, c.x.Rejected)
}

// endingEvent checks expect.stopped or expect.rejected: the stream it
// names (for rejected by default the last one rejected) ended with that
// event, unless its ending already failed.
func (c *checker) endingEvent(name, event string, e *EndingExpect) {
	if e == nil {
		return
	}
	var sr *StreamRun
	if event == protocol.EventMediaStreamRejected {
		if sr = c.p.rejected(e.Stream); sr == nil {
			c.out = append(c.out, Failure{Expectation: name, Pos: e.Pos.String(), Message: rejectedNone(e.Stream)})
		}
	} else {
		sr = c.named(name, e.Pos, e.Stream)
	}
	if sr != nil && !c.broken[sr] {
		c.ending(name, event, e, sr)
	}
}

// disconnect checks the call's disconnect webhook: sent, and with the
// cause when one is given.
func (c *checker) disconnect() {
	e := c.x.Disconnect
	if e == nil {
		return
	}
	var with []types.GomegaMatcher
	if e.Cause != "" {
		with = append(with, suite.HaveCause(e.Cause))
	}
	c.onCall("expect.disconnect", e.Pos, c.deliveries(), suite.HaveWebhook(protocol.EventDisconnect, with...), false)
}

func (c *checker) close() {
	e := c.x.Close
	if e == nil {
		return
	}
	sr := c.named("expect.close", e.Pos, e.Stream)
	if sr == nil {
		return
	}
	if e.By != "" || e.Code != 0 || e.Handshake == nil {
		c.on("expect.close", e.Pos, sr, suite.HaveClosed(e.By, e.Code))
	}
	if e.Handshake != nil {
		c.on("expect.close.handshake", e.Pos, sr, maybeNot(*e.Handshake, suite.HaveCompletedCloseHandshake()))
	}
}

func (c *checker) playAudio() {
	e := c.x.PlayAudio
	if e == nil {
		return
	}
	if sr := c.named("expect.playAudio", e.Pos, e.Stream); sr != nil {
		c.on("expect.playAudio", e.Pos, sr, suite.HaveSentPlayAudio(max(e.Min, 1), e.Within))
	}
}

// reply judges how the app answered each turn of the caller (say: steps).
func (c *checker) reply() {
	e := c.x.Reply
	if e == nil {
		return
	}
	if sr := c.named("expect.reply", e.Pos, e.Stream); sr != nil {
		c.on("expect.reply", e.Pos, sr, suite.HaveReplied(e.Within, e.Min))
	}
}

// bargeIn judges how soon the app fell silent when the caller interrupted.
func (c *checker) bargeIn() {
	e := c.x.BargeIn
	if e == nil {
		return
	}
	if sr := c.named("expect.bargeIn", e.Pos, e.Stream); sr != nil {
		c.on("expect.bargeIn", e.Pos, sr, suite.HaveStoppedTalkingWithin(e.Within))
	}
}

// heard judges what the caller heard on a recorded stream: a tone, or
// with none any sound.
func (c *checker) heard() {
	e := c.x.Heard
	if e == nil {
		return
	}
	sr := c.named("expect.heard", e.Pos, e.Stream)
	if sr == nil {
		return
	}
	m := suite.HavePlayedSound(e.AtLeast)
	if e.Tone > 0 {
		m = suite.HavePlayedTone(e.Tone, e.AtLeast)
	}
	c.on("expect.heard", e.Pos, sr, m)
}

// acceptsNewStream starts a new stream like the scenario's first after
// the flow; the matcher's message shows that stream's journal.
func (c *checker) acceptsNewStream() {
	if c.x.AcceptsNewStream == nil || !*c.x.AcceptsNewStream {
		return
	}
	spec, err := c.p.spec(c.p.sc.Stream)
	if err != nil {
		c.fail("expect.acceptsNewStream", Pos{}, "no new stream could be started: "+err.Error(), "")
		return
	}
	spec.Name = ""
	c.onCall("expect.acceptsNewStream", Pos{}, c.p.e, suite.AcceptNewStream(c.p.ctx, spec), true)
}

func (c *checker) api() {
	e := c.x.API
	if e == nil || c.p.call == nil {
		return
	}
	ops := c.p.apiOperations()
	if containsAll(ops, e.Operations) {
		return
	}
	made := "it made none"
	if len(ops) > 0 {
		made = "it made: " + strings.Join(ops, ", ")
	}
	c.fail("expect.api", e.Pos, fmt.Sprintf("want the app to make these Voice API requests on the call: %s; but %s",
		strings.Join(e.Operations, ", "), made), "")
}

func (c *checker) bxmlWarnings() {
	if c.x.BXMLWarnings == nil || c.p.call == nil {
		return
	}
	if ws := c.p.bxmlWarnings(); len(ws) > *c.x.BXMLWarnings {
		c.out = append(c.out, Failure{Expectation: "expect.bxmlWarnings", Pos: c.p.sc.Pos.String(),
			Message: fmt.Sprintf("want at most %d BXML warnings, got %d:\n  %s", *c.x.BXMLWarnings, len(ws), strings.Join(ws, "\n  ")),
			Excerpt: suite.JournalExcerpt(c.p.entries(), "", excerptLines)})
	}
}

// ending checks expect.stopped or expect.rejected on a stream: its
// webhook event and, when given, the cause and a substring of the
// errorMessage.
func (c *checker) ending(name string, event string, e *EndingExpect, sr *StreamRun) {
	if e.Cause != "" {
		m := suite.HaveStopped(e.Cause, messageArgs(e.ErrorMessage)...)
		if event == protocol.EventMediaStreamRejected {
			m = suite.HaveBeenRejected(e.Cause, messageArgs(e.ErrorMessage)...)
		}
		c.on(name, e.Pos, sr, m)
		return
	}
	// No cause given: the event (and errorMessage) alone.
	r := sr.Result
	switch {
	case r == nil:
	case r.Event != event:
		c.fail(name, e.Pos, fmt.Sprintf("want stream %q to end with %s, but it ended as %s with cause %s (ending %s)",
			sr.Name, event, orNone(r.Event), orNone(r.Cause), r.Ending), sr.ID)
	case e.ErrorMessage != "" && !strings.Contains(r.ErrorMessage, e.ErrorMessage):
		c.fail(name, e.Pos, fmt.Sprintf("want the %s errorMessage of stream %q to contain %q, but it was %q",
			event, sr.Name, e.ErrorMessage, r.ErrorMessage), sr.ID)
	}
}

// maybeNot is m, or m negated when want is false.
func maybeNot(want bool, m types.GomegaMatcher) types.GomegaMatcher {
	if want {
		return m
	}
	return gomega.Not(m)
}

// failure is a Failure with the journal around it: the stream's, or for
// call-level expectations the end of the whole journal. Implicit
// expectations (no app fault, 204, no violations) and those the model
// keeps no place for are placed at the scenario.
func (p *play) failure(name string, pos Pos, msg, streamID string) Failure {
	f := Failure{Expectation: name, Message: msg, Excerpt: suite.JournalExcerpt(p.entries(), streamID, excerptLines), StreamID: streamID}
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

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
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
