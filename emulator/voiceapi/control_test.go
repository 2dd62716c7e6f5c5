package voiceapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
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
			"control: POST /control/calls/c-nope/streams/agent/fault → 400 Bad Request",
			"control: POST /control/calls/c-nope/streams/agent/media → 400 Bad Request",
			"control: POST /control/calls/c-nope/streams/agent/fault → 404 Not Found",
		}))
	})
})
