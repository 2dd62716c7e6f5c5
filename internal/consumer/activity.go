package consumer

import (
	"maps"
	"net/http"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// ActivityKind is what an Activity reports.
type ActivityKind string

// The activities a consumer reports to Consumer.Observe's function.
const (
	// ActivityRefused is a WebSocket handshake answered without an
	// upgrade (Status says how, Detail why).
	ActivityRefused ActivityKind = "refused"
	// ActivityStarted is a start message taken (the stream's ids, Tracks).
	ActivityStarted ActivityKind = "started"
	// ActivityStopped is a stop message taken.
	ActivityStopped ActivityKind = "stopped"
	// ActivityViolation is something on the socket that breaks the
	// protocol (Detail); the socket stays up.
	ActivityViolation ActivityKind = "violation"
	// ActivityClosed is a socket that has closed: the frames it carried
	// and how it closed.
	ActivityClosed ActivityKind = "closed"
	// ActivityWebhook is a webhook answered, whatever the answer (Status).
	ActivityWebhook ActivityKind = "webhook"
)

// Activity is one thing the consumer did or saw, reported as it happens
// to Consumer.Observe's function: what a live log prints. Fields that do not apply to
// its kind are zero. It never holds a credential: neither the Basic
// credentials nor the destination's query string (which may carry a
// token) are reported.
type Activity struct {
	Time time.Time
	Kind ActivityKind
	// Conn numbers the socket as StreamRecord.Conn does (0 for webhooks).
	Conn int
	// The stream's ids, from its start message, or the webhook's.
	CallID, StreamID, StreamName string
	// Tracks are the tracks a start message announced.
	Tracks []string
	// Frames are the media frames accepted by track, BadFrames those
	// refused, when a socket closed.
	Frames    map[string]int
	BadFrames int
	// CloseCode and ClosedByConsumer say how a socket closed, as in
	// StreamRecord; StopSeen whether stop came first.
	CloseCode        int
	ClosedByConsumer bool
	StopSeen         bool
	// EventType, Cause, Method and Duplicate describe a webhook; Status
	// is the HTTP status a webhook or a refused handshake was answered
	// with, and Latency how long the answer took.
	EventType, Cause, Method string
	Duplicate                bool
	Status                   int
	Latency                  time.Duration
	// Detail says why a handshake or a webhook was refused, or what a
	// violation was.
	Detail string
}

// Observe makes f be told of every stream start, stop, violation and
// close, every refused handshake and every webhook answered, from now on,
// as they happen (bwemu consumer's live log). f is called from the
// handlers' goroutines, without the consumer's lock held, so it may ask
// the consumer for its state; while it runs, that socket or webhook
// waits. It is a method rather than an Options field so that Options
// stays comparable: callers share consumers by their options.
func (c *Consumer) Observe(f func(Activity)) { c.observer.Store(&f) }

// observe reports a to the observer, when there is one. Callers must not
// hold c.mu: the observer may be slow (a terminal) or ask the consumer
// for its state.
func (c *Consumer) observe(a Activity) {
	f := c.observer.Load()
	if f == nil || *f == nil {
		return
	}
	a.Time = time.Now()
	(*f)(a)
}

// startedActivity is the activity of a start message just recorded.
// Callers hold c.mu.
func (s *stream) startedActivity() Activity {
	a := s.activity(ActivityStarted)
	for _, t := range s.rec.Tracks {
		a.Tracks = append(a.Tracks, t.Name)
	}
	return a
}

// activity is an activity of this stream with its ids. Callers hold c.mu.
func (s *stream) activity(kind ActivityKind) Activity {
	return Activity{Kind: kind, Conn: s.rec.Conn, CallID: s.rec.CallID, StreamID: s.rec.StreamID, StreamName: s.rec.StreamName}
}

// closedActivity is the activity of the socket's end. Callers hold c.mu.
func (s *stream) closedActivity() Activity {
	a := s.activity(ActivityClosed)
	a.Frames, a.BadFrames = maps.Clone(s.rec.FramesByTrack), s.rec.BadFrames
	a.CloseCode, a.ClosedByConsumer, a.StopSeen = s.rec.CloseCode, s.rec.ClosedByConsumer, s.rec.StopSeen
	return a
}

// reportViolations reports the violations recorded since the last call.
// Only the handler goroutine records violations and calls it.
func (s *stream) reportViolations() {
	// Only the handler goroutine, which runs this, adds errors.
	if s.c.observer.Load() == nil || s.reported == len(s.rec.Errors) {
		return
	}
	s.c.mu.Lock()
	var out []Activity
	for _, msg := range s.rec.Errors[s.reported:] {
		a := s.activity(ActivityViolation)
		a.Detail = msg
		out = append(out, a)
	}
	s.reported = len(s.rec.Errors)
	s.c.mu.Unlock()
	for _, a := range out {
		s.c.observe(a)
	}
}

// webhookActivity is the activity of one webhook: what it was, when it
// decoded (ev may be nil), and the answer.
func webhookActivity(r *http.Request, ev *protocol.Event, dup bool, status int, detail string, began time.Time) Activity {
	a := Activity{Kind: ActivityWebhook, Method: r.Method, Status: status, Duplicate: dup, Detail: detail, Latency: time.Since(began)}
	if ev != nil {
		a.EventType, a.Cause, a.CallID = ev.EventType, ev.Cause, ev.CallID
		if ev.MediaStream != nil {
			a.StreamID, a.StreamName = ev.MediaStream.ID, ev.MediaStream.Name
		}
	}
	return a
}
