package voiceapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxTokenBody bounds the token request's form.
const maxTokenBody = 64 << 10

// authenticate accepts HTTP Basic with the API user, or a Bearer token the
// token endpoint issued that has not expired. With no credentials
// configured at all, every request is accepted.
func (s *Server) authenticate(r *http.Request) bool {
	if s.open {
		return true
	}
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "basic":
		user, password, ok := r.BasicAuth()
		if !ok || (s.opts.Username == "" && s.opts.Password == "") {
			return false
		}
		return equal(user, s.opts.Username) && equal(password, s.opts.Password)
	case "bearer":
		token := strings.TrimSpace(rest)
		s.mu.Lock()
		defer s.mu.Unlock()
		expiry, ok := s.tokens[token]
		return ok && time.Now().Before(expiry)
	}
	return false
}

// equal compares secrets in constant time.
func equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// serveToken is POST /api/v1/oauth2/token, the client credentials grant:
// the client authenticates with HTTP Basic (or client_id and
// client_secret in the form) and sends grant_type=client_credentials.
func (s *Server) serveToken(x *exchange, r *http.Request) {
	if r.Method != http.MethodPost {
		x.Header().Set("Allow", http.MethodPost)
		x.oauthFail(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		x.oauthFail(http.StatusBadRequest, "invalid_request", "send the form as application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(x, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		x.oauthFail(http.StatusBadRequest, "invalid_request", "the form does not parse: "+err.Error())
		return
	}
	id, secret, viaBasic := r.BasicAuth()
	if !viaBasic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !s.clientOK(id, secret, viaBasic) {
		x.oauthFail(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		x.oauthFail(http.StatusBadRequest, "invalid_request", "grant_type is missing")
		return
	default:
		x.oauthFail(http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q: only client_credentials is supported", grant))
		return
	}
	token := newToken()
	now := time.Now()
	s.mu.Lock()
	for t, expiry := range s.tokens {
		if !now.Before(expiry) {
			delete(s.tokens, t)
		}
	}
	s.tokens[token] = now.Add(s.opts.TokenTTL)
	s.mu.Unlock()
	x.note = fmt.Sprintf("token issued to client %q, valid for %s", id, s.opts.TokenTTL)
	x.Header().Set("Cache-Control", "no-store")
	x.Header().Set("Pragma", "no-cache")
	writeJSON(x, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer",
		ExpiresIn: int(math.Ceil(s.opts.TokenTTL.Seconds()))})
}

// clientOK checks the OAuth client. Basic credentials may be
// form-urlencoded first (RFC 6749 §2.3.1), so both spellings pass.
func (s *Server) clientOK(id, secret string, viaBasic bool) bool {
	if s.open {
		return true
	}
	if s.opts.ClientID == "" && s.opts.ClientSecret == "" {
		return false
	}
	if equal(id, s.opts.ClientID) && equal(secret, s.opts.ClientSecret) {
		return true
	}
	if !viaBasic {
		return false
	}
	uid, err1 := url.QueryUnescape(id)
	usecret, err2 := url.QueryUnescape(secret)
	return err1 == nil && err2 == nil && equal(uid, s.opts.ClientID) && equal(usecret, s.opts.ClientSecret)
}

func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
