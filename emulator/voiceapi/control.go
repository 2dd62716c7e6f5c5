package voiceapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/statuswriter"
)

// KindControl is the journal kind of control API requests.
const KindControl emulator.Kind = "control"

// ControlPrefix is the path the control API is served under.
const ControlPrefix = "/control/"

// Control returns the control API, which plays the caller and the network
// for the server's calls. It has no authentication (it is for the test
// driver on loopback); answers are JSON, errors {"error": "…"}:
//
//	POST /control/calls                               {"url": initiateUrl, "from"?, "to"?, "method"?, "disconnectUrl"?, "disconnectMethod"?, "username"?, "password"?, "tag"?}
//	                                                  places an inbound call (Inbound): the initiate webhook goes to url → 201 {"callId", "callUrl", "state"}
//	GET  /control/calls                               every call with its streams
//	GET  /control/calls/{callId}                      the call's state, its streams (state, media so far, result once ended) and every request made to the app for it (webhooks, BXML fetches) → 200, or 404
//	POST /control/calls/{callId}/hangup               the caller hangs up; answers once the disconnect webhook was answered → 200 call state
//	POST /control/calls/{callId}/streams/{name}/fault {"fault": "reset"|"drop"|"error"}; answers once the stream's webhook was answered → 200 result
//	POST /control/calls/{callId}/streams/{name}/media {"duration": "2s"}: lets that much audio through (with a fast engine nothing flows otherwise)
//	GET  /control/journal                             the journal, as JSON Lines
//
// Every request but GET /control/journal is a KindControl journal entry.
func (s *Server) Control() http.Handler {
	c := &control{api: s, mux: http.NewServeMux()}
	c.mux.HandleFunc("POST /control/calls", c.place)
	c.mux.HandleFunc("GET /control/calls", c.list)
	c.mux.HandleFunc("GET /control/calls/{callId}", c.get)
	c.mux.HandleFunc("POST /control/calls/{callId}/hangup", c.hangup)
	c.mux.HandleFunc("POST /control/calls/{callId}/streams/{name}/fault", c.fault)
	c.mux.HandleFunc("POST /control/calls/{callId}/streams/{name}/media", c.media)
	c.mux.HandleFunc("GET /control/journal", c.journal)
	c.mux.HandleFunc(ControlPrefix, func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "no control operation "+r.Method+" "+r.URL.Path)
	})
	return c
}

// control is the control API of one server.
type control struct {
	api *Server
	mux *http.ServeMux
}

// ServeHTTP serves the control API and journals each request.
func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	sw := statuswriter.New(w)
	c.mux.ServeHTTP(sw, r)
	if r.URL.Path == ControlPrefix+"journal" {
		return // reading the journal is not an event in it
	}
	c.api.journal.Add(emulator.Entry{Kind: KindControl, By: emulator.ByEmulator, CallID: r.PathValue("callId"),
		StreamName: r.PathValue("name"), Method: r.Method, Code: sw.Status(), Latency: time.Since(began),
		Message: fmt.Sprintf("%s %s → %d %s", r.Method, r.URL.Path, sw.Status(), http.StatusText(sw.Status()))})
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	controlJSON(w, status, map[string]string{"error": msg})
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		controlError(w, http.StatusBadRequest, "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// placeRequest is POST /control/calls.
type placeRequest struct {
	URL              string `json:"url"`
	Method           string `json:"method"`
	From             string `json:"from"`
	To               string `json:"to"`
	DisconnectURL    string `json:"disconnectUrl"`
	DisconnectMethod string `json:"disconnectMethod"`
	Username         string `json:"username"`
	Password         string `json:"password"`
	Tag              string `json:"tag"`
}

func (c *control) place(w http.ResponseWriter, r *http.Request) {
	var q placeRequest
	if !decode(w, r, &q) {
		return
	}
	if q.URL == "" {
		controlError(w, http.StatusBadRequest, `"url" is required: the app's URL for the initiate webhook`)
		return
	}
	call, err := c.api.Inbound(InboundCall{URL: q.URL, Method: q.Method, From: q.From, To: q.To,
		DisconnectURL: q.DisconnectURL, DisconnectMethod: q.DisconnectMethod, Username: q.Username, Password: q.Password, Tag: q.Tag})
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, emulator.ErrClosed):
		controlError(w, http.StatusServiceUnavailable, "shutting down: no new calls")
		return
	case err != nil:
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	controlJSON(w, http.StatusCreated, map[string]string{"callId": call.ID, "callUrl": call.Run.Call.URL(), "state": call.State().State})
}

// streamInfo describes a stream in GET /control/calls and
// GET /control/calls/{callId}.
type streamInfo struct {
	Name string `json:"name"`
	ID   string `json:"streamId"`
	Live bool   `json:"live"`
	// State is "live" until the stream has ended and its webhook was
	// answered, then "ended".
	State string `json:"state"`
	// Media is the media time sent so far, e.g. "1.2s".
	Media  string                 `json:"media"`
	Result *emulator.StreamResult `json:"result,omitempty"`
}

func describeStream(s *emulator.Stream) streamInfo {
	res := s.Result()
	info := streamInfo{Name: s.Name, ID: s.ID, Live: res == nil, State: "live", Media: s.Progress().String(), Result: res}
	if res != nil {
		info.State = "ended"
	}
	return info
}

// callInfo is a call in GET /control/calls: its state and its streams.
type callInfo struct {
	CallState
	Streams []streamInfo `json:"streams"`
}

func describeCall(call *Call) callInfo {
	ci := callInfo{CallState: call.State(), Streams: []streamInfo{}}
	for _, s := range call.Run.Call.Streams() {
		ci.Streams = append(ci.Streams, describeStream(s))
	}
	return ci
}

func (c *control) list(w http.ResponseWriter, _ *http.Request) {
	out := []callInfo{}
	for _, call := range c.api.Calls() {
		out = append(out, describeCall(call))
	}
	controlJSON(w, http.StatusOK, out)
}

// callDetail is GET /control/calls/{callId}.
type callDetail struct {
	callInfo
	// Webhooks is every request made to the app for the call that has
	// been answered (or has failed) so far, in order: the BXML fetches
	// (bxml: true) and the webhooks, each with its attempts.
	Webhooks []*emulator.Delivery `json:"webhooks"`
}

func (c *control) get(w http.ResponseWriter, r *http.Request) {
	call := c.call(w, r)
	if call == nil {
		return
	}
	d := callDetail{callInfo: describeCall(call), Webhooks: []*emulator.Delivery{}}
	for _, x := range c.api.engine.Emulator.Exchanges() {
		if x.Event != nil && x.Event.CallID == call.ID {
			d.Webhooks = append(d.Webhooks, x) // BXML answers are recorded redacted
		}
	}
	controlJSON(w, http.StatusOK, d)
}

// call finds the path's call, answering 404 when there is none.
func (c *control) call(w http.ResponseWriter, r *http.Request) *Call {
	call := c.api.Call(r.PathValue("callId"))
	if call == nil {
		controlError(w, http.StatusNotFound, "no call "+r.PathValue("callId"))
	}
	return call
}

// stream decodes the body of an operation on the path's live stream into
// q and checks it (a bad body is 400), then finds the stream, answering
// 404 when there is none.
func (c *control) stream(w http.ResponseWriter, r *http.Request, q any, check func() error) *emulator.Stream {
	if !decode(w, r, q) {
		return nil
	}
	if err := check(); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return nil
	}
	call := c.call(w, r)
	if call == nil {
		return nil
	}
	s := call.Run.Call.Stream(r.PathValue("name"))
	if s == nil {
		controlError(w, http.StatusNotFound, fmt.Sprintf("call %s has no live stream named %q", call.ID, r.PathValue("name")))
	}
	return s
}

// hangup ends the call as the caller does: streams stopped (cause
// closed), then disconnect (cause hangup). The ending must run to its end
// even if the client goes away, or the call would be left half ended.
func (c *control) hangup(w http.ResponseWriter, r *http.Request) {
	call := c.call(w, r)
	if call == nil {
		return
	}
	if err := call.Run.Call.Hangup(context.WithoutCancel(r.Context())); err != nil {
		controlError(w, http.StatusConflict, fmt.Sprintf("call %s has already ended", call.ID))
		return
	}
	controlJSON(w, http.StatusOK, call.State())
}

func (c *control) fault(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Fault string `json:"fault"`
	}
	var f emulator.Fault
	s := c.stream(w, r, &q, func() (err error) {
		if f, err = emulator.ParseFault(q.Fault); err != nil {
			return fmt.Errorf(`"fault" %q: want %s`, q.Fault, faultNames())
		}
		return nil
	})
	if s == nil {
		return
	}
	res, err := s.Inject(r.Context(), f)
	if err != nil {
		controlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	controlJSON(w, http.StatusOK, map[string]any{"callId": s.Call.ID, "streamId": s.ID, "name": s.Name,
		"ending": res.Ending, "event": res.Event, "cause": res.Cause, "errorMessage": res.ErrorMessage})
}

// faultNames lists the faults the emulator injects: "reset, drop or error".
func faultNames() string {
	var names []string
	for _, f := range emulator.Faults() {
		names = append(names, string(f))
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func (c *control) media(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Duration string `json:"duration"`
	}
	var d time.Duration
	s := c.stream(w, r, &q, func() (err error) {
		if d, err = time.ParseDuration(q.Duration); err != nil || d <= 0 {
			return fmt.Errorf(`"duration" %q: want a positive duration such as "2s"`, q.Duration)
		}
		return nil
	})
	if s == nil {
		return
	}
	if err := s.Media(r.Context(), d); err != nil {
		controlError(w, http.StatusConflict, err.Error())
		return
	}
	controlJSON(w, http.StatusOK, map[string]any{"callId": s.Call.ID, "streamId": s.ID, "name": s.Name, "progress": s.Progress().String()})
}

func (c *control) journal(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	_ = c.api.journal.WriteJSONLines(w)
}
