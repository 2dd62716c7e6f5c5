package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// Reply is how the fake app answers a request. The zero value answers 204
// at once.
type Reply struct {
	// Status is the answer's status; 0 is 204, or 200 when there is a Body.
	Status      int
	Body        string
	ContentType string
	// Delay answers that much later (cut short when the app closes).
	Delay time.Duration
	// Hold answers once it is closed; the request may end first.
	Hold <-chan struct{}
	// Hang never answers: the request lasts until the client gives up or
	// the app closes, as a webhook slower than any callback timeout.
	Hang bool
	// Drop closes the connection without an answer.
	Drop bool
	// Do runs first, on the request's goroutine, as an app that acts (on
	// the Voice API, say) before it answers.
	Do func(Request)
}

// NotFound is net/http's answer to a path nothing serves.
var NotFound = Reply{Status: http.StatusNotFound, Body: "404 page not found\n", ContentType: "text/plain; charset=utf-8"}

// BXML is a 200 answer with the BXML document.
func BXML(doc string) Reply {
	return Reply{Status: http.StatusOK, Body: doc, ContentType: "application/xml"}
}

// Request is one request the fake app received: a webhook, a BXML fetch or
// an audio file's.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Event is the webhook the request carried (JSON body or query); nil
	// when it carried none.
	Event *protocol.Event
}

// Stream is the name of the stream the webhook is about; "" for a request
// that carried no stream's webhook.
func (q Request) Stream() string {
	if q.Event == nil || q.Event.MediaStream == nil {
		return ""
	}
	return q.Event.MediaStream.Name
}

// What says "eventType" or "eventType (cause)", for order assertions; ""
// for a request that carried no webhook.
func (q Request) What() string {
	if q.Event == nil {
		return ""
	}
	if q.Event.Cause != "" {
		return q.Event.EventType + " (" + q.Event.Cause + ")"
	}
	return q.Event.EventType
}

// JSON is the body decoded without the protocol's types, to check the
// wire's own field names.
func (q Request) JSON() map[string]any {
	GinkgoHelper()
	var m map[string]any
	Expect(json.Unmarshal(q.Body, &m)).To(Succeed(), "body %s", q.Body)
	return m
}

// BasicAuth is the request's Basic auth.
func (q Request) BasicAuth() (user, password string, ok bool) {
	return (&http.Request{Header: q.Header}).BasicAuth()
}

// Hooks is the fake app's HTTP side: it records every request and answers
// as told, by what the request carries (AnswerWhen), by path (Route, Serve)
// or else by its answers in turn.
type Hooks struct {
	server

	mu      sync.Mutex
	answers []Reply // in turn; the last answers every request after
	rules   []*rule
	routes  map[string]Reply
	reqs    []Request

	quit      chan struct{}
	closeOnce sync.Once
}

// NewHooks starts the app's HTTP side on http://127.0.0.1:0, closed when
// the spec ends. Requests no route takes are answered by answers in turn,
// the last one answering every request after it; without any, 204.
func NewHooks(answers ...Reply) *Hooks { return newHooks(false, answers) }

// NewTLSHooks is NewHooks on https:// with httptest's self-signed
// certificate; see CertPool and CAFile.
func NewTLSHooks(answers ...Reply) *Hooks { return newHooks(true, answers) }

func newHooks(withTLS bool, answers []Reply) *Hooks {
	h := &Hooks{routes: map[string]Reply{}, quit: make(chan struct{})}
	h.Answer(answers...)
	h.start(h, withTLS)
	DeferCleanup(h.Close)
	return h
}

// URL is the app's URL for path.
func (h *Hooks) URL(path string) string { return h.srv.URL + path }

// EventsURL is URL("/events"), for stream webhooks.
func (h *Hooks) EventsURL() string { return h.URL("/events") }

// DisconnectURL is URL("/disconnect"), for the call's disconnect webhook.
func (h *Hooks) DisconnectURL() string { return h.URL("/disconnect") }

// Answer replaces how requests no route takes are answered: by answers in
// turn, the last one answering every request after it; without any, 204.
func (h *Hooks) Answer(answers ...Reply) {
	if len(answers) == 0 {
		answers = []Reply{{}}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answers = answers
}

// rule answers the requests match takes by its answers in turn.
type rule struct {
	match   func(Request) bool
	answers []Reply
}

// AnswerWhen answers the requests match takes by answers in turn, the last
// one answering every such request after it: an app that fails one event
// of one stream, say, and answers the rest as it otherwise would. A rule
// comes before any route and before the answers in turn; of two rules
// that take a request, the first added answers it. match is called with
// the app's lock held: it looks at the request only.
func (h *Hooks) AnswerWhen(match func(Request) bool, answers ...Reply) {
	if len(answers) == 0 {
		answers = []Reply{{}}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rules = append(h.rules, &rule{match: match, answers: answers})
}

// Route answers every request to path with r.
func (h *Hooks) Route(path string, r Reply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[path] = r
}

// Serve answers path with 200 and the BXML document.
func (h *Hooks) Serve(path, doc string) { h.Route(path, BXML(doc)) }

// Hold answers path with the BXML document only once release is called
// (or the app closes).
func (h *Hooks) Hold(path, doc string) (release func()) {
	held := make(chan struct{})
	r := BXML(doc)
	r.Hold = held
	h.Route(path, r)
	var once sync.Once
	return func() { once.Do(func() { close(held) }) }
}

// Requests is every request so far, in arrival order.
func (h *Hooks) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.reqs...)
}

// RequestsTo is the requests to path so far, in arrival order.
func (h *Hooks) RequestsTo(path string) []Request {
	var out []Request
	for _, q := range h.Requests() {
		if q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// EventTypes is the eventType of every request, in order ("" for one that
// carried no webhook).
func (h *Hooks) EventTypes() []string {
	var out []string
	for _, q := range h.Requests() {
		if q.Event == nil {
			out = append(out, "")
			continue
		}
		out = append(out, q.Event.EventType)
	}
	return out
}

// Whats is What() of every request, in order.
func (h *Hooks) Whats() []string {
	var out []string
	for _, q := range h.Requests() {
		out = append(out, q.What())
	}
	return out
}

// Only returns the one request whose What() is what, or whose eventType
// is what, failing the spec when there is none or more.
func (h *Hooks) Only(what string) Request {
	GinkgoHelper()
	var found []Request
	for _, q := range h.Requests() {
		if q.What() == what || q.Event != nil && q.Event.EventType == what {
			found = append(found, q)
		}
	}
	Expect(found).To(HaveLen(1), "one %s among %v", what, h.Whats())
	return found[0]
}

// Close ends every request still waiting for its answer and stops the
// server. It may be called more than once.
func (h *Hooks) Close() {
	h.closeOnce.Do(func() {
		close(h.quit)
		h.srv.CloseClientConnections()
		h.srv.Close()
	})
}

// ServeHTTP records the request, then answers it.
func (h *Hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	body, _ := io.ReadAll(r.Body)
	q := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	if ev, err := protocol.DecodeEvent(r.Method, r.URL.Query(), body); err == nil && ev.EventType != "" {
		q.Event = ev
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, q)
	rep := h.choose(q)
	h.mu.Unlock()
	if rep.Do != nil {
		rep.Do(q)
	}
	h.reply(w, r, rep)
}

// choose picks the answer to q: the first rule that takes it, else its
// path's route, else the next of the answers in turn. Called with h.mu held.
func (h *Hooks) choose(q Request) Reply {
	for _, ru := range h.rules {
		if ru.match(q) {
			return inTurn(&ru.answers)
		}
	}
	if rep, routed := h.routes[q.Path]; routed {
		return rep
	}
	return inTurn(&h.answers)
}

// inTurn takes the next of answers, keeping the last for every call after.
func inTurn(answers *[]Reply) Reply {
	rep := (*answers)[0]
	if len(*answers) > 1 {
		*answers = (*answers)[1:]
	}
	return rep
}

func (h *Hooks) reply(w http.ResponseWriter, r *http.Request, rep Reply) {
	switch {
	case rep.Drop:
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = c.Close()
		}
		return
	case rep.Hang:
		select {
		case <-r.Context().Done():
		case <-h.quit:
		}
		return
	case rep.Hold != nil:
		select {
		case <-rep.Hold:
		case <-r.Context().Done():
			return
		case <-h.quit:
			return
		}
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-h.quit:
		}
	}
	if rep.ContentType != "" {
		w.Header().Set("Content-Type", rep.ContentType)
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusNoContent
		if rep.Body != "" {
			status = http.StatusOK
		}
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, rep.Body)
}
