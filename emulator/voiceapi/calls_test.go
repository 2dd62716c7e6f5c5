package voiceapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
)

var _ = Describe("create call", func() {
	h := harnessEach()

	It("answers 201 with Location and the request echoed, then fetches the answer BXML and runs it", func(ctx SpecContext) {
		h.app.Serve("/answer", streamDoc(h.cons))
		r := h.send(ctx, http.MethodPost, calls(), h.createBody(map[string]any{
			"username": "app-user", "password": "app-pa55", "tag": "order-42",
			"callTimeout": 45, "callbackTimeout": 5.5, "priority": 2, "answerMethod": "POST",
		}), apiBasic)
		Expect(r.status).To(Equal(http.StatusCreated), "body %s", r.body)
		body := r.JSON()
		id := body["callId"].(string)
		Expect(id).To(HaveLen(protocol.IDLength))
		Expect(id).To(HavePrefix("c-"))
		Expect(r.header.Get("Location")).To(Equal(h.base + callPath(id)))
		Expect(body).To(MatchAllKeys(Keys{
			"callId": Equal(id), "accountId": Equal(account), "applicationId": Equal(appID),
			"to": Equal("+19195551234"), "from": Equal("+19195554321"),
			"callUrl":      Equal("https://voice.bandwidth.com/api/v2/accounts/" + account + "/calls/" + id),
			"enqueuedTime": MatchRegexp(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`),
			"callTimeout":  BeNumerically("==", 45), "callbackTimeout": BeNumerically("==", 5.5),
			"priority": BeNumerically("==", 2), "tag": Equal("order-42"),
			"answerUrl": Equal(h.app.URL("/answer")), "answerMethod": Equal("POST"),
			"disconnectUrl": Equal(h.app.URL("/events")), "disconnectMethod": Equal("POST"),
			"username": Equal("app-user"), "password": Equal("*****"),
		}))

		By("the answer webhook, with the call's credentials, then the stream")
		h.streaming(ctx, id)
		answer := h.app.Only("answer")
		Expect(answer.Method).To(Equal(http.MethodPost))
		Expect(answer.Path).To(Equal("/answer"))
		Expect(answer.Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("app-user:app-pa55"))))
		Expect(answer.Event.Direction).To(Equal(protocol.DirectionOutbound))
		Expect(answer.Event.CallID).To(Equal(id))
		Expect(answer.Event.AccountID).To(Equal(account))
		Expect(answer.Event.From).To(Equal("+19195554321"))
		Expect(answer.Event.To).To(Equal("+19195551234"))
		Expect(answer.Event.Tag).To(Equal("order-42"))
		Expect(answer.Event.AnswerTime).NotTo(BeNil())
		Expect(answer.Event.ApplicationID).To(Equal(appID), "every webhook of the call carries the applicationId it was created with")
		started := h.app.Only("mediaStreamStarted")
		Expect(started.Event.ApplicationID).To(Equal(appID))
		Expect(started.Event.MediaStream.Name).To(Equal("agent"))
		Expect(started.Header.Get("Authorization")).To(BeEmpty(), "StartStream set no username")
		rec, err := h.cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.CallID == id })
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.StreamName).To(Equal("agent"))
		Expect(rec.StreamParams).To(HaveLen(1))

		st := h.state(ctx, id)
		Expect(st.State).To(Equal(bxml.StateAnswered))
		Expect(st.Direction).To(Equal(protocol.DirectionOutbound))
		Expect(st.Tag).To(Equal("order-42"))
	}, timeout)

	It("fills in Bandwidth's defaults and accepts a trailing slash", func(ctx SpecContext) {
		h.app.Serve("/answer", `<Response><Pause duration="60"/></Response>`)
		r := h.send(ctx, http.MethodPost, calls()+"/", h.createBody(map[string]any{"disconnectUrl": nil}), apiBasic)
		Expect(r.status).To(Equal(http.StatusCreated), "body %s", r.body)
		body := r.JSON()
		Expect(body["callTimeout"]).To(BeNumerically("==", 30))
		Expect(body["callbackTimeout"]).To(BeNumerically("==", 15))
		Expect(body["priority"]).To(BeNumerically("==", 5))
		Expect(body["answerMethod"]).To(Equal("POST"))
		Expect(body["disconnectMethod"]).To(Equal("POST"))
		Expect(body).NotTo(HaveKey("password"))
		Expect(body).NotTo(HaveKey("tag"))
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"answer"}))
	}, timeout)

	It("fetches the answer with GET and query parameters when answerMethod is GET", func(ctx SpecContext) {
		h.app.Serve("/answer", `<Response><Hangup/></Response>`)
		id := h.create(ctx, map[string]any{"answerMethod": "GET"})
		h.ended(ctx, id)
		Expect(h.app.Whats()).To(Equal([]string{"answer", "disconnect (hangup)"}))
		Expect(h.app.Only("answer").Method).To(Equal(http.MethodGet))
		Expect(h.app.Only("answer").Event.ApplicationID).To(Equal(appID))
		Expect(h.app.Only("disconnect (hangup)").Event.ApplicationID).To(Equal(appID))
	}, timeout)

	DescribeTable("refuses an invalid request with 400 and Bandwidth's error",
		func(ctx SpecContext, edit map[string]any, description string) {
			body := h.createBody(nil)
			for k, v := range edit {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
			h.send(ctx, http.MethodPost, calls(), body, apiBasic).expectError(http.StatusBadRequest, voiceapi.TypeValidation, description)
			Expect(h.api.Calls()).To(BeEmpty())
			Expect(h.app.Requests()).To(BeEmpty())
		},
		Entry("no to", map[string]any{"to": nil}, "Missing at least one required field. Required fields are [from, to, answerUrl, applicationId]", timeout),
		Entry("no applicationId", map[string]any{"applicationId": nil}, "Missing at least one required field. Required fields are [from, to, answerUrl, applicationId]", timeout),
		Entry("no answerUrl", map[string]any{"answerUrl": ""}, "Missing at least one required field. Required fields are [from, to, answerUrl, applicationId]", timeout),
		Entry("a to that is no number", map[string]any{"to": "scooby-doo"}, "Invalid to: must be an E164 telephone number or a SIP URI", timeout),
		Entry("a from without +", map[string]any{"from": "19195554321"}, "Invalid from: must be an E164 telephone number", timeout),
		Entry("an ftp answerUrl", map[string]any{"answerUrl": "ftp://example.com/answer"}, "Invalid answerUrl: only http and https are allowed", timeout),
		Entry("answerMethod PUT", map[string]any{"answerMethod": "PUT"}, "Invalid answerUrl method. Supported methods: [POST, GET]", timeout),
		Entry("a relative disconnectUrl", map[string]any{"disconnectUrl": "/events"}, "Invalid disconnectUrl: only http and https are allowed", timeout),
		Entry("callTimeout 0", map[string]any{"callTimeout": 0}, "callTimeout must be within the range [1, 300], but was 0", timeout),
		Entry("callTimeout 301", map[string]any{"callTimeout": 301}, "callTimeout must be within the range [1, 300], but was 301", timeout),
		Entry("callbackTimeout 25.5", map[string]any{"callbackTimeout": 25.5}, "callbackTimeout must be within the range [1, 25], but was 25.5", timeout),
		Entry("priority 6", map[string]any{"priority": 6}, "priority must be within the range [1, 5], but was 6", timeout),
		Entry("priority 2.5", map[string]any{"priority": 2.5}, "priority must be within the range [1, 5], but was 2.5", timeout),
		Entry("a tag over 4096 characters", map[string]any{"tag": strings.Repeat("t", 4097)}, "Could not create call: tag must contain at most 4096 characters", timeout),
		Entry("a number where a string goes", map[string]any{"to": 19195551234},
			"There is something wrong with the request: json: cannot unmarshal number into Go struct field createCallRequest.to of type string", timeout),
	)

	It("refuses a body that is not JSON with 400", func(ctx SpecContext) {
		r := h.send(ctx, http.MethodPost, calls(), nil, apiBasic, func(r *http.Request) {
			r.Body = http.NoBody
			r.Header.Set("Content-Type", "application/json")
		})
		r.expectError(http.StatusBadRequest, voiceapi.TypeValidation, "There is something wrong with the request: EOF")
	}, timeout)

	DescribeTable("answers 415 to a body that is not application/json",
		func(ctx SpecContext, contentType, shown string) {
			r := h.send(ctx, http.MethodPost, calls(), h.createBody(nil), apiBasic, func(r *http.Request) {
				if contentType == "" {
					r.Header.Del("Content-Type")
				} else {
					r.Header.Set("Content-Type", contentType)
				}
			})
			r.expectError(http.StatusUnsupportedMediaType, voiceapi.TypeValidation, "Content-Type "+shown+" is not supported: send application/json")
			Expect(h.api.Calls()).To(BeEmpty())
		},
		Entry("text/plain", "text/plain", "text/plain", timeout),
		Entry("application/xml", "application/xml", "application/xml", timeout),
		Entry("none", "", "none", timeout),
	)

	It("accepts application/json with a charset", func(ctx SpecContext) {
		h.app.Serve("/answer", `<Response><Hangup/></Response>`)
		r := h.send(ctx, http.MethodPost, calls(), h.createBody(nil), apiBasic, func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
		})
		Expect(r.status).To(Equal(http.StatusCreated))
	}, timeout)

	It("answers 403 for another account, after authentication", func(ctx SpecContext) {
		r := h.send(ctx, http.MethodPost, "/api/v2/accounts/5550000/calls", h.createBody(nil), apiBasic)
		r.expectError(http.StatusForbidden, voiceapi.TypeAuthorization, "Access is denied: account 5550000 is not this emulator's account ("+account+")")
		h.send(ctx, http.MethodGet, "/api/v2/accounts/5550000/calls", nil, apiBasic).
			expectError(http.StatusForbidden, voiceapi.TypeAuthorization, "Access is denied: account 5550000 is not this emulator's account ("+account+")")
		h.send(ctx, http.MethodPost, "/api/v2/accounts/5550000/calls", h.createBody(nil), basic(apiUser, "wrong")).
			expectError(http.StatusUnauthorized, voiceapi.TypeAuthentication, "The credentials provided were invalid")
		Expect(h.api.Calls()).To(BeEmpty())
	}, timeout)

	It("answers 404 for unknown paths and 405 for other methods", func(ctx SpecContext) {
		h.send(ctx, http.MethodGet, "/api/v2/accounts/"+account+"/conferences", nil, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "path /api/v2/accounts/"+account+"/conferences not found")
		h.send(ctx, http.MethodGet, "/api/v1/calls", nil, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "path /api/v1/calls not found: the Voice API is under /api/v2")
		r := h.send(ctx, http.MethodDelete, callPath("c-1"), nil, apiBasic)
		r.expectError(http.StatusMethodNotAllowed, voiceapi.TypeValidation, "Method Not Allowed: DELETE "+callPath("c-1"))
		Expect(r.header.Get("Allow")).To(Equal("GET, POST"))
		r = h.send(ctx, http.MethodPost, callPath("c-1")+"/bxml", nil, apiBasic)
		Expect(r.status).To(Equal(http.StatusMethodNotAllowed))
		Expect(r.header.Get("Allow")).To(Equal("PUT"))
	}, timeout)

	It("holds the answer webhook until the create-call response is out", func(ctx SpecContext) {
		h.app.Serve("/answer", `<Response><Hangup/></Response>`)
		id := h.create(ctx, nil)
		h.ended(ctx, id)
		var created, answered int64
		for _, e := range h.em.Journal().Entries() {
			switch {
			case e.Kind == voiceapi.KindAPI && e.Event == "createCall":
				created = e.Seq
			case e.Kind == "webhook" && e.Event == bxml.EventAnswer:
				answered = e.Seq
			}
		}
		Expect(created).NotTo(BeZero())
		Expect(answered).To(BeNumerically(">", created))
	}, timeout)
})

var _ = Describe("get call state and list calls", func() {
	h := harnessEach()

	It("reports a live call, then its end with endTime and disconnectCause", func(ctx SpecContext) {
		id := h.streamingCall(ctx, map[string]any{"tag": "t1"})
		r := h.send(ctx, http.MethodGet, callPath(id), nil, apiBasic)
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(r.JSON()).To(MatchAllKeys(Keys{
			"callId": Equal(id), "accountId": Equal(account), "applicationId": Equal(appID),
			"to": Equal("+19195551234"), "from": Equal("+19195554321"), "direction": Equal("outbound"),
			"state": Equal("answered"), "tag": Equal("t1"),
			"enqueuedTime": BeAssignableToTypeOf(""), "startTime": BeAssignableToTypeOf(""),
			"answerTime": BeAssignableToTypeOf(""), "lastUpdate": BeAssignableToTypeOf(""),
			"endTime": BeNil(), "disconnectCause": BeNil(), "errorMessage": BeNil(), "errorId": BeNil(),
		}))

		Expect(h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "completed"}, apiBasic).status).To(Equal(http.StatusOK))
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateDisconnected), "at once, from the API's 200 on")
		h.ended(ctx, id)
		st := h.state(ctx, id)
		Expect(st.State).To(Equal(bxml.StateDisconnected))
		Expect(st.EndTime).NotTo(BeNil())
		Expect(*st.DisconnectCause).To(Equal("hangup"))
		Expect(st.ErrorMessage).To(BeNil())
		Expect(st.EndTime.Before(st.StartTime.Time)).To(BeFalse())
		Expect(st.StartTime.Before(st.EnqueuedTime.Time)).To(BeFalse())
		Expect(st.LastUpdate.Time).To(Equal(st.EndTime.Time))
	}, timeout)

	It("reports callback-error with an errorMessage when the answer webhook fails", func(ctx SpecContext) {
		h.app.Route("/answer", apptest.Reply{Status: http.StatusInternalServerError, Body: "boom", ContentType: "application/xml"})
		id := h.create(ctx, nil)
		h.ended(ctx, id)
		st := h.state(ctx, id)
		Expect(st.State).To(Equal(bxml.StateDisconnected))
		Expect(*st.DisconnectCause).To(Equal(bxml.CauseCallbackError))
		Expect(*st.ErrorMessage).To(ContainSubstring("the app answered 500 Internal Server Error"))
		Expect(h.app.Whats()).To(Equal([]string{"answer", "disconnect (callback-error)"}))
	}, timeout)

	It("reports invalid-bxml when the answer is not BXML", func(ctx SpecContext) {
		h.app.Serve("/answer", `<Response><StartStream name="x"/></Response>`)
		id := h.create(ctx, nil)
		h.ended(ctx, id)
		st := h.state(ctx, id)
		Expect(*st.DisconnectCause).To(Equal(protocol.DisconnectInvalidBXML))
		Expect(*st.ErrorMessage).To(HavePrefix("invalid BXML: line 1: <StartStream> destination: is required"))
	}, timeout)

	It("answers 404 for an unknown call", func(ctx SpecContext) {
		h.send(ctx, http.MethodGet, callPath("c-00000000-00000000-0000-0000-0000-000000000000"), nil, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call [c-00000000-00000000-0000-0000-0000-000000000000] not found")
	}, timeout)

	It("lists calls oldest first, filtered by to, from and disconnectCause", func(ctx SpecContext) {
		r := h.send(ctx, http.MethodGet, calls(), nil, apiBasic)
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(string(r.body)).To(Equal("[]"))

		h.app.Serve("/answer", `<Response><Pause duration="60"/></Response>`)
		first := h.create(ctx, map[string]any{"to": "+15550000001"})
		second := h.create(ctx, map[string]any{"to": "+15550000002"})
		Expect(h.send(ctx, http.MethodPost, callPath(first), map[string]any{"state": "completed"}, apiBasic).status).To(Equal(http.StatusOK))
		h.ended(ctx, first)

		list := func(query string) []string {
			r := h.send(ctx, http.MethodGet, calls()+query, nil, apiBasic)
			Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
			var states []voiceapi.CallState
			Expect(json.Unmarshal(r.body, &states)).To(Succeed())
			var ids []string
			for _, s := range states {
				ids = append(ids, s.CallID)
			}
			return ids
		}
		Expect(list("")).To(Equal([]string{first, second}))
		Expect(list("?to=%2B15550000002")).To(Equal([]string{second}))
		Expect(list("?from=%2B19195554321&pageSize=1")).To(Equal([]string{first}))
		Expect(list("?disconnectCause=hangup")).To(Equal([]string{first}))
		Expect(list("?minStartTime=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))).To(BeEmpty())
		h.send(ctx, http.MethodGet, calls()+"?pageSize=0", nil, apiBasic).
			expectError(http.StatusBadRequest, voiceapi.TypeValidation, "pageSize must be within the range [1, 10000], but was 0")
	}, timeout)
})

var _ = Describe("https:// answer URLs", func() {
	It("trust the CA the emulator trusts (Options.TLSConfig)", func(ctx SpecContext) {
		app := apptest.NewTLSHooks()
		app.Serve("/answer", `<Response><Hangup/></Response>`)
		em := apptest.NewEmulator(&emulator.Options{AccountID: account, TLSConfig: app.TLSConfig()})
		api, err := voiceapi.New(&voiceapi.Options{Engine: &bxml.Engine{Emulator: em, Pace: emulator.Fast}})
		Expect(err).NotTo(HaveOccurred())
		srv := httptest.NewServer(api)
		DeferCleanup(srv.Close)
		DeferCleanup(api.Close)

		tr := &http.Transport{DisableKeepAlives: true}
		r := do(ctx, &http.Client{Transport: tr}, http.MethodPost, srv.URL+calls(), map[string]any{
			"to": "+19195551234", "from": "+19195554321", "applicationId": appID,
			"answerUrl": app.URL("/answer"), "disconnectUrl": app.DisconnectURL(),
		}, nil)
		Expect(r.status).To(Equal(http.StatusCreated), "body %s", r.body)
		Eventually(app.Whats).WithTimeout(5*time.Second).Should(Equal([]string{"answer", "disconnect (hangup)"}), "the BXML was fetched and ran: no callback-error")
		Expect(em.Journal().Entries()).NotTo(ContainElement(HaveField("Error", ContainSubstring("certificate"))))
	}, timeout)
})
