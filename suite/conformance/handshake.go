package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/suite"
)

// 1.1
func acceptsUpgrade(ctx context.Context, c *Check) {
	s, ok := c.newStream(ctx, nil, c.Spec("handshake"))
	if !ok {
		return
	}
	lat := handshakeLatency(s)
	// How the close goes is 4.2's business, but a stream the app broke
	// fails here too.
	if err := s.Call.Hangup(ctx); err != nil {
		c.Fail("hanging up: %v", err)
		return
	}
	if !c.expectNoAppFault(ctx, s, fmt.Sprintf("stream %q, at the hangup", s.Name), "") {
		return
	}
	creds := ""
	if c.Target.wsCredentials() {
		creds = " with the destination credentials"
	}
	c.Pass("the upgrade%s was answered 101 Switching Protocols in %s", creds, lat)
}

// 1.2
func refusesBadCredentials(ctx context.Context, c *Check) {
	t := c.Target
	if !t.wsCredentials() {
		c.Info("no destination credentials configured (Target.WSUser/WSPassword), so the refusal was not checked; the start message is unauthenticated, so an app should require destinationUsername/destinationPassword (Basic on the handshake) or a token in the destination URL")
		return
	}
	_, call, ok := c.newCall(nil, false)
	if !ok {
		return
	}
	for _, try := range wrongCredentials("no-credentials", "wrong-credentials", t.WSUser, t.WSPassword) {
		spec := c.Spec(try.name)
		spec.DestinationUsername, spec.DestinationPassword = try.user, try.password
		s, err := call.StartStream(ctx, spec)
		if err != nil {
			c.Fail("could not start stream %q (a bug in bwemu, not in the app): %v", spec.Name, err)
			return
		}
		if s.Connected(ctx) == nil {
			c.Fail("the app accepted a WebSocket upgrade %s (answered 101) — check the handshake's Authorization header (destinationUsername/destinationPassword) before upgrading and answer 401 when it is missing or wrong: anyone who reaches the URL could otherwise feed the app a call", try.what)
			c.AttachStream(s)
			_, _ = s.Stop(ctx)
			continue
		}
		r, err := s.Wait(ctx)
		if err != nil {
			c.Fail("stream %q: %v", spec.Name, err)
			return
		}
		if !c.Expect(s, suite.HaveEnded(emulator.EndHandshakeStatus),
			"refuse an upgrade %s at once with 401 Unauthorized (the emulator waited up to %s)", try.what, c.timeouts.Handshake) {
			continue
		}
		switch r.HandshakeStatus {
		case http.StatusUnauthorized, http.StatusForbidden:
			c.Pass("the upgrade %s was refused with %d %s", try.what, r.HandshakeStatus, http.StatusText(r.HandshakeStatus))
		default:
			c.NonStrict("the upgrade %s was refused with %d %s rather than 401 Unauthorized — answer 401 (or 403) so that the refusal reads as an authentication failure", try.what, r.HandshakeStatus, http.StatusText(r.HandshakeStatus))
			c.AttachStream(s)
		}
	}
}

// 1.3
func acceptsQueryString(ctx context.Context, c *Check) {
	spec := c.Spec("query-token")
	dest, added := withQuery(c.Target.WebSocket)
	spec.Destination = dest
	what := fmt.Sprintf("with %s in the destination's query", added)
	hint := "a destination may carry a query string (a token tying the socket to the call, say): route on the path and ignore query parameters you do not use"
	if _, ok := c.streamOnce(ctx, spec, 500*time.Millisecond, what, hint); !ok {
		return
	}
	c.Pass("with %s in the destination's query the stream connected, carried 500ms of audio and stopped cleanly", added)
}

// withQuery adds a token to the destination's query (or, when it has a
// token already, another parameter), keeping the query it has as it is.
func withQuery(dest string) (string, string) {
	u, err := url.Parse(dest)
	if err != nil {
		return dest, "nothing"
	}
	param := "token=bwemu-conformance-" + randomHex(6)
	if u.Query().Has("token") {
		param = "bwemu=conformance"
	}
	if u.RawQuery == "" {
		u.RawQuery = param
	} else {
		u.RawQuery += "&" + param
	}
	return u.String(), "?" + strings.SplitN(param, "=", 2)[0] + "=…"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handshakeLatency is how long the app took to answer the upgrade, from
// the journal.
func handshakeLatency(s *emulator.Stream) time.Duration {
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID == s.ID && en.Kind == emulator.KindHandshake {
			return en.Latency.Round(10 * time.Microsecond)
		}
	}
	return 0
}

// credentialTry is one wrong way to authenticate, which the app must refuse.
type credentialTry struct{ name, user, password, what string }

// wrongCredentials are what 1.2 and 5.10 try, on streams of the given
// names: no credentials, then the right user with a wrong password.
func wrongCredentials(none, wrong, user, password string) []credentialTry {
	return []credentialTry{
		{none, "", "", "without credentials"},
		{wrong, user, password + "-wrong", "with a wrong password"},
	}
}
