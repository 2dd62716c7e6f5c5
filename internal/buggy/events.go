package buggy

import (
	"io"
	"net/http"
	"strings"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// serveEvent is the webhook endpoint (/events and /disconnect). Without a
// defect it answers 204 to every well-formed, authenticated event, repeats
// included.
func (s *Server) serveEvent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.webhooks++
	s.mu.Unlock()
	ev, ok := s.readEvent(w, r)
	if !ok || !s.holdAnswer(w, r, ev) {
		return
	}
	dup := s.record(ev)
	stopped := ev.EventType == protocol.EventMediaStreamStopped
	switch d := s.defect; {
	case d == NonIdempotent && dup:
		http.Error(w, "event already recorded", http.StatusConflict)
	case d == Status500OnConnectionError && stopped && ev.Cause == protocol.CauseConnectionError:
		http.Error(w, "stream failed: "+ev.ErrorMessage, http.StatusInternalServerError)
	case d == CrashOnErrorCause && stopped && ev.Cause != protocol.CauseClosed && ev.Cause != protocol.CauseConnectionError:
		http.Error(w, "panic: unexpected cause "+ev.Cause, http.StatusInternalServerError)
	case d == Status200:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"ok":true}`+"\n")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// readEvent checks a webhook's credentials and method and decodes it;
// false when it answered the request with an error instead.
func (s *Server) readEvent(w http.ResponseWriter, r *http.Request) (*protocol.Event, bool) {
	d := s.defect
	if d != NoEventAuth && !basicOK(r, s.opts.EventUser, s.opts.EventPassword) {
		unauthorized(w, "buggy-events")
		return nil, false
	}
	if d == NoGET && r.Method == http.MethodGet {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return nil, false
		}
	}
	ev, err := protocol.DecodeEvent(r.Method, r.URL.Query(), body)
	if err != nil || ev.EventType == "" {
		http.Error(w, "not a webhook", http.StatusBadRequest)
		return nil, false
	}
	return ev, true
}

// holdAnswer keeps the answer back as the slow defects do (SlowWebhooks,
// HungWebhooks, StartedAfterStream); false when Close or the caller ended
// the wait first, the request then answered already (or given up).
func (s *Server) holdAnswer(w http.ResponseWriter, r *http.Request, ev *protocol.Event) bool {
	d := s.defect
	if (d == SlowWebhooks && !s.wait(s.opts.WebhookDelay)) || (d == HungWebhooks && !s.wait(LateWebhookDelay)) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return false
	}
	if d != StartedAfterStream || ev.EventType != protocol.EventMediaStreamStarted || ev.MediaStream == nil {
		return true
	}
	// The whole stream is processed here, before the answer.
	select {
	case <-s.endedChan(ev.MediaStream.ID):
		return true
	case <-s.done:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	case <-r.Context().Done():
		// The caller gave up; the handler still returns.
	}
	return false
}

// record remembers an event by what identifies it across retries, and
// reports whether it was seen before.
func (s *Server) record(ev *protocol.Event) bool {
	id := ""
	if ev.MediaStream != nil {
		id = ev.MediaStream.ID
	}
	key := strings.Join([]string{ev.EventType, ev.CallID, id, ev.EventTime.String()}, "|")
	s.mu.Lock()
	defer s.mu.Unlock()
	dup := s.events[key]
	s.events[key] = true
	return dup
}
