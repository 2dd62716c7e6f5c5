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
	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/suite"
)

// WebhookLatencyLimit is how quickly a webhook should be answered: well
// inside Bandwidth's callbackTimeout (15 s by default), since an app that
// answers slowly under test may answer too late under load. A slower
// answer inside the callbackTimeout is one Bandwidth takes, so it is
// non-strict; only past the callbackTimeout is it a failed delivery.
const WebhookLatencyLimit = 2 * time.Second

// answerEvery is the 5.x cases' advice for stream events.
const answerEvery = "answer every stream event with 204, whatever the cause"

// requireEvents skips a webhook case when the target has no webhook endpoint.
func requireEvents(c *Check) bool {
	if c.Target.Events == "" {
		c.Skip("no webhook endpoint configured (Target.Events, --events), so no stream events were sent")
		return false
	}
	return true
}

// eventsCall is newCall for a case about stream events: it skips the case
// instead when the target has no webhook endpoint.
func eventsCall(c *Check, opts *emulator.Options, disconnect bool) (*emulator.Emulator, *emulator.Call, bool) {
	if !requireEvents(c) {
		return nil, nil, false
	}
	return c.newCall(opts, disconnect)
}

// judgeDeliveries judges the app's answer to each delivery: exactly 204
// passes, another 2xx is non-strict, anything else (or no answer within
// the callbackTimeout) fails; an answer slower than WebhookLatencyLimit is
// non-strict.
// hint is what to do about a wrong status; it may depend on the delivery.
// A delivery the run's interruption cut off is not judged.
func (c *Check) judgeDeliveries(e *emulator.Emulator, ds []*emulator.Delivery, hint func(*emulator.Delivery) string) {
	for _, d := range ds {
		if d.Interrupted() {
			continue
		}
		a := d.Final()
		if a.NoAnswer == emulator.NoAnswerTimeout {
			c.Fail("the %s webhook was not answered within %s — %s", deliveryName(d), c.WebhookBound(), c.webhookHint(d, hint(d)))
			c.attachDelivery(e, d)
			continue
		}
		strict, msg := match(d, suite.BeAnsweredWith(http.StatusNoContent))
		if !strict {
			first, rest := splitMessage(msg)
			switch ok2xx, _ := match(d, suite.BeAnswered2xx()); {
			case ok2xx:
				c.NonStrict("%s", withHint(first, "Bandwidth accepts any 2xx, but documents 204 No Content as the answer to this event: answer 204 with no body"))
			case undocumentedGET(d):
				c.NonStrict("%s", withHint(first, "how Bandwidth encodes the nested mediaStream object in a GET query is undocumented; bwemu sends dotted keys (mediaStream.id=…, mediaStream.tracks=…): if the app expects another encoding, check what Bandwidth sends; the top-level fields must decode either way"))
			default:
				c.Fail("%s", withHint(first, c.webhookHint(d, hint(d))))
			}
			c.Attach(rest)
			c.attachDelivery(e, d)
		}
		if !d.Delivered() {
			continue
		}
		if ok, msg := match(d, suite.BeAnsweredWithin(WebhookLatencyLimit)); !ok {
			first, rest := splitMessage(msg)
			c.NonStrict("%s", withHint(first, fmt.Sprintf("Bandwidth took the answer, inside the callbackTimeout (%s), but answer within %s: answer first, then do any slow work, or under load the answer comes past the callbackTimeout and the delivery fails", c.WebhookBound(), WebhookLatencyLimit)))
			c.Attach(rest)
			c.attachDelivery(e, d)
			continue
		}
		if strict {
			c.Pass("%s answered %d in %s", deliveryName(d), d.Status(), d.Final().Latency.Round(10*time.Microsecond))
		}
	}
}

// undocumentedGET reports a stream event sent as GET that the app refused
// as malformed: the query encoding of its nested fields is undocumented.
func undocumentedGET(d *emulator.Delivery) bool {
	s := d.Status()
	return d.Method == http.MethodGet && d.Event != nil && d.Event.MediaStream != nil &&
		s >= 400 && s < 500 && s != http.StatusUnauthorized && s != http.StatusForbidden && s != http.StatusMethodNotAllowed && s != http.StatusNotFound
}

// webhookHint explains a wrong answer, where the status says more than
// the case's hint.
func (c *Check) webhookHint(d *emulator.Delivery, hint string) string {
	a := d.Final()
	endpoint := "Target.Events, --events"
	if d.Event != nil && d.Event.EventType == protocol.EventDisconnect {
		endpoint = "Target.Disconnect, --disconnect"
	}
	switch {
	case a.NoAnswer == emulator.NoAnswerTimeout:
		return c.unansweredHint()
	case a.Error != "":
		return "the webhook endpoint could not be reached: is " + endpoint + " right, and does the app serve it for every event?"
	case a.Status == http.StatusMethodNotAllowed && d.Method == http.MethodGet:
		flag := "--event-method GET (Target.EventMethod)"
		if d.Event != nil && d.Event.EventType == protocol.EventDisconnect {
			flag = "--disconnect-method GET (Target.DisconnectMethod)"
		}
		return "the app refused a GET, though " + flag + " says it asks Bandwidth for GET webhooks: route GET to the webhook handler too, or, if the app uses POST, run without " + strings.Fields(flag)[0] + " " + strings.Fields(flag)[1]
	case (a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden) && d.Authenticated:
		return "the app refused the webhook credentials of the run (Target.EventUser/EventPassword): are they the ones it expects?"
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		return "the app demands Basic credentials on webhooks: configure the ones it expects (Target.EventUser/EventPassword)"
	case a.Status == http.StatusNotFound:
		return "the app answered 404: is " + endpoint + " the URL its handler serves?"
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
		c.Attach(fmt.Sprintf("journal of call %s:\n%s", callID, prose.Indent(suite.JournalExcerpt(mine, key, journalEntries), "  ")))
	}
}

// eventName is an event type with its cause, if any.
func eventName(eventType, cause string) string {
	if cause == "" {
		return eventType
	}
	return eventType + " (" + cause + ")"
}

// deliveryName is the delivery's name, saying when it came by GET.
func deliveryName(d *emulator.Delivery) string {
	if d.Method == http.MethodGet {
		return d.Name() + " by GET"
	}
	return d.Name()
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
		why := ""
		if r != nil && r.Ending != "" {
			why = fmt.Sprintf(": the stream ended with %s (by %s)%s, not as the case intends", r.Ending, r.By, prefixed(": ", r.ErrorMessage))
		}
		c.Fail("no %s webhook was sent, so its answer could not be checked%s (webhooks sent: %s)", eventName(eventType, cause), why, names(all))
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
// it returns the stream's result, for its webhooks. A stream the app ended
// on the way (or that ended by a fault of the app) fails the case, but its
// result is returned all the same, so that its webhooks are judged too.
func webhookStream(ctx context.Context, c *Check, call *emulator.Call, spec emulator.StreamSpec, end ending) (*emulator.StreamResult, bool) {
	s, ok := c.Start(ctx, call, spec)
	if !ok {
		return nil, false
	}
	what := fmt.Sprintf("stream %q", spec.Name)
	if err := s.Media(ctx, 200*time.Millisecond); err == nil {
		settle(ctx, s)
		if _, err := end(ctx, s); err != nil {
			c.Fail("%s: %v", what, err)
			return nil, false
		}
	}
	r, err := s.Wait(ctx)
	if err != nil {
		c.Fail("%s: %v", what, err)
		return nil, false
	}
	c.expectNoAppFault(ctx, s, what, "")
	return r, true
}

// 5.1
func answersStarted(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "started", protocol.EventMediaStreamStarted, "", "answer mediaStreamStarted with 204 as soon as it arrives", endByStop)
}

// 5.2
func answersStoppedClosed(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-closed", protocol.EventMediaStreamStopped, protocol.CauseClosed, answerEvery, endByStop)
}

// 5.3
func answersStoppedConnectionError(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-connection-error", protocol.EventMediaStreamStopped, protocol.CauseConnectionError, answerEvery, endByFault(emulator.FaultReset))
}

// 5.4
func answersStoppedError(ctx context.Context, c *Check) {
	stoppedCase(ctx, c, "stopped-error", protocol.EventMediaStreamStopped, protocol.CauseError, answerEvery, endByFault(emulator.FaultError))
}

// stoppedCase runs one stream to the given end and judges one of its
// webhooks.
func stoppedCase(ctx context.Context, c *Check, name, eventType, cause, hint string, end ending) {
	e, call, ok := eventsCall(c, nil, false)
	if !ok {
		return
	}
	r, ok := webhookStream(ctx, c, call, c.Spec(name), end)
	if !ok {
		return
	}
	c.expectDeliveries(e, r.Deliveries, r, eventType, cause, hint)
	_ = call.Hangup(ctx)
}

// hangUpLive hangs up a call whose streams are live and checks that none
// of them ended by a fault of the app.
func hangUpLive(ctx context.Context, c *Check, call *emulator.Call, streams ...*emulator.Stream) {
	if err := call.Hangup(ctx); err != nil && !errors.Is(err, emulator.ErrCallEnded) {
		c.Fail("hanging up: %v", err)
		return
	}
	for _, s := range streams {
		c.expectNoAppFault(ctx, s, fmt.Sprintf("stream %q, at the hangup", s.Name), "")
	}
}

// 5.5
func answersRejectedDuplicate(ctx context.Context, c *Check) {
	_, call, ok := eventsCall(c, nil, false)
	if !ok {
		return
	}
	s, ok := c.Start(ctx, call, c.Spec("agent"))
	if !ok {
		_ = call.Hangup(ctx)
		return
	}
	rejected(ctx, c, call, c.Spec("agent"), protocol.CauseDuplicate)
	hangUpLive(ctx, c, call, s)
}

// 5.6
func answersRejectedTrackLimit(ctx context.Context, c *Check) {
	_, call, ok := eventsCall(c, nil, false)
	if !ok {
		return
	}
	var live []*emulator.Stream
	for _, name := range []string{"first-two-tracks", "next-two-tracks"} {
		spec := c.Spec(name)
		spec.Tracks = protocol.TracksBoth
		s, ok := c.Start(ctx, call, spec)
		if !ok {
			_ = call.Hangup(ctx)
			return
		}
		live = append(live, s)
	}
	rejected(ctx, c, call, c.Spec("fifth-track"), protocol.CauseTrackLimit)
	hangUpLive(ctx, c, call, live...)
}

// rejected starts a stream Bandwidth rejects and judges the app's answer
// to mediaStreamRejected.
func rejected(ctx context.Context, c *Check, call *emulator.Call, spec emulator.StreamSpec, cause string) {
	_, err := call.StartStream(ctx, spec)
	var rej *emulator.RejectedError
	if !errors.As(err, &rej) {
		if ctx.Err() == nil {
			c.Fail("stream %q was not rejected with %s (a bug in bwemu, not in the app): %v", spec.Name, cause, err)
		}
		return
	}
	c.expectDeliveries(call.Emulator(), rej.Result.Deliveries, rej.Result, protocol.EventMediaStreamRejected, cause, answerEvery)
}

// 5.7
func answersRejectedConnectionError(ctx context.Context, c *Check) {
	e, call, ok := eventsCall(c, &emulator.Options{RejectOnConnectError: true}, false)
	if !ok {
		return
	}
	dest, err := unreachableDestination()
	if err != nil {
		c.Fail("could not find an unreachable destination (a problem of the machine running bwemu): %v", err)
		return
	}
	spec := c.Spec("unreachable")
	spec.Destination = dest
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		c.Fail("could not start stream %q (a bug in bwemu, not in the app): %v", spec.Name, err)
		return
	}
	// The destination is bwemu's own unused port, not the app: the
	// connect-refused ending is the point of the case.
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
// the stream first; false when the stream itself could not be judged.
func hungUpStream(ctx context.Context, c *Check, call *emulator.Call, spec emulator.StreamSpec) bool {
	_, ok := webhookStream(ctx, c, call, spec, endByHangup)
	if ok {
		_ = call.Hangup(ctx) // when the app ended the stream first: the disconnect goes out now
	}
	return ok
}

// requireDisconnect makes a disconnect case informational when the target
// has no disconnect URL.
func requireDisconnect(c *Check) bool {
	if c.Target.Disconnect == "" {
		c.Info("no disconnect URL configured (Target.Disconnect, --disconnect), so no disconnect webhook was sent: Bandwidth sends disconnect only to the call's disconnectUrl, never to the streamEventUrl; give the app's disconnect endpoint to check it")
		return false
	}
	return true
}

// 5.8
func answersDisconnect(ctx context.Context, c *Check) {
	if !requireDisconnect(c) {
		return
	}
	e, call, ok := c.newCall(nil, true)
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
	e, call, ok := eventsCall(c, &emulator.Options{DuplicateWebhooks: true}, true)
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
	e, call, ok := c.newCall(nil, false)
	if !ok {
		return
	}
	defer func() { _ = call.Hangup(ctx) }()
	refused := gomega.SatisfyAny(suite.BeAnsweredWith(http.StatusUnauthorized), suite.BeAnsweredWith(http.StatusForbidden))
	for _, try := range wrongCredentials("events-without-credentials", "events-wrong-credentials", t.EventUser, t.EventPassword) {
		spec := c.Spec(try.name)
		spec.Username, spec.Password = try.user, try.password
		r, ok := webhookStream(ctx, c, call, spec, endByStop)
		if !ok {
			return
		}
		if len(r.Deliveries) == 0 {
			c.Fail("%s: no webhook was sent, so no refusal could be checked (a bug in bwemu, not in the app)", try.what)
			continue
		}
		for _, d := range r.Deliveries {
			if d.Interrupted() {
				continue
			}
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
	t := c.Target
	events, disconnect := t.eventsByGET(), t.disconnectByGET()
	if !events && !disconnect {
		c.Info("the app does not ask for GET webhooks (no --event-method GET or --disconnect-method GET; Target.EventMethod, Target.DisconnectMethod), so none was sent: Bandwidth uses GET only when the StartStream says streamEventMethod=\"GET\" (or the call's disconnectMethod is GET), and an app that never asks for GET may refuse it")
		return
	}
	e, call, ok := c.newCall(nil, disconnect)
	if !ok {
		return
	}
	spec := c.Spec("get-webhooks")
	if !events {
		spec.StreamEventURL = "" // POST stream events are the other cases' business
	}
	if !hungUpStream(ctx, c, call, spec) {
		return
	}
	var gets []*emulator.Delivery
	for _, d := range e.Deliveries() {
		if d.Method == http.MethodGet {
			gets = append(gets, d)
		}
	}
	if len(gets) == 0 {
		c.Fail("no webhook was sent as GET, so no GET answer could be checked (webhooks sent: %s)", names(e.Deliveries()))
		return
	}
	c.judgeDeliveries(e, gets, func(*emulator.Delivery) string {
		return "with streamEventMethod=GET (or disconnectMethod GET) the webhooks come as GET requests with the fields in the query string: accept them and answer 204"
	})
}

// 5.12
func answersStartedWhileLive(ctx context.Context, c *Check) {
	if !requireEvents(c) {
		return
	}
	bound := c.WebhookBound()
	hint := ("the stream was live all along: answer mediaStreamStarted at once and process the stream elsewhere (on its own goroutine, task or worker): a handler that answers only once the stream is over answers after minutes on a real call, long past Bandwidth's callbackTimeout (15 s by default)")
	c.onUnanswered(hint)
	e, call, ok := c.newCall(nil, false)
	if !ok {
		return
	}
	spec := c.Spec("started-while-live")
	spec.Pace = emulator.Realtime // audio keeps flowing while the answer is awaited
	s, ok := c.Start(ctx, call, spec)
	if !ok {
		_ = call.Hangup(ctx)
		return
	}
	// Keep the stream live until mediaStreamStarted is answered, or the
	// bound has passed: a correct app answers in milliseconds.
	wctx, cancel := context.WithTimeout(ctx, bound+time.Second)
	en, err := e.Journal().WaitFor(wctx, func(en emulator.Entry) bool {
		return en.StreamID == s.ID && ((en.Kind == emulator.KindWebhook && en.Event == protocol.EventMediaStreamStarted) || en.Kind == emulator.KindEnding)
	})
	cancel()
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		c.Fail("the mediaStreamStarted webhook was not answered within %s while its stream was live — %s", bound, hint)
		c.AttachStream(s)
	case en.Kind == emulator.KindEnding:
		c.Fail("stream %q ended before its mediaStreamStarted webhook was answered: %s", s.Name, en.Message)
		c.AttachStream(s)
	case en.Error != "":
		c.Fail("the mediaStreamStarted webhook was not answered while its stream was live: %s — %s", en.Error, hint)
		c.AttachStream(s)
	default:
		c.Pass("mediaStreamStarted was answered %d in %s, while the stream was live (%s of audio streamed by then)", en.Code, en.Latency.Round(10*time.Microsecond), s.Progress())
	}
	if r, err := s.Stop(ctx); err == nil {
		c.expectEnded(s, r, emulator.EndStopStream, fmt.Sprintf("stream %q", s.Name), "")
	}
	_ = call.Hangup(ctx)
}
