package voiceapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/apptest"
)

var _ = Describe("New", func() {
	It("refuses options that cannot work, with an error", func() {
		em := apptest.NewEmulator(&emulator.Options{AccountID: "5550001"})
		for _, o := range []*voiceapi.Options{nil, {}, {Engine: &bxml.Engine{}}} {
			_, err := voiceapi.New(o)
			Expect(err).To(MatchError("voiceapi: Options.Engine and its Emulator are required"))
		}
		_, err := voiceapi.New(&voiceapi.Options{Engine: &bxml.Engine{Emulator: em}, AccountID: "5550002"})
		Expect(err).To(MatchError(`voiceapi: Options.AccountID "5550002" is not the emulator's account "5550001", which its calls carry`))
	})

	It("serves the emulator's account by default", func() {
		em := apptest.NewEmulator(&emulator.Options{AccountID: "5550001"})
		api, err := voiceapi.New(&voiceapi.Options{Engine: &bxml.Engine{Emulator: em}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(api.Close)
		Expect(api.AccountID()).To(Equal("5550001"))
	})
})

var _ = Describe("the Voice API's routes and the control API", func() {
	var (
		em     *emulator.Emulator
		base   string
		client *http.Client
	)
	BeforeEach(func() {
		em = apptest.NewEmulator(&emulator.Options{AccountID: "5550001"})
		api, err := voiceapi.New(&voiceapi.Options{Engine: &bxml.Engine{Emulator: em, Pace: emulator.Fast}})
		Expect(err).NotTo(HaveOccurred())
		// Not a ServeMux: it would redirect unclean paths before the API
		// saw them.
		control := api.Control()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, voiceapi.ControlPrefix) {
				control.ServeHTTP(w, r)
				return
			}
			api.ServeHTTP(w, r)
		}))
		DeferCleanup(srv.Close)
		DeferCleanup(api.Close) // runs first
		base = srv.URL
		client = apptest.NewClient()
	})
	call := func(method, path, body string) (int, string) {
		GinkgoHelper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode, string(data)
	}

	It("routes paths with a trailing slash, and answers a path with an empty segment 404", func() {
		status, body := call(http.MethodGet, "/api/v2/accounts/5550001/calls/", "")
		Expect(status).To(Equal(http.StatusOK), body)
		Expect(body).To(Equal("[]"))
		status, body = call(http.MethodGet, "/api/v2/accounts/5550001//calls", "")
		Expect(status).To(Equal(http.StatusNotFound), body)
		Expect(body).To(ContainSubstring(`"path /api/v2/accounts/5550001//calls not found"`))
		status, body = call(http.MethodPut, "/api/v2/accounts/5550001/calls/", "")
		Expect(status).To(Equal(http.StatusMethodNotAllowed), body)
		Expect(body).To(ContainSubstring("Method Not Allowed: PUT /api/v2/accounts/5550001/calls/"))
	})

	It("checks a stream operation's body before looking for the stream, and journals every request but journal reads", func() {
		status, body := call(http.MethodPost, "/control/calls/c-nope/streams/agent/fault", `{"fault":"boom"}`)
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(body).To(MatchJSON(`{"error": "\"fault\" \"boom\": want reset, drop or error"}`))
		status, body = call(http.MethodPost, "/control/calls/c-nope/streams/agent/media", `{"duration":"-1s"}`)
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(body).To(MatchJSON(`{"error": "\"duration\" \"-1s\": want a positive duration such as \"2s\""}`))
		status, body = call(http.MethodPost, "/control/calls/c-nope/streams/agent/fault", `{"fault":"reset"}`)
		Expect(status).To(Equal(http.StatusNotFound))
		Expect(body).To(MatchJSON(`{"error": "no call c-nope"}`))
		status, _ = call(http.MethodGet, "/control/journal", "")
		Expect(status).To(Equal(http.StatusOK))

		var control []string
		for _, e := range em.Journal().Entries() {
			if e.Kind == voiceapi.KindControl {
				Expect(e.CallID).To(Equal("c-nope"))
				control = append(control, e.Message)
			}
		}
		Expect(control).To(Equal([]string{
			"POST /control/calls/c-nope/streams/agent/fault → 400 Bad Request",
			"POST /control/calls/c-nope/streams/agent/media → 400 Bad Request",
			"POST /control/calls/c-nope/streams/agent/fault → 404 Not Found",
		}))
	})
})

var _ = Describe("GET /control/calls/{callId}", func() {
	// callView is the part of the answer the specs read.
	type callView struct {
		CallID          string  `json:"callId"`
		State           string  `json:"state"`
		DisconnectCause *string `json:"disconnectCause"`
		Streams         []struct {
			Name   string                 `json:"name"`
			ID     string                 `json:"streamId"`
			Live   bool                   `json:"live"`
			State  string                 `json:"state"`
			Media  string                 `json:"media"`
			Result *emulator.StreamResult `json:"result"`
		} `json:"streams"`
		Webhooks []emulator.Delivery `json:"webhooks"`
	}
	// whats is each request's "eventType (cause)", and bxml for a fetch.
	whats := func(v callView) []string {
		var out []string
		for _, d := range v.Webhooks {
			what := d.Event.EventType
			if d.Event.Cause != "" {
				what += " (" + d.Event.Cause + ")"
			}
			if d.BXML {
				what += " bxml"
			}
			out = append(out, what)
		}
		return out
	}

	It("shows the call's state, its streams so far and its webhooks; an unknown call is 404", func(ctx SpecContext) {
		h := newHarness()
		control := httptest.NewServer(h.api.Control())
		DeferCleanup(control.Close)
		view := func(id string) callView {
			GinkgoHelper()
			r := do(ctx, h.client, http.MethodGet, control.URL+"/control/calls/"+id, nil, nil)
			Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
			Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
			var v callView
			Expect(json.Unmarshal(r.body, &v)).To(Succeed())
			return v
		}
		id := h.streamingCall(ctx, nil)

		By("a live call: its stream is live, with no result yet")
		Eventually(ctx, func() []string { return whats(view(id)) }).Should(Equal([]string{"answer bxml", "mediaStreamStarted"}))
		live := view(id)
		Expect(live.CallID).To(Equal(id))
		Expect(live.State).To(Equal("answered"))
		Expect(live.Streams).To(HaveLen(1))
		Expect(live.Streams[0].Name).To(Equal("agent"))
		Expect(protocol.IsStreamID(live.Streams[0].ID)).To(BeTrue())
		Expect(live.Streams[0].Live).To(BeTrue())
		Expect(live.Streams[0].State).To(Equal("live"))
		Expect(live.Streams[0].Result).To(BeNil())
		Expect(live.Webhooks[1].Final().Status).To(Equal(http.StatusNoContent))

		By("once the caller hangs up: the stream's result and every webhook")
		r := do(ctx, h.client, http.MethodPost, control.URL+"/control/calls/"+id+"/hangup", nil, nil)
		Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
		ended := view(id)
		Expect(ended.State).To(Equal("disconnected"))
		Expect(ended.DisconnectCause).To(HaveValue(Equal("hangup")))
		Expect(ended.Streams[0].State).To(Equal("ended"))
		Expect(ended.Streams[0].Live).To(BeFalse())
		Expect(ended.Streams[0].Result).To(HaveField("Ending", emulator.EndHangup))
		Expect(ended.Streams[0].Result).To(HaveField("Cause", protocol.CauseClosed))
		Expect(whats(ended)).To(Equal([]string{"answer bxml", "mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		for _, d := range ended.Webhooks {
			Expect(d.URL).To(HavePrefix(h.app.URL("/")))
		}

		By("an unknown call")
		r = do(ctx, h.client, http.MethodGet, control.URL+"/control/calls/c-nope", nil, nil)
		Expect(r.status).To(Equal(http.StatusNotFound))
		Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
		Expect(string(r.body)).To(MatchJSON(`{"error": "no call c-nope"}`))
	}, timeout)
})
