package voiceapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/jarcoal/httpmock"
)

// Bandwidth's hosts, which its SDKs hard-code.
const (
	voiceHost = "voice.bandwidth.com"
	oauthHost = "api.bandwidth.com"
)

var (
	voiceURL = regexp.MustCompile(`^https://` + regexp.QuoteMeta(voiceHost) + regexp.QuoteMeta(VoicePrefix) + `(/|$)`)
	tokenURL = regexp.MustCompile(`^https://` + regexp.QuoteMeta(oauthHost) + regexp.QuoteMeta(TokenPath) + `/?$`)
)

// RegisterResponders makes t answer Bandwidth's real Voice API
// (https://voice.bandwidth.com/api/v2/…) and OAuth token endpoint
// (https://api.bandwidth.com/api/v1/oauth2/token) with s, in process: a Go
// app whose *http.Client uses t (httpmock.ActivateNonDefault(client), or
// httpmock.Activate for http.DefaultTransport) reaches the emulator at the
// URLs it uses in production, with no listening port. A nil t is
// httpmock.DefaultTransport. Requests to other URLs are left to t's other
// responders. The webhooks that follow still reach the app over real
// loopback HTTP, from the emulator's own client.
func RegisterResponders(t *httpmock.MockTransport, s *Server) {
	if t == nil {
		t = httpmock.DefaultTransport
	}
	responder := func(req *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		res := rec.Result()
		res.Request, res.ContentLength = req, int64(rec.Body.Len())
		return res, nil
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.RegisterRegexpResponder(m, voiceURL, responder)
	}
	t.RegisterRegexpResponder(http.MethodPost, tokenURL, responder)
	t.RegisterRegexpResponder(http.MethodGet, tokenURL, responder) // answered 405, as a server would
}
