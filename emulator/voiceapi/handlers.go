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
	"strings"
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

// readJSON reads a JSON body into v, keeping a redacted copy for the journal.
func (x *exchange) readJSON(r *http.Request, v any) bool {
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
	if !isMedia(r, "application/json") {
		x.unsupported(r, "application/json")
		return
	}
	var q createCallRequest
	if !x.readJSON(r, &q) {
		return
	}
	if problem := q.validate(); problem != "" {
		x.invalid(problem)
		return
	}
	o := bxml.CallOptions{
		Call: emulator.CallSpec{
			From: q.From, To: q.To, Direction: protocol.DirectionOutbound, Tag: q.tag(),
			DisconnectURL: q.DisconnectURL, DisconnectMethod: q.DisconnectMethod,
			Username: q.Username, Password: q.Password, CallbackTimeout: seconds(*q.CallbackTimeout),
			ApplicationID: q.ApplicationID, // every webhook of the call carries it
		},
		URL: q.AnswerURL, Method: q.AnswerMethod, Username: q.Username, Password: q.Password,
		EventType: bxml.EventAnswer,
	}
	// The gate opens once the response is out and journaled, even if
	// writing it failed: the answer webhook comes after it in every record.
	gate := make(chan struct{})
	x.after = append(x.after, func() { close(gate) })
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		x.fail(http.StatusServiceUnavailable, TypeUnavailable, "the emulator is shutting down: no new calls")
		return
	}
	enqueued := time.Now() // before the call's startTime
	run, err := s.engine.Start(withGate(s.ctx, gate), o)
	if err != nil {
		s.mu.Unlock()
		if errors.Is(err, emulator.ErrClosed) {
			x.fail(http.StatusServiceUnavailable, TypeUnavailable, "the emulator is closed: no new calls")
			return
		}
		x.invalid("Could not create call: " + err.Error())
		return
	}
	c := &Call{ID: run.Call.ID, Direction: protocol.DirectionOutbound, Run: run, Created: enqueued,
		srv: s, applicationID: q.ApplicationID, tag: q.tag()}
	s.calls = append(s.calls, c)
	s.byID[c.ID] = c
	s.mu.Unlock()
	x.callID = c.ID

	resp := CreateCallResponse{
		ApplicationID: q.ApplicationID, AccountID: run.Call.AccountID, CallID: c.ID, To: q.To, From: q.From,
		EnqueuedTime: protocol.NewTime(c.Created).String(), CallURL: run.Call.URL(),
		CallTimeout: *q.CallTimeout, CallbackTimeout: *q.CallbackTimeout, Tag: q.tag(),
		AnswerMethod: q.AnswerMethod, AnswerURL: q.AnswerURL,
		DisconnectMethod: q.DisconnectMethod, DisconnectURL: q.DisconnectURL,
		Username: q.Username, Password: mask(q.Password),
		FallbackUsername: q.FallbackUsername, FallbackPassword: mask(q.FallbackPassword),
		Priority: int(*q.Priority),
	}
	if q.AnswerFallbackURL != "" {
		resp.AnswerFallbackURL, resp.AnswerFallbackMethod = q.AnswerFallbackURL, q.AnswerFallbackMethod
		x.note = "answerFallbackUrl is echoed but not used: the emulator fetches only answerUrl"
	}
	x.Header().Set("Location", baseURL(r)+VoicePrefix+"/accounts/"+s.account+"/calls/"+c.ID)
	writeJSON(x, http.StatusCreated, resp)
	_ = http.NewResponseController(x.w).Flush() // out before the gate opens
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

// updateCallRequest is the update call body.
type updateCallRequest struct {
	State                  string  `json:"state"`
	RedirectURL            string  `json:"redirectUrl"`
	RedirectMethod         string  `json:"redirectMethod"`
	Username               string  `json:"username"`
	Password               string  `json:"password"`
	RedirectFallbackURL    string  `json:"redirectFallbackUrl"`
	RedirectFallbackMethod string  `json:"redirectFallbackMethod"`
	FallbackUsername       string  `json:"fallbackUsername"`
	FallbackPassword       string  `json:"fallbackPassword"`
	Tag                    *string `json:"tag"`
}

// updateCall is POST /accounts/{accountId}/calls/{callId}: state=completed
// hangs up, state=active (the default) with a redirectUrl redirects.
func (s *Server) updateCall(x *exchange, r *http.Request) {
	if !isMedia(r, "application/json") {
		x.unsupported(r, "application/json")
		return
	}
	var q updateCallRequest
	if !x.readJSON(r, &q) {
		return
	}
	switch q.State {
	case "", "active", "completed":
	default:
		x.invalid(fmt.Sprintf("Invalid state %q: must be one of [active, completed]", q.State))
		return
	}
	for _, u := range []struct {
		name        string
		url, method *string
	}{
		{"redirectUrl", &q.RedirectURL, &q.RedirectMethod},
		{"redirectFallbackUrl", &q.RedirectFallbackURL, &q.RedirectFallbackMethod},
	} {
		if *u.url != "" && !isHTTPURL(*u.url) {
			x.invalid(fmt.Sprintf("Invalid %s: only http and https are allowed", u.name))
			return
		}
		m, ok := methods[strings.ToUpper(*u.method)]
		if !ok {
			x.invalid(fmt.Sprintf("Invalid %s method. Supported methods: [POST, GET]", u.name))
			return
		}
		*u.method = m
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

	if q.State == "completed" {
		// The hangup goes on after the answer, as on Bandwidth, whose
		// webhooks follow the API's 200; Close waits for it.
		c.mu.Lock()
		c.hangingUp = true
		c.mu.Unlock()
		s.mu.Lock()
		closing := s.closed
		if !closing {
			s.background.Add(1)
		}
		s.mu.Unlock()
		if !closing { // else Close is hanging up every call already
			go func() {
				defer s.background.Done()
				_ = c.Run.Hangup(context.Background())
			}()
		}
		notes = append(notes, "hangup requested")
		x.WriteHeader(http.StatusOK)
		return
	}
	if q.RedirectURL == "" {
		notes = append(notes, "state active without a redirectUrl: nothing to do")
		x.WriteHeader(http.StatusOK)
		return
	}
	if !c.isSetup() {
		x.notSetUp(c)
		return
	}
	err := c.Run.RedirectWithAuth(r.Context(), q.RedirectURL, q.RedirectMethod, q.Username, q.Password)
	if !x.updated(err) {
		return
	}
	notes = append(notes, "redirected to "+weburl.Redact(q.RedirectURL))
	x.WriteHeader(http.StatusOK)
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
