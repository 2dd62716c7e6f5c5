package consumer

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/statuswriter"
)

// serveEvent is StartStream's streamEventUrl. Unless StrictEvents is set
// it takes disconnect too.
func (c *Consumer) serveEvent(w http.ResponseWriter, r *http.Request) {
	c.serveWebhook(w, r, func(eventType string) bool {
		return !c.opts.StrictEvents || strings.HasPrefix(eventType, "mediaStream")
	})
}

// serveDisconnect is the call's disconnectUrl.
func (c *Consumer) serveDisconnect(w http.ResponseWriter, r *http.Request) {
	c.serveWebhook(w, r, func(eventType string) bool {
		return !c.opts.StrictEvents || eventType == protocol.EventDisconnect
	})
}

// serveWebhook decodes, records and answers one webhook, and reports it
// to Observe's function; accepts says which event types the endpoint takes.
func (c *Consumer) serveWebhook(w http.ResponseWriter, r *http.Request, accepts func(eventType string) bool) {
	began := time.Now()
	sw := statuswriter.New(w)
	ev, dup, refusal := c.answerWebhook(sw, r, accepts)
	c.observe(webhookActivity(r, ev, dup, sw.Status(), refusal, began))
}

// answerWebhook decodes, records and answers one webhook. It returns the
// event (nil when it did not decode), whether it was a duplicate, and why
// it was refused ("" when it was not).
func (c *Consumer) answerWebhook(w *statuswriter.Writer, r *http.Request, accepts func(eventType string) bool) (*protocol.Event, bool, string) {
	if c.opts.PostOnly && r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are accepted as POST only", http.StatusMethodNotAllowed)
		return nil, false, "webhooks are accepted as POST only"
	}
	user, ok := checkBasic(w, r, c.opts.EventUser, c.opts.EventPassword, "bwemu-consumer-events")
	if !ok {
		c.log.Warn("webhook rejected: bad or missing credentials", "method", r.Method, "remote", r.RemoteAddr)
		return nil, false, "bad or missing credentials"
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		// The writer itself, not the recorder: MaxBytesReader closes the
		// connection after a body too large only through it.
		body, err = io.ReadAll(http.MaxBytesReader(w.ResponseWriter, r.Body, maxEventBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "webhook body too large", http.StatusRequestEntityTooLarge)
				return nil, false, "webhook body too large"
			}
			http.Error(w, "reading webhook body: "+err.Error(), http.StatusBadRequest)
			return nil, false, "reading webhook body: " + err.Error()
		}
	}
	ev, err := protocol.DecodeEvent(r.Method, r.URL.Query(), body)
	if err != nil {
		c.log.Warn("webhook does not decode", "method", r.Method, "err", err)
		http.Error(w, "webhook does not decode: "+err.Error(), http.StatusBadRequest)
		return nil, false, "webhook does not decode: " + err.Error()
	}
	if ev.EventType == "" {
		// An empty body or query decodes without error; without an
		// eventType there is nothing to act on.
		c.log.Warn("webhook has no eventType", "method", r.Method)
		http.Error(w, "webhook has no eventType", http.StatusBadRequest)
		return ev, false, "webhook has no eventType"
	}
	if !accepts(ev.EventType) {
		c.log.Warn("webhook of a type this endpoint does not take", "eventType", ev.EventType, "path", r.URL.Path)
		http.Error(w, "unexpected eventType "+ev.EventType, http.StatusBadRequest)
		return ev, false, "unexpected eventType " + ev.EventType + " at " + r.URL.Path
	}

	dup := c.recordEvent(ev, r.Method, user)
	c.log.Info("webhook received", "eventType", ev.EventType, "callId", ev.CallID,
		"cause", ev.Cause, "method", r.Method, "duplicate", dup)
	// 204 and nothing else: Bandwidth reads no body from stream events.
	// Answer before doing anything slow; a late answer is a failed delivery.
	w.WriteHeader(http.StatusNoContent)
	return ev, dup, ""
}

// eventKey identifies an event across retries. Bandwidth resends the same
// payload, so these fields match exactly on a retry, while two genuinely
// different events differ in at least one of them.
func eventKey(ev *protocol.Event) string {
	streamID := ""
	if ev.MediaStream != nil {
		streamID = ev.MediaStream.ID
	}
	return strings.Join([]string{ev.EventType, ev.CallID, streamID, ev.EventTime.String()}, "|")
}

// recordEvent stores ev unless it was seen before, in which case it counts
// a duplicate. It reports whether ev was a duplicate.
func (c *Consumer) recordEvent(ev *protocol.Event, method, user string) bool {
	key := eventKey(ev)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.notify()
	if prev, ok := c.eventIdx[key]; ok {
		prev.Duplicates++
		return true
	}
	rec := &EventRecord{Event: *ev, Method: method, AuthUser: user, ReceivedAt: time.Now().UTC()}
	c.events = append(c.events, rec)
	c.eventIdx[key] = rec
	return false
}
