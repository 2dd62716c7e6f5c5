package voiceapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/consumer"
)

var _ = Describe("update call", func() {
	h := harnessEach()

	It("hangs up with state=completed: the stream stops (closed), then disconnect (hangup)", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)

		r := h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "completed"}, apiBasic)
		Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
		h.ended(ctx, id)
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		stopped := h.app.Only("mediaStreamStopped (closed)").Event
		Expect(stopped.ErrorMessage).To(BeEmpty())
		Expect(stopped.MediaStream.Duration).NotTo(BeNil())
		rec, err := h.cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.CallID == id && r.Closed })
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.Stop).NotTo(BeNil(), "the consumer got the stop message")

		By("the call is gone for further updates")
		h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "completed"}, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call ["+id+"] not found: it has ended")
		h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call ["+id+"] not found: it has ended")
	}, timeout)

	It("redirects with state=active and a redirectUrl, with the update's credentials", func(ctx SpecContext) {
		h.app.Serve("/next", `<Response><StopStream name="agent"/><Hangup/></Response>`)
		id := h.streamingCall(ctx, nil)

		r := h.send(ctx, http.MethodPost, callPath(id), map[string]any{
			"state": "active", "redirectUrl": h.app.URL("/next"), "redirectMethod": "POST",
			"username": "redirect-user", "password": "redirect-pa55",
		}, apiBasic)
		Expect(r.status).To(Equal(http.StatusOK), "body %s", r.body)
		h.ended(ctx, id)
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted", "redirect", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		redirect := h.app.Only("redirect")
		Expect(redirect.Path).To(Equal("/next"))
		Expect(redirect.Event.CallID).To(Equal(id))
		Expect(redirect.Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("redirect-user:redirect-pa55"))))
	}, timeout)

	It("treats state=active without a redirectUrl as nothing to do", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)
		Expect(h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "active", "tag": "new"}, apiBasic).status).To(Equal(http.StatusOK))
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))
		entries := h.apiEntries()
		last := entries[len(entries)-2]
		Expect(last.Event).To(Equal("updateCall"))
		Expect(last.Message).To(ContainSubstring("tag ignored"))
		Expect(last.Message).To(ContainSubstring("nothing to do"))
	}, timeout)

	It("answers 409 to a redirect or a BXML replacement while the answer webhook is out, but hangs up", func(ctx SpecContext) {
		release := h.app.Hold("/answer", streamDoc(h.cons))
		id := h.create(ctx, nil)
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"answer"}))

		conflict := "Call [" + id + "] is not modifiable yet: its answer webhook has not returned BXML, so there is nothing to interrupt"
		h.send(ctx, http.MethodPost, callPath(id), map[string]any{"redirectUrl": h.app.URL("/next")}, apiBasic).
			expectError(http.StatusConflict, voiceapi.TypeConflict, conflict)
		h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic).
			expectError(http.StatusConflict, voiceapi.TypeConflict, conflict)
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))

		By("state=completed is always accepted: the answer fetch is abandoned")
		Expect(h.send(ctx, http.MethodPost, callPath(id), map[string]any{"state": "completed"}, apiBasic).status).To(Equal(http.StatusOK))
		h.ended(ctx, id)
		release()
		Expect(h.app.Whats()).To(Equal([]string{"answer", "disconnect (hangup)"}))
		Expect(h.cons.Streams()).To(BeEmpty())
	}, timeout)

	It("modifies the call once the answer BXML has arrived", func(ctx SpecContext) {
		release := h.app.Hold("/answer", streamDoc(h.cons))
		id := h.create(ctx, nil)
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"answer"}))
		release()
		h.streaming(ctx, id)
		Expect(h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic).status).To(Equal(http.StatusNoContent))
		h.ended(ctx, id)
	}, timeout)

	DescribeTable("refuses a bad update with 400",
		func(ctx SpecContext, body map[string]any, description string) {
			h.app.Serve("/answer", `<Response><Pause duration="60"/></Response>`)
			id := h.create(ctx, nil)
			h.send(ctx, http.MethodPost, callPath(id), body, apiBasic).expectError(http.StatusBadRequest, voiceapi.TypeValidation, description)
			Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))
		},
		Entry("state hungup", map[string]any{"state": "hungup"}, `Invalid state "hungup": must be one of [active, completed]`, timeout),
		Entry("state COMPLETED", map[string]any{"state": "COMPLETED"}, `Invalid state "COMPLETED": must be one of [active, completed]`, timeout),
		Entry("a ws redirectUrl", map[string]any{"redirectUrl": "ws://example.com/"}, "Invalid redirectUrl: only http and https are allowed", timeout),
		Entry("redirectMethod PATCH", map[string]any{"redirectUrl": "http://example.com/", "redirectMethod": "PATCH"}, "Invalid redirectUrl method. Supported methods: [POST, GET]", timeout),
	)

	It("answers 404 for an unknown call and 415 for a body that is not JSON", func(ctx SpecContext) {
		h.send(ctx, http.MethodPost, callPath("c-nope"), map[string]any{"state": "completed"}, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call [c-nope] not found")
		h.send(ctx, http.MethodPost, callPath("c-nope"), `<Bxml/>`, apiBasic).
			expectError(http.StatusUnsupportedMediaType, voiceapi.TypeValidation, "Content-Type application/xml is not supported: send application/json")
	}, timeout)
})

var _ = Describe("replace BXML", func() {
	h := harnessEach()

	It("stops the named stream with cause closed; when the new verbs run out the call hangs up", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)

		r := h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><StopStream name="agent"/></Bxml>`, apiBasic)
		Expect(r.status).To(Equal(http.StatusNoContent), "body %s", r.body)
		Expect(r.body).To(BeEmpty())
		h.ended(ctx, id)
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("keeps the call up when the new BXML goes on", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)
		r := h.send(ctx, http.MethodPut, callPath(id)+"/bxml",
			`<?xml version="1.0" encoding="UTF-8"?><Bxml><StopStream name="agent"/><Pause duration="60"/></Bxml>`, apiBasic)
		Expect(r.status).To(Equal(http.StatusNoContent))
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)"}))
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))
	}, timeout)

	It("refuses invalid BXML with 400 and leaves the call as it was", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)
		h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><StartStream name="x" mode="both" destination="ws://x/"/></Bxml>`, apiBasic).
			expectError(http.StatusBadRequest, voiceapi.TypeValidation, `invalid BXML: line 1: <StartStream> mode: "both": want unidirectional or bidirectional`)
		h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Html/>`, apiBasic).
			expectError(http.StatusBadRequest, voiceapi.TypeValidation, `invalid BXML: line 1: root element <Html>: want <Response> or <Bxml>`)
		h.send(ctx, http.MethodPut, callPath(id)+"/bxml", "<Bxml>"+strings.Repeat(" ", bxml.MaxDocument)+"</Bxml>", apiBasic).
			expectError(http.StatusBadRequest, voiceapi.TypeValidation, "invalid BXML: the document is 65537 bytes: Bandwidth accepts at most 65536 (64 KB)")
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted"}))
	}, timeout)

	DescribeTable("answers 415 to a body that is not application/xml",
		func(ctx SpecContext, contentType string) {
			h.app.Serve("/answer", `<Response><Pause duration="60"/></Response>`)
			id := h.create(ctx, nil)
			r := h.send(ctx, http.MethodPut, callPath(id)+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic, func(r *http.Request) {
				r.Header.Set("Content-Type", contentType)
			})
			Expect(r.status).To(Equal(http.StatusUnsupportedMediaType))
			Expect(r.JSON()["type"]).To(Equal(voiceapi.TypeValidation))
			Expect(h.state(ctx, id).State).To(Equal(bxml.StateAnswered))
		},
		Entry("application/json", "application/json", timeout),
		Entry("text/plain", "text/plain", timeout),
	)

	It("answers 404 for an unknown call", func(ctx SpecContext) {
		h.send(ctx, http.MethodPut, callPath("c-nope")+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic).
			expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call [c-nope] not found")
	}, timeout)
})

var _ = Describe("inbound calls and Close", func() {
	h := harnessEach()

	It("places an inbound call the API then knows, initiated until its BXML arrives", func(ctx SpecContext) {
		release := h.app.Hold("/initiate", streamDoc(h.cons))
		c, err := h.api.Inbound(voiceapi.InboundCall{URL: h.app.URL("/initiate"), From: "+15551230000", To: "+15554560000",
			DisconnectURL: h.app.URL("/events")})
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"initiate"}))
		st := h.state(ctx, c.ID)
		Expect(st.State).To(Equal(bxml.StateInitiated))
		Expect(st.Direction).To(Equal(protocol.DirectionInbound))
		Expect(st.AnswerTime).To(BeNil())
		Expect(st.EnqueuedTime).To(BeNil())
		h.send(ctx, http.MethodPut, callPath(c.ID)+"/bxml", `<Bxml><Hangup/></Bxml>`, apiBasic).
			expectError(http.StatusConflict, voiceapi.TypeConflict, "Call ["+c.ID+"] is not modifiable yet: its initiate webhook has not returned BXML, so there is nothing to interrupt")
		release()
		h.streaming(ctx, c.ID)
		Expect(h.state(ctx, c.ID).State).To(Equal(bxml.StateAnswered))
		Expect(h.state(ctx, c.ID).AnswerTime).NotTo(BeNil())
		Expect(h.app.Only("initiate").Event.From).To(Equal("+15551230000"))
	}, timeout)

	It("ends live calls gracefully on Close, then refuses new ones with 503", func(ctx SpecContext) {
		id := h.streamingCall(ctx, nil)
		Expect(h.api.Close()).To(Succeed())
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		h.send(ctx, http.MethodPost, calls(), h.createBody(nil), apiBasic).
			expectError(http.StatusServiceUnavailable, voiceapi.TypeUnavailable, "the emulator is shutting down: no new calls")
		Expect(h.state(ctx, id).State).To(Equal(bxml.StateDisconnected))
		_, err := h.api.Inbound(voiceapi.InboundCall{URL: h.app.URL("/initiate")})
		Expect(err).To(MatchError(voiceapi.ErrClosed))
		Expect(h.api.Close()).To(Succeed(), "twice is fine")
	}, timeout)
})
