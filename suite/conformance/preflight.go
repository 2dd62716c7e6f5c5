package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// UnreachableError says the app could not be reached at one of its
// endpoints, so no case ran: one finding instead of every case failing the
// same way.
type UnreachableError struct {
	// Endpoint is the Target field that could not be reached: "WebSocket",
	// "Events" or "Disconnect".
	Endpoint string
	// URL is that endpoint, without any password in it.
	URL string
	// Problem says what went wrong, the root cause first: "nothing listens
	// at 127.0.0.1:9", "no answer to the WebSocket upgrade within 5s", "the
	// destination answered HTTP 404 Not Found instead of 101 Switching
	// Protocols".
	Problem string
	// Hint says what to do about it.
	Hint string
}

func (e *UnreachableError) Error() string {
	s := fmt.Sprintf("conformance: the app cannot be reached at Target.%s %s: %s", e.Endpoint, e.URL, e.Problem)
	if e.Hint != "" {
		s += " — " + e.Hint
	}
	return s
}

// preflightMargin is what the preflight adds to a bound it waits on, for
// the emulator to record what it saw.
const preflightMargin = time.Second

// preflight runs one stream against the target, as a call would: the
// WebSocket upgrade, mediaStreamStarted, a hangup with its stop, close,
// mediaStreamStopped and disconnect. It returns an *UnreachableError when
// an endpoint cannot be reached at all, and records in rs an endpoint that
// leaves a webhook unanswered past the bound. It judges nothing else: that
// is what the cases are for.
func preflight(ctx context.Context, t Target, o Options, rs *runState) error {
	c := newCheck(t, Case{ID: "preflight"}, o, rs, ctx, nil)
	defer c.cleanup(ctx)
	s, err := c.preflightConnect(ctx)
	if s == nil {
		return err
	}
	if t.Events != "" {
		if err := c.preflightStarted(ctx, s); err != nil || ctx.Err() != nil {
			return err
		}
	}
	if rs.slow() != "" {
		return nil // the hangup's webhooks would only wait out the bound again
	}
	return c.preflightDisconnect(ctx, s.Call)
}

// preflightConnect starts the preflight's stream and waits for the app to
// accept it. No stream and no error: the run was interrupted.
func (c *Check) preflightConnect(ctx context.Context) (*emulator.Stream, error) {
	call, err := c.Emulator(nil).NewCall(c.callSpec(true))
	if err != nil {
		return nil, fmt.Errorf("conformance: could not start a call (a bug in bwemu): %w", err)
	}
	s, err := call.StartStream(ctx, c.Spec("preflight"))
	if err != nil {
		return nil, fmt.Errorf("conformance: could not start a stream (a bug in bwemu): %w", err)
	}
	if err := s.Connected(ctx); err != nil {
		r, werr := s.Wait(ctx)
		if werr != nil {
			return nil, nil // interrupted: Run reports every case as not run
		}
		return nil, &UnreachableError{Endpoint: "WebSocket", URL: weburl.Redact(c.Target.WebSocket),
			Problem: connectProblem(r, c.Target.WebSocket, c.timeouts.Handshake), Hint: preflightHint(c.Target, r)}
	}
	return s, nil
}

// preflightStarted waits for the app's answer to the stream's
// mediaStreamStarted: an error when the Events endpoint cannot be reached,
// the run told when it answers too slowly.
func (c *Check) preflightStarted(ctx context.Context, s *emulator.Stream) error {
	bound := c.WebhookBound()
	wctx, cancel := context.WithTimeout(ctx, bound+preflightMargin)
	en, err := s.Call.Emulator().Journal().WaitFor(wctx, func(en emulator.Entry) bool {
		return en.Kind == emulator.KindWebhook && en.StreamID == s.ID && en.Event == protocol.EventMediaStreamStarted
	})
	cancel()
	if err != nil { // not even journaled in time: as good as unanswered
		en.NoAnswer = emulator.NoAnswerTimeout
	}
	switch slow := tooSlow(en.NoAnswer, en.Latency, "the mediaStreamStarted webhook of a first stream", bound); {
	case ctx.Err() != nil:
	case slow != "":
		c.rs.markSlow(slow)
	case en.Error != "":
		return &UnreachableError{Endpoint: "Events", URL: weburl.Redact(c.Target.Events), Problem: webhookProblem(c.Target.Events, en.NoAnswer, en.Error),
			Hint: "is the app's webhook endpoint at this URL, and is it running?"}
	}
	return nil
}

// preflightDisconnect hangs up the call and looks at its disconnect: an
// error when the Disconnect endpoint cannot be reached, the run told when
// it answers too slowly.
func (c *Check) preflightDisconnect(ctx context.Context, call *emulator.Call) error {
	bound := c.WebhookBound()
	hctx, cancel := context.WithTimeout(ctx, c.timeouts.Write+c.timeouts.CloseHandshake+3*bound+preflightMargin)
	defer cancel()
	if err := call.Hangup(hctx); err != nil {
		return nil // the app is slow to end the stream: the cases will say so
	}
	for _, d := range call.Emulator().Deliveries() {
		if d.Event == nil || d.Event.EventType != protocol.EventDisconnect {
			continue
		}
		a := d.Final()
		switch slow := tooSlow(a.NoAnswer, a.Latency, "the disconnect webhook of a first call", bound); {
		case slow != "":
			c.rs.markSlow(slow)
		case a.Error != "" && !a.Interrupted:
			return &UnreachableError{Endpoint: "Disconnect", URL: weburl.Redact(c.Target.Disconnect), Problem: webhookProblem(c.Target.Disconnect, a.NoAnswer, a.Error),
				Hint: "is the app's disconnect endpoint at this URL, and is it running?"}
		}
	}
	return nil
}

// connectProblem says why a stream did not connect, in a few words.
func connectProblem(r *emulator.StreamResult, target string, handshake time.Duration) string {
	switch r.Ending {
	case emulator.EndConnectRefused:
		if p, ok := nothingListensAt(target); ok {
			return p
		}
	case emulator.EndHandshakeTimeout:
		return fmt.Sprintf("no answer to the WebSocket upgrade within %s (--handshake-timeout)", handshake)
	case "":
		return "the stream did not connect"
	}
	if r.ErrorMessage != "" {
		return r.ErrorMessage
	}
	return string(r.Ending)
}

// preflightHint says what to do about a WebSocket that did not connect, in
// words for the command line and the Go API alike.
func preflightHint(t Target, r *emulator.StreamResult) string {
	switch r.Ending {
	case emulator.EndConnectRefused:
		return "is the app running, and listening there?"
	case emulator.EndHandshakeTimeout:
		return "the app took the connection but never answered the upgrade: is it stuck, or is this a port of something else?"
	case emulator.EndHandshakeStatus:
		switch {
		case (r.HandshakeStatus == http.StatusUnauthorized || r.HandshakeStatus == http.StatusForbidden) && t.wsCredentials():
			return "the app refused the destination credentials given (--ws-user/--ws-password, Target.WSUser/WSPassword): are they the ones it expects?"
		case r.HandshakeStatus == http.StatusUnauthorized || r.HandshakeStatus == http.StatusForbidden:
			return "if the app demands credentials, give the ones it expects (--ws-user/--ws-password, Target.WSUser/WSPassword)"
		case r.HandshakeStatus == http.StatusNotFound:
			return "is the path of the WebSocket URL the one the app serves?"
		}
		return "the app must answer Bandwidth's WebSocket upgrade with 101 Switching Protocols"
	case emulator.EndConnectFailed:
		return "check the URL (and for wss:// the certificate: --ca, Target.TLSConfig)"
	}
	return "the app must accept Bandwidth's WebSocket upgrade"
}

// webhookProblem turns a failed webhook attempt into the root cause.
func webhookProblem(raw string, why emulator.NoAnswer, attemptErr string) string {
	if why == emulator.NoAnswerRefused {
		if p, ok := nothingListensAt(raw); ok {
			return p
		}
	}
	return attemptErr
}

// nothingListensAt names the address of a URL nothing listens at, with
// the scheme's port when it names none.
func nothingListensAt(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
		host += ":" + port
	}
	return "nothing listens at " + host, true
}
