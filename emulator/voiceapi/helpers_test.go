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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/apptest"
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

// newApp is the app under test's HTTP side: BXML per path (Serve, Hold),
// 204 for the webhooks to /events (stream webhooks and disconnect), 404 for
// any other path, and every request recorded in order.
func newApp() *apptest.Hooks {
	app := apptest.NewHooks(apptest.NotFound)
	app.Route("/events", apptest.Reply{})
	return app
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
	app    *apptest.Hooks
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
	h.cons = apptest.NewConsumer(nil)
	h.em = apptest.NewEmulator(&emulator.Options{AccountID: account,
		Timeouts: emulator.Timeouts{Callback: 3 * time.Second, CloseHandshake: time.Second, Handshake: 2 * time.Second}})
	o := voiceapi.Options{Engine: &bxml.Engine{Emulator: h.em, Pace: emulator.Fast},
		Username: apiUser, Password: apiPassword, ClientID: clientID, ClientSecret: clientSecret}
	for _, e := range edit {
		e(&o)
	}
	h.api, err = voiceapi.New(&o)
	Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewServer(h.api)
	DeferCleanup(srv.Close)
	DeferCleanup(h.api.Close) // runs first: the calls end while the API and the app are up
	h.base = srv.URL
	h.client = apptest.NewClient()
	return h
}

// harnessEach is a harness that newHarness sets up afresh before each
// spec of the container it is called in.
func harnessEach() *harness {
	h := new(harness)
	BeforeEach(func() { *h = *newHarness() })
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
	r := apptest.Fetch(client, req)
	return response{status: r.Status, header: r.Header, body: r.Body}
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

// streamingCall creates a call as create does, whose answer BXML streams
// to the consumer (streamDoc), waits until it streams and returns its id.
func (h *harness) streamingCall(ctx context.Context, extra map[string]any) string {
	GinkgoHelper()
	h.app.Serve("/answer", streamDoc(h.cons))
	id := h.create(ctx, extra)
	h.streaming(ctx, id)
	return id
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
