package voiceapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// maxJSONBody bounds a JSON request body.
const maxJSONBody = 1 << 20

// isMedia reports whether the request's Content-Type is want (parameters
// such as charset allowed).
func isMedia(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

func (x *exchange) unsupported(r *http.Request, want string) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "none"
	}
	x.fail(http.StatusUnsupportedMediaType, TypeValidation,
		fmt.Sprintf("Content-Type %s is not supported: send %s", ct, want))
}

// request is a JSON request body that checks itself as Bandwidth does,
// filling in defaults, and returns the first problem.
type request interface{ validate() (problem string) }

// readRequest reads a JSON body into q and validates it, keeping a
// redacted copy for the journal; a body of another Content-Type is
// answered 415, an invalid one 400.
func (x *exchange) readRequest(r *http.Request, q request) bool {
	if !x.readJSON(r, q) {
		return false
	}
	if problem := q.validate(); problem != "" {
		x.invalid(problem)
		return false
	}
	return true
}

func (x *exchange) readJSON(r *http.Request, v any) bool {
	if !isMedia(r, "application/json") {
		x.unsupported(r, "application/json")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		x.invalid("There is something wrong with the request: reading the body: " + err.Error())
		return false
	}
	if len(body) > maxJSONBody {
		x.invalid(fmt.Sprintf("There is something wrong with the request: the body is larger than %d bytes", maxJSONBody))
		return false
	}
	x.data = redactJSON(body)
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		x.invalid("There is something wrong with the request: " + err.Error())
		return false
	}
	return true
}

// lookup finds the path's call, answering 404 when there is none.
func (s *Server) lookup(x *exchange) *Call {
	c := s.Call(x.callID)
	if c == nil {
		x.fail(http.StatusNotFound, TypeValidation, "Call ["+x.callID+"] not found")
	}
	return c
}

// live finds the path's call, answering 404 when there is none or it has ended.
func (s *Server) live(x *exchange) *Call {
	c := s.lookup(x)
	if c != nil && c.ended() {
		x.fail(http.StatusNotFound, TypeValidation, "Call ["+x.callID+"] not found: it has ended")
		return nil
	}
	return c
}

// createCall is POST /accounts/{accountId}/calls.
func (s *Server) createCall(x *exchange, r *http.Request) {
	var q createCallRequest
	if !x.readRequest(r, &q) {
		return
	}
	// The gate opens once the response is out and journaled, even if
	// writing it failed: the answer webhook comes after it in every record.
	gate := make(chan struct{})
	x.after = append(x.after, func() { close(gate) })
	c, err := s.start(withGate(s.ctx, gate), q.callOptions())
	switch {
	case errors.Is(err, ErrClosed):
		x.fail(http.StatusServiceUnavailable, TypeUnavailable, "the emulator is shutting down: no new calls")
		return
	case errors.Is(err, emulator.ErrClosed):
		x.fail(http.StatusServiceUnavailable, TypeUnavailable, "the emulator is closed: no new calls")
		return
	case err != nil:
		x.invalid("Could not create call: " + err.Error())
		return
	}
	x.callID = c.ID
	resp := q.response(c)
	if q.AnswerFallbackURL != "" {
		x.note = "answerFallbackUrl is echoed but not used: the emulator fetches only answerUrl"
	}
	x.Header().Set("Location", baseURL(r)+VoicePrefix+"/accounts/"+s.account+"/calls/"+c.ID)
	writeJSON(x, http.StatusCreated, resp)
	_ = http.NewResponseController(x.ResponseWriter).Flush() // out before the gate opens
}

// baseURL is scheme://host of the request as the client addressed it.
func baseURL(r *http.Request) string {
	scheme := "http"
	switch {
	case r.TLS != nil:
		scheme = "https"
	case r.URL.Scheme != "": // a client-side request, as httpmock passes it
		scheme = r.URL.Scheme
	}
	return scheme + "://" + r.Host
}

// getCall is GET /accounts/{accountId}/calls/{callId}.
func (s *Server) getCall(x *exchange, r *http.Request) {
	if c := s.lookup(x); c != nil {
		writeJSON(x, http.StatusOK, c.State())
	}
}

// listCalls is GET /accounts/{accountId}/calls, oldest first, with
// Bandwidth's filters to, from, minStartTime, maxStartTime,
// disconnectCause and pageSize (1–10000, default 1000).
func (s *Server) listCalls(x *exchange, r *http.Request) {
	q := r.URL.Query()
	pageSize := 1000
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			x.invalid(fmt.Sprintf("pageSize must be within the range [1, 10000], but was %s", v))
			return
		}
		pageSize = n
	}
	var bounds [2]time.Time
	for i, name := range []string{"minStartTime", "maxStartTime"} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				x.invalid(fmt.Sprintf("Invalid %s: %q is not an ISO 8601 time", name, v))
				return
			}
			bounds[i] = t
		}
	}
	out := []CallState{}
	for _, c := range s.Calls() {
		st := c.State()
		start := c.Run.Call.StartTime
		switch {
		case q.Get("to") != "" && st.To != q.Get("to"),
			q.Get("from") != "" && st.From != q.Get("from"),
			q.Get("disconnectCause") != "" && (st.DisconnectCause == nil || *st.DisconnectCause != q.Get("disconnectCause")),
			!bounds[0].IsZero() && start.Before(bounds[0]),
			!bounds[1].IsZero() && start.After(bounds[1]):
			continue
		}
		if len(out) == pageSize {
			break
		}
		out = append(out, st)
	}
	writeJSON(x, http.StatusOK, out)
}

// updateCall is POST /accounts/{accountId}/calls/{callId}: state=completed
// hangs up, state=active (the default) with a redirectUrl redirects.
func (s *Server) updateCall(x *exchange, r *http.Request) {
	var q updateCallRequest
	if !x.readRequest(r, &q) {
		return
	}
	c := s.live(x)
	if c == nil {
		return
	}
	var notes []string
	if q.Tag != nil {
		notes = append(notes, "tag ignored: the engine cannot change a live call's tag")
	}
	if q.RedirectFallbackURL != "" {
		notes = append(notes, "redirectFallbackUrl ignored: the engine has no fallback for an API redirect")
	}
	defer func() { x.note = joinNotes(x.note, notes...) }()

	switch {
	case q.State == "completed":
		s.hangUpAfter(x, c)
		notes = append(notes, "hangup requested")
	case q.RedirectURL == "":
		notes = append(notes, "state active without a redirectUrl: nothing to do")
	case !c.isSetup():
		x.notSetUp(c)
		return
	default:
		err := c.Run.RedirectWithAuth(r.Context(), q.RedirectURL, q.RedirectMethod, q.Username, q.Password)
		if !x.updated(err) {
			return
		}
		notes = append(notes, "redirected to "+weburl.Redact(q.RedirectURL))
	}
	x.WriteHeader(http.StatusOK)
}

// hangUpAfter hangs the call up once the API has answered, as on
// Bandwidth, whose webhooks follow the API's 200; Close waits for it.
func (s *Server) hangUpAfter(x *exchange, c *Call) {
	c.mu.Lock()
	c.hangingUp = true
	c.mu.Unlock()
	s.mu.Lock()
	closing := s.closed
	if !closing {
		s.background.Add(1)
	}
	s.mu.Unlock()
	if closing {
		return // Close is hanging up every call already
	}
	// Only once the request is journaled and answered (x.after): whoever
	// sees the call end then finds the request that ended it journaled.
	x.after = append(x.after, func() {
		go func() {
			defer s.background.Done()
			_ = c.Run.Hangup(context.Background())
		}()
	})
}

// updateBXML is PUT /accounts/{accountId}/calls/{callId}/bxml.
func (s *Server) updateBXML(x *exchange, r *http.Request) {
	if !isMedia(r, "application/xml") {
		x.unsupported(r, "application/xml")
		return
	}
	c := s.live(x)
	if c == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, bxml.MaxDocument+1))
	if err != nil {
		x.invalid("There is something wrong with the request: reading the body: " + err.Error())
		return
	}
	doc, err := bxml.Parse(body)
	if err != nil {
		x.invalid(err.Error())
		return
	}
	x.note = fmt.Sprintf("<%s> of %d bytes, %d verbs, %d warnings", doc.Root, len(body), len(doc.Verbs), len(doc.Warnings))
	if !c.isSetup() {
		x.notSetUp(c)
		return
	}
	if !x.updated(c.Run.Replace(r.Context(), body)) {
		return
	}
	x.WriteHeader(http.StatusNoContent)
}

func (x *exchange) notSetUp(c *Call) {
	webhook := bxml.EventAnswer
	if c.Direction == protocol.DirectionInbound {
		webhook = bxml.EventInitiate
	}
	x.fail(http.StatusConflict, TypeConflict, fmt.Sprintf(
		"Call [%s] is not modifiable yet: its %s webhook has not returned BXML, so there is nothing to interrupt", c.ID, webhook))
}

// updated answers a failed Redirect or Replace and reports success.
func (x *exchange) updated(err error) bool {
	var se *bxml.SyntaxError
	switch {
	case err == nil:
		return true
	case errors.Is(err, bxml.ErrCallEnded):
		x.fail(http.StatusNotFound, TypeValidation, "Call ["+x.callID+"] not found: it has ended")
	case errors.As(err, &se):
		x.invalid(se.Error())
	default:
		x.fail(http.StatusInternalServerError, "error", err.Error())
	}
	return false
}
