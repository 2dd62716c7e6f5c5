package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/suite"
)

// WebhookLatencyLimit is how quickly every webhook must be answered: well
// inside Bandwidth's callbackTimeout (15 s by default), since an app that
// answers late under test answers too late in production.
const WebhookLatencyLimit = 2 * time.Second

// answerEvery is the 5.x cases' advice for stream events.
const answerEvery = "answer every stream event with 204, whatever the cause"

// requireEvents skips a webhook case when the target has no webhook endpoint.
func requireEvents(c *Check) bool {
	if c.Target.Events == "" {
		c.Skip("no webhook endpoint configured (Target.Events), so no webhooks were sent")
		return false
	}
	return true
}

// judgeDeliveries judges the app's answer to each delivery: exactly 204
// passes, another 2xx is non-strict, anything else (or no answer) fails;
// and the answer must come within WebhookLatencyLimit. hint is what to do
// about a wrong status; it may depend on the delivery.
func (c *Check) judgeDeliveries(e *emulator.Emulator, ds []*emulator.Delivery, hint func(*emulator.Delivery) string) {
	for _, d := range ds {
		strict, msg := match(d, suite.BeAnsweredWith(http.StatusNoContent))
		if !strict {
			if ok2, _ := match(d, suite.BeAnswered2xx()); ok2 {
				first, rest := splitMessage(msg)
				c.NonStrict("%s", withHint(first, "Bandwidth accepts any 2xx, but documents 204 No Content as the answer to this event: answer 204 with no body"))
				c.Attach(rest)
			} else {
				c.failWith(msg, c.webhookHint(d, hint(d)))
			}
			c.attachDelivery(e, d)
		}
		if !d.Delivered() {
			continue
		}
		if ok, msg := match(d, suite.BeAnsweredWithin(WebhookLatencyLimit)); !ok {
			c.failWith(msg, fmt.Sprintf("answer within %s, well inside Bandwidth's callbackTimeout (15 s by default; a late answer is a failed delivery): answer first, then do any slow work", WebhookLatencyLimit))
			c.attachDelivery(e, d)
			continue
		}
		if strict {
			c.Pass("%s answered %d in %s", deliveryName(d), d.Status(), d.Final().Latency.Round(10*time.Microsecond))
		}
	}
}

// webhookHint explains a wrong answer, where the status says more than
// the case's hint.
func (c *Check) webhookHint(d *emulator.Delivery, hint string) string {
	a := d.Final()
	switch {
	case a.Error != "" && strings.Contains(a.Error, "no answer within"):
		return "answer every webhook, at once: Bandwidth counts a webhook not answered within its callbackTimeout as a failed delivery"
	case a.Error != "":
		return "the webhook endpoint could not be reached: is Target.Events right, and does the app serve it for every event?"
	case (a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden) && d.Authenticated:
		return "the app refused the webhook credentials of the run (Target.EventUser/EventPassword): are they the ones it expects?"
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		return "the app demands Basic credentials on webhooks: configure the ones it expects (Target.EventUser/EventPassword)"
	}
	return hint
}

// attachDelivery attaches the journal of the delivery's stream, or of its
// call for a call webhook (disconnect).
func (c *Check) attachDelivery(e *emulator.Emulator, d *emulator.Delivery) {
	switch {
	case d.Event == nil:
	case d.Event.MediaStream != nil:
		c.attachStreamID(e, d.Event.MediaStream.ID)
	default:
		c.attachCall(e, d.Event.CallID)
	}
}

// attachCall attaches the journal entries of a call (its streams' and its own).
func (c *Check) attachCall(e *emulator.Emulator, callID string) {
	const key = "call"
	var mine []emulator.Entry
	for _, en := range e.Journal().Entries() {
		if en.CallID == callID {
			en.StreamID = key
			mine = append(mine, en)
		}
	}
	if len(mine) > 0 {
		c.Attach(fmt.Sprintf("journal of call %s:\n%s", callID, indent(suite.JournalExcerpt(mine, key, journalEntries), "  ")))
	}
}

// deliveryName is the event type, with the cause and the copy.
func deliveryName(d *emulator.Delivery) string {
	if d.Event == nil {
		return "(unknown event)"
	}
	name := d.Event.EventType
	if d.Event.Cause != "" {
		name += " (" + d.Event.Cause + ")"
	}
	if d.Copy > 1 {
		name += " (duplicate)"
	}
	if d.Method == http.MethodGet {
		name += " by GET"
	}
	return name
}

// pick returns the deliveries of an event type (and cause, unless empty).
func pick(ds []*emulator.Delivery, eventType, cause string) []*emulator.Delivery {
	var out []*emulator.Delivery
	for _, d := range ds {
		if d.Event != nil && d.Event.EventType == eventType && (cause == "" || d.Event.Cause == cause) {
			out = append(out, d)
		}
	}
	return out
}

// expectDeliveries judges the deliveries of one event, which must exist.
// r, when given, is the stream whose webhooks they are: it explains a
// missing one.
func (c *Check) expectDeliveries(e *emulator.Emulator, ds []*emulator.Delivery, r *emulator.StreamResult, eventType, cause, hint string) {
	all := ds
	ds = pick(ds, eventType, cause)
	if len(ds) == 0 {
		what := eventType
		if cause != "" {
			what += " (" + cause + ")"
		}
		why := ""
		if r != nil && r.Ending != "" {
			why = fmt.Sprintf(": the stream ended with %s (by %s)%s, not as the case intends", r.Ending, r.By, prefixed(": ", r.ErrorMessage))
		}
		c.Fail("no %s webhook was sent, so its answer could not be checked%s (webhooks sent: %s)", what, why, names(all))
		return
	}
	c.judgeDeliveries(e, ds, func(*emulator.Delivery) string { return hint })
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func names(ds []*emulator.Delivery) string {
	if len(ds) == 0 {
		return "none"
	}
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += deliveryName(d)
	}
	return s
}

// webhookStream starts a stream, streams a little and ends it with end;
// it returns the stream's result. A stream the app ended on the way is no
// failure here (its webhooks are what the 5.x cases judge): its result is
// returned all the same.
func webhookStream(ctx context.Context, c *Check, call *emulator.Call, spec emulator.StreamSpec, end func(*emulator.Stream) (*emulator.StreamResult, error)) (*emulator.StreamResult, bool) {
	s, ok := c.Start(ctx, call, spec)
	if !ok {
		return nil, false
	}
	if err := s.Media(ctx, 200*time.Millisecond); err != nil {
		r, err := s.Wait(ctx)
		if err != nil {
			c.Fail("stream %q: %v", spec.Name, err)
			return nil, false
		}
		return r, true
	}
	r, err := end(s)
	if err != nil {
		c.Fail("stream %q: %v", spec.Name, err)
		return nil, false
	}
	return r, true
}

// 5.1
func answersStarted(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "started", protocol.EventMediaStreamStarted, "", "answer mediaStreamStarted with 204 as soon as it arrives", func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
		return s.Stop(ctx)
	})
}

// 5.2
func answersStoppedClosed(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-closed", protocol.EventMediaStreamStopped, protocol.CauseClosed, answerEvery, func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
		return s.Stop(ctx)
	})
}

// 5.3
func answersStoppedConnectionError(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-connection-error", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, answerEvery, func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
		return s.Inject(ctx, emulator.EndReset)
	})
}

// 5.4
func answersStoppedError(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-error", protocol.EventMediaStreamStopped, protocol.CauseError, answerEvery, func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
		return s.Inject(ctx, emulator.EndInternalError)
	})
}

// stoppedCase runs one stream to the given end and judges one of its
// webhooks.
func stoppedCase(ctx context.Context, c *Check, name, eventType, cause, hint string, end func(context.Context, *emulator.Stream) (*emulator.StreamResult, error)) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(nil)
	call, ok := c.Call(e, false)
	if !ok {
		return
	}
	r, ok := webhookStream(ctx, c, call, c.Spec(name), func(s *emulator.Stream) (*emulator.StreamResult, error) { return end(ctx, s) })
	if !ok {
		return
	}
	c.expectDeliveries(e, r.Deliveries, r, eventType, cause, hint)
	_ = call.Hangup(ctx)
}

// 5.5
func answersRejectedDuplicate(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(nil)
	call, ok := c.Call(e, false)
	if !ok {
		return
	}
	defer func() { _ = call.Hangup(ctx) }()
	if _, ok := c.Start(ctx, call, c.Spec("agent")); !ok {
		return
	}
	rejected(ctx, c, e, call, c.Spec("agent"), protocol.CauseDuplicate)
}

// 5.6
func answersRejectedTrackLimit(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(nil)
	call, ok := c.Call(e, false)
	if !ok {
		return
	}
	defer func() { _ = call.Hangup(ctx) }()
	for _, name := range []string{"first-two-tracks", "next-two-tracks"} {
		spec := c.Spec(name)
		spec.Tracks = protocol.TracksBoth
		if _, ok := c.Start(ctx, call, spec); !ok {
			return
		}
	}
	rejected(ctx, c, e, call, c.Spec("fifth-track"), protocol.CauseTrackLimit)
}

// rejected starts a stream Bandwidth rejects and judges the app's answer
// to mediaStreamRejected.
func rejected(ctx context.Context, c *Check, e *emulator.Emulator, call *emulator.Call, spec emulator.StreamSpec, cause string) {
	_, err := call.StartStream(ctx, spec)
	var rej *emulator.RejectedError
	if !errors.As(err, &rej) {
		c.Fail("stream %q was not rejected with %s (a bug in bwemu, not in the app): %v", spec.Name, cause, err)
		return
	}
	c.expectDeliveries(e, rej.Result.Deliveries, rej.Result, protocol.EventMediaStreamRejected, cause, answerEvery)
}

// 5.7
func answersRejectedConnectionError(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	dest, err := unreachableDestination()
	if err != nil {
		c.Fail("could not find an unreachable destination (a problem of the machine running bwemu): %v", err)
		return
	}
	e := c.Emulator(&emulator.Options{RejectOnConnectError: true})
	call, ok := c.Call(e, false)
	if !ok {
		return
	}
	spec := c.Spec("unreachable")
	spec.Destination = dest
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		c.Fail("could not start stream %q (a bug in bwemu, not in the app): %v", spec.Name, err)
		return
	}
	r, err := s.Wait(ctx)
	if err != nil {
		c.Fail("stream %q: %v", spec.Name, err)
		return
	}
	c.expectDeliveries(e, r.Deliveries, r, protocol.EventMediaStreamRejected, protocol.CauseConnectionError,
		answerEvery+" (connection-error: Bandwidth could not reach the destination, which may be another server of yours)")
	_ = call.Hangup(ctx)
}

// unreachableDestination is a ws:// URL on a loopback port nothing listens
// on: connecting to it is refused at once.
func unreachableDestination() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "ws://" + addr + "/media", nil
}

// hungUpStream streams on the call, ends it by hanging up, and makes sure
// the call has ended (and its disconnect gone out) even when the app ended
// the stream first; false when the stream itself went wrong.
func hungUpStream(ctx context.Context, c *Check, call *emulator.Call, spec emulator.StreamSpec) bool {
	_, ok := webhookStream(ctx, c, call, spec, func(s *emulator.Stream) (*emulator.StreamResult, error) {
		if err := call.Hangup(ctx); err != nil {
			return nil, err
		}
		return s.Wait(ctx)
	})
	if ok {
		_ = call.Hangup(ctx) // when the app ended the stream first: the disconnect goes out now
	}
	return ok
}

// 5.8
func answersDisconnect(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(nil)
	call, ok := c.Call(e, true)
	if !ok {
		return
	}
	if !hungUpStream(ctx, c, call, c.Spec("disconnect")) {
		return
	}
	c.expectDeliveries(e, e.Deliveries(), nil, protocol.EventDisconnect, "", "answer the disconnect webhook with 204, like the stream events")
}

// 5.9
func answersDuplicates(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(&emulator.Options{DuplicateWebhooks: true})
	call, ok := c.Call(e, true)
	if !ok {
		return
	}
	if !hungUpStream(ctx, c, call, c.Spec("duplicates")) {
		return
	}
	ds := e.Deliveries()
	if len(pick(ds, protocol.EventMediaStreamStarted, "")) < 2 {
		c.Fail("the webhooks were not delivered twice (a bug in bwemu, not in the app): %s", names(ds))
		return
	}
	c.judgeDeliveries(e, ds, func(d *emulator.Delivery) string {
		if d.Copy > 1 {
			return "Bandwidth retries a webhook once when it got no answer, so the same event can arrive twice: recognise the repeat (eventType, callId, mediaStream.id, eventTime) and answer 204 again, without acting on it twice"
		}
		return answerEvery
	})
}

// 5.10
func refusesUnauthenticatedWebhooks(ctx context.Context, c *Check) {
	t := c.Target
	if !requireEvents(c) {
		return
	}
	if !t.eventCredentials() {
		c.Info("no webhook credentials configured (Target.EventUser/EventPassword), so the refusal was not checked; StartStream's username/password put Basic credentials on every webhook, and an app should check them")
		return
	}
	e := c.Emulator(nil)
	call, ok := c.Call(e, false)
	if !ok {
		return
	}
	defer func() { _ = call.Hangup(ctx) }()
	tries := []struct{ name, user, password, what string }{
		{"events-without-credentials", "", "", "without credentials"},
		{"events-wrong-credentials", t.EventUser, t.EventPassword + "-wrong", "with a wrong password"},
	}
	refused := gomega.SatisfyAny(suite.BeAnsweredWith(http.StatusUnauthorized), suite.BeAnsweredWith(http.StatusForbidden))
	for _, try := range tries {
		spec := c.Spec(try.name)
		spec.Username, spec.Password = try.user, try.password
		r, ok := webhookStream(ctx, c, call, spec, func(s *emulator.Stream) (*emulator.StreamResult, error) { return s.Stop(ctx) })
		if !ok {
			return
		}
		for _, d := range r.Deliveries {
			if ok, _ := match(d, refused); ok {
				c.Pass("%s %s was refused with %d", deliveryName(d), try.what, d.Status())
				continue
			}
			_, msg := match(d, suite.BeAnsweredWith(http.StatusUnauthorized))
			first, rest := splitMessage(msg)
			switch ok2xx, _ := match(d, suite.BeAnswered2xx()); {
			case ok2xx:
				c.Fail("%s: %s", try.what, withHint(first, "the app took a webhook "+try.what+": check the Basic credentials (StartStream's username/password) on every webhook and answer 401 when they are missing or wrong"))
			case !d.Delivered():
				c.Fail("%s: %s", try.what, withHint(first, "refuse a webhook with bad credentials at once with 401, do not leave it unanswered"))
			default:
				c.NonStrict("%s: %s", try.what, withHint(first, "answer 401 (or 403) so that the refusal reads as an authentication failure"))
			}
			c.Attach(rest)
			c.attachDelivery(e, d)
		}
	}
}

// 5.11
func answersGETWebhooks(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	e := c.Emulator(nil)
	t := c.Target
	call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: t.Events, DisconnectMethod: http.MethodGet,
		Username: t.EventUser, Password: t.EventPassword})
	if err != nil {
		c.Fail("could not start a call (a bug in bwemu, not in the app): %v", err)
		return
	}
	spec := c.Spec("get-webhooks")
	spec.StreamEventMethod = http.MethodGet
	if !hungUpStream(ctx, c, call, spec) {
		return
	}
	c.judgeDeliveries(e, e.Deliveries(), func(*emulator.Delivery) string {
		return "with streamEventMethod=GET the webhooks come as GET requests with the fields in the query string (nested ones as dotted keys, mediaStream.id=…): accept them and answer 204"
	})
}
