package voiceapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

var _ = Describe("authentication", func() {
	h := harnessEach()

	unauthenticated := func(r response) {
		GinkgoHelper()
		r.expectError(http.StatusUnauthorized, voiceapi.TypeAuthentication, "The credentials provided were invalid")
		Expect(r.header.Get("WWW-Authenticate")).To(HavePrefix("Basic"))
	}

	It("accepts the Basic API user and refuses anything else with 401", func(ctx SpecContext) {
		Expect(h.send(ctx, http.MethodGet, calls(), nil, apiBasic).status).To(Equal(http.StatusOK))
		unauthenticated(h.send(ctx, http.MethodGet, calls(), nil, nil))
		unauthenticated(h.send(ctx, http.MethodGet, calls(), nil, basic(apiUser, "wrong")))
		unauthenticated(h.send(ctx, http.MethodGet, calls(), nil, basic("someone", apiPassword)))
		unauthenticated(h.send(ctx, http.MethodGet, calls(), nil, basic(clientID, clientSecret)))
		unauthenticated(h.send(ctx, http.MethodPost, calls(), h.createBody(nil), bearer("bogus")))
		unauthenticated(h.send(ctx, http.MethodGet, calls(), nil, func(r *http.Request) { r.Header.Set("Authorization", "Digest abc") }))
		Expect(h.api.Calls()).To(BeEmpty())
	}, timeout)

	It("issues an OAuth token for the client credentials grant, which the API then accepts", func(ctx SpecContext) {
		r := h.token(ctx, clientCredentials, basic(clientID, clientSecret))
		Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
		Expect(r.header.Get("Cache-Control")).To(Equal("no-store"))
		Expect(r.JSON()).To(MatchAllKeys(Keys{
			"access_token": And(BeAssignableToTypeOf(""), Not(BeEmpty())),
			"token_type":   Equal("Bearer"),
			"expires_in":   BeNumerically("==", 3600),
		}))
		token := r.JSON()["access_token"].(string)

		h.app.Serve("/answer", `<Response><Hangup/></Response>`)
		created := h.send(ctx, http.MethodPost, calls(), h.createBody(nil), bearer(token))
		Expect(created.status).To(Equal(http.StatusCreated), "body %s", created.body)
		Expect(h.send(ctx, http.MethodGet, calls(), nil, bearer(token)).status).To(Equal(http.StatusOK))

		By("a second token works alongside the first")
		other := h.token(ctx, clientCredentials, basic(clientID, clientSecret)).JSON()["access_token"].(string)
		Expect(other).NotTo(Equal(token))
		Expect(h.send(ctx, http.MethodGet, calls(), nil, bearer(other)).status).To(Equal(http.StatusOK))
		Expect(h.send(ctx, http.MethodGet, calls(), nil, bearer(token)).status).To(Equal(http.StatusOK))
	}, timeout)

	It("accepts form-urlencoded Basic client credentials, as golang.org/x/oauth2 sends them", func(ctx SpecContext) {
		h := newHarness(func(o *voiceapi.Options) { o.ClientID, o.ClientSecret = "client 7", "s3cret/+&=" })
		Expect(h.token(ctx, clientCredentials, basic(url.QueryEscape("client 7"), url.QueryEscape("s3cret/+&="))).status).To(Equal(http.StatusOK))
		Expect(h.token(ctx, clientCredentials, basic("client 7", "s3cret/+&=")).status).To(Equal(http.StatusOK))
		Expect(h.token(ctx, clientCredentials, basic(url.QueryEscape("client 7"), "wrong")).status).To(Equal(http.StatusUnauthorized))
	}, timeout)

	It("takes the client credentials from the form too", func(ctx SpecContext) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
		Expect(h.token(ctx, form, nil).status).To(Equal(http.StatusOK))
	}, timeout)

	DescribeTable("refuses a bad token request",
		func(ctx SpecContext, form url.Values, a auth, status int, code string) {
			r := h.token(ctx, form, a)
			Expect(r.status).To(Equal(status), "body %s", r.body)
			Expect(r.JSON()).To(HaveKeyWithValue("error", code))
			Expect(r.JSON()).NotTo(HaveKey("access_token"))
		},
		Entry("a bad secret", clientCredentials, basic(clientID, "wrong"), http.StatusUnauthorized, "invalid_client", timeout),
		Entry("an unknown client", clientCredentials, basic("other", clientSecret), http.StatusUnauthorized, "invalid_client", timeout),
		Entry("the API user instead of the client", clientCredentials, apiBasic, http.StatusUnauthorized, "invalid_client", timeout),
		Entry("no client at all", clientCredentials, nil, http.StatusUnauthorized, "invalid_client", timeout),
		Entry("the password grant", url.Values{"grant_type": {"password"}}, basic(clientID, clientSecret), http.StatusBadRequest, "unsupported_grant_type", timeout),
		Entry("no grant_type", url.Values{}, basic(clientID, clientSecret), http.StatusBadRequest, "invalid_request", timeout),
	)

	It("refuses a token request that is not a form, or not a POST", func(ctx SpecContext) {
		r := h.send(ctx, http.MethodPost, voiceapi.TokenPath, map[string]any{"grant_type": "client_credentials"}, basic(clientID, clientSecret))
		Expect(r.status).To(Equal(http.StatusBadRequest))
		Expect(r.JSON()).To(HaveKeyWithValue("error", "invalid_request"))
		r = h.send(ctx, http.MethodGet, voiceapi.TokenPath, nil, basic(clientID, clientSecret))
		Expect(r.status).To(Equal(http.StatusMethodNotAllowed))
		Expect(r.header.Get("Allow")).To(Equal(http.MethodPost))
	}, timeout)

	It("answers 401 once a token has expired", func(ctx SpecContext) {
		h := newHarness(func(o *voiceapi.Options) { o.TokenTTL = 100 * time.Millisecond })
		r := h.token(ctx, clientCredentials, basic(clientID, clientSecret))
		Expect(r.JSON()["expires_in"]).To(BeNumerically("==", 1), "rounded up to whole seconds")
		token := r.JSON()["access_token"].(string)
		Expect(h.send(ctx, http.MethodGet, calls(), nil, bearer(token)).status).To(Equal(http.StatusOK))
		Eventually(ctx, func() int { return h.send(ctx, http.MethodGet, calls(), nil, bearer(token)).status }).
			WithPolling(20 * time.Millisecond).Should(Equal(http.StatusUnauthorized))
	}, timeout)

	It("accepts every request when no credentials are configured", func(ctx SpecContext) {
		h := newHarness(func(o *voiceapi.Options) { o.Username, o.Password, o.ClientID, o.ClientSecret = "", "", "", "" })
		Expect(h.send(ctx, http.MethodGet, calls(), nil, nil).status).To(Equal(http.StatusOK))
		Expect(h.send(ctx, http.MethodGet, calls(), nil, basic("any", "thing")).status).To(Equal(http.StatusOK))
		Expect(h.token(ctx, clientCredentials, nil).status).To(Equal(http.StatusOK))
	}, timeout)

	It("refuses tokens when only the Basic user is configured", func(ctx SpecContext) {
		h := newHarness(func(o *voiceapi.Options) { o.ClientID, o.ClientSecret = "", "" })
		Expect(h.token(ctx, clientCredentials, basic("", "")).status).To(Equal(http.StatusUnauthorized))
		Expect(h.send(ctx, http.MethodGet, calls(), nil, apiBasic).status).To(Equal(http.StatusOK))
	}, timeout)
})

var _ = Describe("the journal of API requests", func() {
	It("records every request with its operation, status and latency, and never a secret", func(ctx SpecContext) {
		h := newHarness()
		h.app.Serve("/answer", streamDoc(h.cons))
		token := h.token(ctx, clientCredentials, basic(clientID, clientSecret)).JSON()["access_token"].(string)
		hook := strings.Replace(h.app.URL("/events"), "http://", "http://hook:url-pa55-never-journaled@", 1)
		id := h.create(ctx, map[string]any{"username": "app-user", "password": "app-pa55-never-journaled", "disconnectUrl": hook})
		h.streaming(ctx, id)
		h.send(ctx, http.MethodGet, callPath(id), nil, bearer(token))
		h.send(ctx, http.MethodGet, calls(), nil, basic(apiUser, "wrong-pa55-never-journaled"))
		h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "completed"}, bearer(token))
		h.ended(ctx, id)

		entries := h.apiEntries()
		var ops []string
		for _, e := range entries {
			ops = append(ops, e.Event)
			Expect(e.By).To(Equal(emulator.ByApp))
			Expect(e.Latency).To(BeNumerically(">", 0))
		}
		Expect(ops).To(Equal([]string{"token", "createCall", "getCallState", "listCalls", "updateCall"}))
		Expect(entries[0].Message).To(MatchRegexp(`^POST /api/v1/oauth2/token → 200 OK in \S+ \(Authorization: Basic \[redacted\]\); token issued`))
		Expect(entries[1].Code).To(Equal(http.StatusCreated))
		Expect(entries[1].CallID).To(Equal(id))
		Expect(string(entries[1].Data)).To(ContainSubstring(`"password":"[redacted]"`))
		Expect(string(entries[1].Data)).To(ContainSubstring(`"username":"app-user"`))
		Expect(entries[2].Message).To(ContainSubstring("(Authorization: Bearer [redacted])"))
		Expect(entries[3].Code).To(Equal(http.StatusUnauthorized))
		Expect(entries[3].Error).To(Equal("The credentials provided were invalid"))
		Expect(entries[4].CallID).To(Equal(id))

		var buf bytes.Buffer
		Expect(h.em.Journal().WriteJSONLines(&buf)).To(Succeed())
		for _, secret := range []string{apiPassword, clientSecret, token, "app-pa55-never-journaled", "wrong-pa55-never-journaled", "url-pa55-never-journaled",
			base64.StdEncoding.EncodeToString([]byte(apiUser + ":" + apiPassword)),
			base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret))} {
			Expect(buf.String()).NotTo(ContainSubstring(secret))
		}
	}, timeout)
})
