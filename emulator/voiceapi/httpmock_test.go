package voiceapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/jarcoal/httpmock"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

// bandwidthApp is the API side of a Go app written against Bandwidth: a
// plain *http.Client, Bandwidth's production URLs, OAuth client
// credentials, requests shaped as the SDKs shape them. Nothing in it knows
// about the emulator.
type bandwidthApp struct {
	client                 *http.Client
	account                string
	clientID, clientSecret string
	token                  string
}

const (
	tokenURL = "https://api.bandwidth.com/api/v1/oauth2/token"
	voiceURL = "https://voice.bandwidth.com/api/v2"
)

func (a *bandwidthApp) do(req *http.Request, want int) ([]byte, http.Header, error) {
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	return body, resp.Header, nil
}

func (a *bandwidthApp) authenticate(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.clientID, a.clientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	body, _, err := a.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return err
	}
	if tok.TokenType != "Bearer" {
		return fmt.Errorf("token type %q", tok.TokenType)
	}
	a.token = tok.AccessToken
	return nil
}

func (a *bandwidthApp) request(ctx context.Context, method, url, contentType, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// createCall returns the callId and the Location of the new call.
func (a *bandwidthApp) createCall(ctx context.Context, answerURL, disconnectURL string) (string, string, error) {
	body, _ := json.Marshal(map[string]any{
		"to": "+19195551234", "from": "+19195554321", "applicationId": appID,
		"answerUrl": answerURL, "disconnectUrl": disconnectURL, "tag": "httpmock",
	})
	req, err := a.request(ctx, http.MethodPost, voiceURL+"/accounts/"+a.account+"/calls", "application/json", string(body))
	if err != nil {
		return "", "", err
	}
	data, header, err := a.do(req, http.StatusCreated)
	if err != nil {
		return "", "", err
	}
	var created struct {
		CallID string `json:"callId"`
	}
	return created.CallID, header.Get("Location"), json.Unmarshal(data, &created)
}

func (a *bandwidthApp) replaceBXML(ctx context.Context, callID, doc string) error {
	req, err := a.request(ctx, http.MethodPut, voiceURL+"/accounts/"+a.account+"/calls/"+callID+"/bxml", "application/xml", doc)
	if err != nil {
		return err
	}
	_, _, err = a.do(req, http.StatusNoContent)
	return err
}

func (a *bandwidthApp) hangUp(ctx context.Context, callID string) error {
	req, err := a.request(ctx, http.MethodPost, voiceURL+"/accounts/"+a.account+"/calls/"+callID, "application/json", `{"state":"completed"}`)
	if err != nil {
		return err
	}
	_, _, err = a.do(req, http.StatusOK)
	return err
}

func (a *bandwidthApp) callState(ctx context.Context, callID string) (string, error) {
	req, err := a.request(ctx, http.MethodGet, voiceURL+"/accounts/"+a.account+"/calls/"+callID, "", "")
	if err != nil {
		return "", err
	}
	req.Header.Del("Content-Type")
	body, _, err := a.do(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var st struct {
		State string `json:"state"`
	}
	return st.State, json.Unmarshal(body, &st)
}

var _ = Describe("RegisterResponders (httpmock)", func() {
	h := harnessEach()

	It("serves an app that uses Bandwidth's real URLs, through httpmock.ActivateNonDefault", func(ctx SpecContext) {
		defaultTransport := http.DefaultTransport
		client := &http.Client{}
		httpmock.ActivateNonDefault(client)
		DeferCleanup(httpmock.DeactivateNonDefault, client)
		DeferCleanup(httpmock.DefaultTransport.Reset)
		voiceapi.RegisterResponders(nil, h.api) // nil: httpmock.DefaultTransport, which the client now uses
		Expect(http.DefaultTransport).To(BeIdenticalTo(defaultTransport), "the process-wide transport is untouched")

		h.app.Serve("/answer", streamDoc(h.cons))
		a := &bandwidthApp{client: client, account: account, clientID: clientID, clientSecret: clientSecret}
		Expect(a.authenticate(ctx)).To(Succeed())
		id, location, err := a.createCall(ctx, h.app.URL("/answer"), h.app.URL("/events"))
		Expect(err).NotTo(HaveOccurred())
		Expect(location).To(Equal(voiceURL + "/accounts/" + account + "/calls/" + id))
		h.streaming(ctx, id)

		Expect(a.replaceBXML(ctx, id, `<Bxml><StopStream name="agent"/><Pause duration="60"/></Bxml>`)).To(Succeed())
		Eventually(ctx, h.app.Whats).Should(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)"}))
		Expect(a.callState(ctx, id)).To(Equal(bxml.StateAnswered))

		Expect(a.hangUp(ctx, id)).To(Succeed())
		Expect(a.callState(ctx, id)).To(Equal(bxml.StateDisconnected))
		h.ended(ctx, id)
		Expect(h.app.Whats()).To(Equal([]string{"answer", "mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		Expect(h.app.Only("answer").Event.Tag).To(Equal("httpmock"))

		var ops []string
		for _, e := range h.apiEntries() {
			ops = append(ops, e.Event)
		}
		Expect(ops).To(Equal([]string{"token", "createCall", "updateCallBxml", "getCallState", "updateCall", "getCallState"}))
		Expect(httpmock.GetTotalCallCount()).To(Equal(6))
	}, timeout)

	It("works on a transport of the test's own, and leaves other URLs alone", func(ctx SpecContext) {
		mt := httpmock.NewMockTransport()
		voiceapi.RegisterResponders(mt, h.api)
		client := &http.Client{Transport: mt}
		a := &bandwidthApp{client: client, account: account, clientID: clientID, clientSecret: "wrong"}
		Expect(a.authenticate(ctx)).To(MatchError(ContainSubstring(`401 {"error":"invalid_client"`)))

		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://messaging.bandwidth.com/api/v2/users/1/messages", nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = client.Do(req)
		Expect(err).To(MatchError(ContainSubstring("no responder found")))

		r := do(ctx, client, http.MethodGet, voiceURL+"/accounts/"+account+"/calls?to=%2B1", nil, apiBasic)
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(string(r.body)).To(Equal("[]"))
		r = do(ctx, client, http.MethodGet, voiceURL+"/accounts/"+account+"/calls/c-x", nil, apiBasic)
		r.expectError(http.StatusNotFound, voiceapi.TypeValidation, "Call [c-x] not found")

		By("answering as a server would: status line, length and request")
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, voiceURL+"/accounts/"+account+"/calls/c-x", nil)
		Expect(err).NotTo(HaveOccurred())
		req.SetBasicAuth(apiUser, apiPassword)
		resp, err := client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Status).To(Equal("404 Not Found"))
		Expect(resp.ContentLength).To(BeEquivalentTo(len(body)))
		Expect(body).NotTo(BeEmpty())
		Expect(resp.Header.Get("Content-Type")).To(HavePrefix("application/json"))
		Expect(resp.Request.URL.String()).To(Equal(req.URL.String()))
	}, timeout)
})
