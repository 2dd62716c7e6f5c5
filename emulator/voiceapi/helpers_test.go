package voiceapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/consumer"
)

// Credentials of the harness's API user and OAuth client.
const (
	account      = "9901234"
	apiUser      = "api-user"
	apiPassword  = "api-pa55-never-journaled"
	clientID     = "client-7"
	clientSecret = "client-s3cret-never-journaled"
	appID        = "04e88489-df02-4e34-a0ee-27a91849555f"
)

// timeout bounds every spec; a healthy one takes well under a second.
var timeout = SpecTimeout(20 * time.Second)

// appRequest is one request the app got, BXML fetch or webhook.
type appRequest struct {
	Method string
	Path   string
	Header http.Header
	Event  *protocol.Event
}

// What says "eventType" or "eventType (cause)", for order assertions.
func (q appRequest) What() string {
	if q.Event.Cause != "" {
		return q.Event.EventType + " (" + q.Event.Cause + ")"
	}
	return q.Event.EventType
}

// reply is how the app answers a BXML path.
type reply struct {
	status int
	doc    string
	// hold delays the answer until it is closed (or the request ends).
	hold chan struct{}
}

// app is the app under test's HTTP side: BXML per path, 204 for /events
// (stream webhooks and disconnect), and every request recorded in order.
type app struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies map[string]reply
	reqs    []appRequest
	holds   []chan struct{}
}

func newApp() *app {
	a := &app{replies: map[string]reply{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	DeferCleanup(func() {
		a.mu.Lock()
		for _, h := range a.holds {
			select {
			case <-h:
			default:
				close(h)
			}
		}
		a.mu.Unlock()
		a.srv.Close()
	})
	return a
}

func (a *app) URL(path string) string { return a.srv.URL + path }

// Serve answers path with 200 and the BXML document.
func (a *app) Serve(path, doc string) { a.Answer(path, reply{status: http.StatusOK, doc: doc}) }

// Hold answers path with doc only once release is called.
func (a *app) Hold(path, doc string) (release func()) {
	h := make(chan struct{})
	a.mu.Lock()
	a.holds = append(a.holds, h)
	a.mu.Unlock()
	a.Answer(path, reply{status: http.StatusOK, doc: doc, hold: h})
	var once sync.Once
	return func() { once.Do(func() { close(h) }) }
}

func (a *app) Answer(path string, r reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.replies[path] = r
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := protocol.DecodeEvent(r.Method, r.URL.Query(), body)
	if err != nil || ev.EventType == "" {
		http.Error(w, "not a webhook", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, appRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Event: ev})
	rep, ok := a.replies[r.URL.Path]
	a.mu.Unlock()
	switch {
	case ok:
	case r.URL.Path == "/events":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		http.NotFound(w, r)
		return
	}
	if rep.hold != nil {
		select {
		case <-rep.hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.doc)
}

// Requests is every request so far, in arrival order.
func (a *app) Requests() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appRequest(nil), a.reqs...)
}

// Whats is What() of every request, in arrival order.
func (a *app) Whats() []string {
	var out []string
	for _, q := range a.Requests() {
		out = append(out, q.What())
	}
	return out
}

// Event returns the only request whose What() is what.
func (a *app) Event(what string) appRequest {
	GinkgoHelper()
	var found []appRequest
	for _, q := range a.Requests() {
		if q.What() == what {
			found = append(found, q)
		}
	}
	Expect(found).To(HaveLen(1), "one %s", what)
	return found[0]
}

// streamDoc is BXML that starts a stream named agent to the consumer,
// with its webhooks to /events, and keeps the call up.
func streamDoc(cons *consumer.Server) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <StartStream name="agent" destination="%s" streamEventUrl="/events" tracks="inbound">
    <StreamParam name="tenant" value="acme"/>
  </StartStream>
  <Pause duration="60"/>
</Response>`, cons.WebSocketURL())
}

// harness is the emulator with its Voice API on loopback, an app and the
// reference consumer as the stream destination.
type harness struct {
	app    *app
	cons   *consumer.Server
	em     *emulator.Emulator
	api    *voiceapi.Server
	base   string // http://127.0.0.1:port
	client *http.Client
}

func newHarness(edit ...func(*voiceapi.Options)) *harness {
	GinkgoHelper()
	h := &harness{app: newApp()}
	var err error
	h.cons, err = consumer.Start("127.0.0.1:0", nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(h.cons.Close)
	h.em = emulator.New(&emulator.Options{AccountID: account,
		Timeouts: emulator.Timeouts{Callback: 3 * time.Second, CloseHandshake: time.Second, Handshake: 2 * time.Second}})
	DeferCleanup(h.em.Close)
	o := voiceapi.Options{Engine: &bxml.Engine{Emulator: h.em, Pace: emulator.Fast},
		Username: apiUser, Password: apiPassword, ClientID: clientID, ClientSecret: clientSecret}
	for _, e := range edit {
		e(&o)
	}
	h.api = voiceapi.New(o)
	srv := httptest.NewServer(h.api)
	DeferCleanup(srv.Close)
	DeferCleanup(h.api.Close) // runs first: the calls end while the API and the app are up
	h.base = srv.URL
	tr := &http.Transport{DisableKeepAlives: true}
	DeferCleanup(tr.CloseIdleConnections)
	h.client = &http.Client{Transport: tr}
	return h
}

// calls is the account's calls path.
func calls() string { return "/api/v2/accounts/" + account + "/calls" }

func callPath(id string) string { return calls() + "/" + id }

// response is what the API answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// JSON decodes the body into a generic object.
func (r response) JSON() map[string]any {
	GinkgoHelper()
	var m map[string]any
	Expect(json.Unmarshal(r.body, &m)).To(Succeed(), "body %s", r.body)
	return m
}

// apiError is Bandwidth's error body, exactly.
func (r response) expectError(status int, typ, description string) {
	GinkgoHelper()
	Expect(r.status).To(Equal(status), "body %s", r.body)
	Expect(r.header.Get("Content-Type")).To(HavePrefix("application/json"))
	Expect(r.JSON()).To(Equal(map[string]any{"type": typ, "description": description, "id": nil}))
}

// auth says how a request authenticates.
type auth func(*http.Request)

func basic(user, password string) auth {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

var apiBasic = basic(apiUser, apiPassword)

// send makes a request as Bandwidth's SDKs do: a JSON body (camelCase
// keys) with Content-Type application/json, a string body as BXML with
// application/xml, Accept application/json, and the given auth.
func (h *harness) send(ctx context.Context, method, path string, body any, a auth, edit ...func(*http.Request)) response {
	GinkgoHelper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = h.base + path
	}
	return do(ctx, h.client, method, url, body, a, edit...)
}

func do(ctx context.Context, client *http.Client, method, url string, body any, a auth, edit ...func(*http.Request)) response {
	GinkgoHelper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/xml"
	default:
		data, err := json.Marshal(b)
		Expect(err).NotTo(HaveOccurred())
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	Expect(err).NotTo(HaveOccurred())
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Bandwidth Go SDK (bwemu spec)")
	if a != nil {
		a(req)
	}
	for _, e := range edit {
		e(req)
	}
	resp, err := client.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// createBody is a minimal create-call request to the app's /answer.
func (h *harness) createBody(extra map[string]any) map[string]any {
	b := map[string]any{
		"to": "+19195551234", "from": "+19195554321", "applicationId": appID,
		"answerUrl": h.app.URL("/answer"), "disconnectUrl": h.app.URL("/events"),
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// create creates a call whose answer is served by /answer and returns its id.
func (h *harness) create(ctx context.Context, extra map[string]any) string {
	GinkgoHelper()
	r := h.send(ctx, http.MethodPost, calls(), h.createBody(extra), apiBasic)
	Expect(r.status).To(Equal(http.StatusCreated), "body %s", r.body)
	id, _ := r.JSON()["callId"].(string)
	Expect(protocol.IsCallID(id)).To(BeTrue(), "callId %q", id)
	return id
}

// state is the call's state as the API reports it.
func (h *harness) state(ctx context.Context, id string) voiceapi.CallState {
	GinkgoHelper()
	r := h.send(ctx, http.MethodGet, callPath(id), nil, apiBasic)
	Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
	var st voiceapi.CallState
	Expect(json.Unmarshal(r.body, &st)).To(Succeed())
	return st
}

// streaming waits until the app got mediaStreamStarted and the consumer the start message.
func (h *harness) streaming(ctx context.Context, id string) {
	GinkgoHelper()
	Eventually(ctx, h.app.Whats).Should(ContainElement(protocol.EventMediaStreamStarted))
	_, err := h.cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.CallID == id && r.Start != nil })
	Expect(err).NotTo(HaveOccurred())
}

// ended waits until the API's call has ended and its webhooks were answered.
func (h *harness) ended(ctx context.Context, id string) {
	GinkgoHelper()
	c := h.api.Call(id)
	Expect(c).NotTo(BeNil())
	Eventually(ctx, c.Done()).Should(BeClosed())
}

// apiEntries is the journal's Voice API entries.
func (h *harness) apiEntries() []emulator.Entry {
	var out []emulator.Entry
	for _, e := range h.em.Journal().Entries() {
		if e.Kind == voiceapi.KindAPI {
			out = append(out, e)
		}
	}
	return out
}

// form posts a token request: application/x-www-form-urlencoded.
func (h *harness) token(ctx context.Context, form url.Values, a auth) response {
	GinkgoHelper()
	return h.send(ctx, http.MethodPost, voiceapi.TokenPath, nil, a, func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(form.Encode()))
		r.ContentLength = int64(len(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
}

var clientCredentials = url.Values{"grant_type": {"client_credentials"}}
