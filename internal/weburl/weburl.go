// Package weburl holds the URL and HTTP-client handling the emulator, the
// BXML engine, the Voice API and the CLI share: resolving as Bandwidth
// resolves, adding query parameters, keeping secrets in URLs out of
// journals, a transport of one's own and a CA to trust.
package weburl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Redacted replaces a secret in anything recorded.
const Redacted = "[redacted]"

// Resolve resolves ref against base, the URL that served the BXML, as
// Bandwidth resolves relative callback URLs.
func Resolve(base, ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", ref)
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() {
		return "", fmt.Errorf("%q is relative and there is no absolute BXML URL to resolve it against", ref)
	}
	return b.ResolveReference(u).String(), nil
}

// WithQuery adds q to the query of raw, keeping what it had.
func WithQuery(raw string, q url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	merged := u.Query()
	for k, vs := range q {
		merged[k] = append(merged[k], vs...)
	}
	u.RawQuery = merged.Encode()
	return u.String()
}

// Redact hides a password in the URL's userinfo before it is recorded.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Redacted)
	}
	return u.String()
}

// ErrorText drops the `Post "url":` prefix net/http puts on its errors.
func ErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// NewTransport returns an HTTP transport of the caller's own (whose idle
// connections it may close), cloned from net/http's default one; when a
// test has swapped that default for a mock (httpmock.Activate), it starts
// from a fresh transport instead, since webhooks must still reach the app.
func NewTransport() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// LoadCA returns a TLS config that trusts the PEM certificates in the file
// at path: a private CA, or an app's self-signed certificate.
func LoadCA(path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return &tls.Config{RootCAs: pool}, nil
}
