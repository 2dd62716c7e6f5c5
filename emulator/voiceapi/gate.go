package voiceapi

import (
	"context"
	"crypto/tls"
	"net/http"

	"github.com/bwemu/bwemu/internal/weburl"
)

// The answer gate: Engine.Start begins a call's answer fetch at once, but
// on Bandwidth the app has its create-call response long before the answer
// webhook (the call is queued, dialled, rung and answered in between). An
// app that files the callId from the response and looks it up when the
// answer arrives must not fail under the emulator for a race that cannot
// happen in production. So the create handler starts the run with a
// context carrying a gate, and the engine's HTTP client holds every
// request made under that context until the gate opens, right after the
// response has been written and flushed. The engine passes its run's
// context to every request it makes, which is what carries the gate.

type gateKey struct{}

func withGate(ctx context.Context, gate <-chan struct{}) context.Context {
	return context.WithValue(ctx, gateKey{}, gate)
}

// gateTransport holds requests whose context carries a closed-later gate.
type gateTransport struct{ next http.RoundTripper }

func (t gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if gate, ok := req.Context().Value(gateKey{}).(<-chan struct{}); ok {
		select {
		case <-gate:
		case <-req.Context().Done():
			if req.Body != nil {
				_ = req.Body.Close() // a RoundTripper always closes the body
			}
			return nil, context.Cause(req.Context())
		}
	}
	return t.next.RoundTrip(req)
}

// gatedClient wraps the engine's client (nil: a client like the engine's
// own, which keeps no idle connections so nothing lingers after a run and
// trusts the CA the emulator trusts).
func gatedClient(c *http.Client, tlsConfig *tls.Config) *http.Client {
	if c == nil {
		// The same transport as the engine's own client (weburl.NewTransport
		// copes with an httpmock-swapped default: webhooks need the network).
		t := weburl.NewTransport()
		if t.Proxy == nil { // weburl's fresh fallback has none; keep honouring HTTP_PROXY
			t.Proxy = http.ProxyFromEnvironment
		}
		t.DisableKeepAlives = true
		t.TLSClientConfig = tlsConfig.Clone()
		return &http.Client{Transport: gateTransport{t}}
	}
	cp := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp.Transport = gateTransport{next}
	return &cp
}
