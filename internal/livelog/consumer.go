package livelog

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bwemu/bwemu/internal/consumer"
)

// Consumer returns the lines of one of the reference consumer's
// activities: one, or two for a socket that closed (its frame summary,
// then how it closed).
func Consumer(a consumer.Activity) []Line {
	l := Line{Time: a.Time, Level: Info, Kind: "stream", What: string(a.Kind), CallID: a.CallID,
		StreamID: a.StreamID, StreamName: a.StreamName, Conn: a.Conn}
	switch a.Kind {
	case consumer.ActivityRefused:
		l.Level, l.Status, l.Error = Error, a.Status, a.Detail
		l.Message = "handshake refused: " + a.Detail
		if a.Status != 0 {
			l.Message = fmt.Sprintf("handshake refused with %d: %s", a.Status, a.Detail)
		}
	case consumer.ActivityStarted:
		l.Message = fmt.Sprintf("started: call %s, %s", Short(a.CallID), strings.Join(a.Tracks, " + "))
	case consumer.ActivityStopped:
		l.Message = "stop received"
	case consumer.ActivityViolation:
		l.Level, l.Error = Warn, a.Detail
		l.Message = "protocol error: " + a.Detail
	case consumer.ActivityClosed:
		f := l
		f.What, f.Frames, f.BadFrames = "frames", a.Frames, a.BadFrames
		f.Message = fmt.Sprintf("%s, %d bad", frames(a.Frames), a.BadFrames)
		return []Line{f, closed(l, a)}
	case consumer.ActivityWebhook:
		return []Line{consumerWebhook(l, a)}
	default:
		l.Message = string(a.Kind)
	}
	return []Line{l}
}

// closed says how a consumer's socket closed: "closed by the peer 1000",
// "closed by the consumer 1001", or dropped.
func closed(l Line, a consumer.Activity) Line {
	l.CloseCode = a.CloseCode
	l.ClosedBy = "peer"
	if a.ClosedByConsumer {
		l.ClosedBy = "consumer"
	}
	switch {
	case a.CloseCode == 1006:
		l.Level = Warn
		l.Message = "dropped without a close frame (1006)"
	case a.ClosedByConsumer:
		l.Message = fmt.Sprintf("closed by the consumer %d", a.CloseCode)
	default:
		l.Message = fmt.Sprintf("closed by the peer %d", a.CloseCode)
	}
	if !a.StopSeen && a.CloseCode != 1006 {
		l.Message += ", no stop before it"
	}
	return l
}

// consumerWebhook is "mediaStreamStopped (closed) → 204 in 41µs", or why
// the webhook was refused.
func consumerWebhook(l Line, a consumer.Activity) Line {
	l.Kind, l.Event, l.Cause, l.Method, l.Status, l.Duplicate = "webhook", a.EventType, a.Cause, a.Method, a.Status, a.Duplicate
	l.LatencyMs = ms(a.Latency)
	l.What = "answered"
	what := a.EventType
	if what == "" {
		what = a.Method
	}
	if a.Cause != "" {
		what += " (" + a.Cause + ")"
	}
	l.Message = fmt.Sprintf("%s → %d in %s", what, a.Status, Duration(a.Latency))
	if a.Duplicate {
		l.Message += " (duplicate: acknowledged, not processed again)"
	}
	if a.Detail != "" {
		l.What, l.Error = "refused", a.Detail
		l.Message += ": " + a.Detail
	}
	if a.Status != http.StatusNoContent {
		l.Level = Warn
	}
	return l
}
