package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/suite"
)

// endingMedia is how much audio flows before an ending.
const endingMedia = 300 * time.Millisecond

// 4.1
func closesAfterStop(ctx context.Context, c *Check) {
	closeHandshake(ctx, c, "stop-stream", "after a <StopStream>", emulator.EndStopStream, endByStop)
}

// 4.2
func closesAfterHangup(ctx context.Context, c *Check) {
	closeHandshake(ctx, c, "hangup", "after a hangup", emulator.EndHangup, endByHangup)
}

// ending ends a stream one way and returns its result: endByStop,
// endByHangup, endByFault.
type ending func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error)

// endByStop ends s with a <StopStream>.
func endByStop(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
	return s.Stop(ctx)
}

// endByHangup ends s by hanging up its call.
func endByHangup(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) {
	if err := s.Call.Hangup(ctx); err != nil {
		return nil, err
	}
	return s.Wait(ctx)
}

// endByFault ends a stream by injecting f.
func endByFault(f emulator.Fault) ending {
	return func(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, error) { return s.Inject(ctx, f) }
}

// closeHandshake ends a stream the way end does and expects Bandwidth's
// clean end: stop, close 1000, the app's close frame back with a normal
// code.
func closeHandshake(ctx context.Context, c *Check, name, what string, want emulator.Ending, end ending) {
	s, ok := c.newStream(ctx, nil, c.Spec(name))
	if !ok || !c.media(ctx, s, endingMedia, fmt.Sprintf("stream %q, before the ending", name), "") {
		return
	}
	settle(ctx, s)
	r, err := end(ctx, s)
	if err != nil {
		c.Fail("%s: %v", what, err)
		return
	}
	if !c.expectEnded(s, r, want, what, "") {
		return
	}
	hint := "after Bandwidth's stop message and close frame (1000), answer with a close frame and then close the TCP connection; dropping the connection instead is reported as an abnormal closure"
	if !c.Expect(s, suite.HaveClosed(emulator.ByEmulator, 1000), "%s", hint) || !c.Expect(s, suite.HaveCompletedCloseHandshake(), "%s", hint) {
		return
	}
	if r.CloseReceived != 1000 {
		c.Pass("the app answered with %d rather than echoing 1000 (allowed)", r.CloseReceived)
	}
	if r.AppClosedFirst {
		c.Pass("%s: stop, and the app closed with %d as it read it (before Bandwidth's close, allowed); the close handshake completed", what, r.CloseReceived)
		return
	}
	c.Pass("%s: stop, close 1000, and the app's close %d came back %s later", what, r.CloseReceived, closeLatency(s))
}

// closeLatency is the time between the emulator's close frame and the
// app's, from the journal.
func closeLatency(s *emulator.Stream) time.Duration {
	var sent time.Time
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID != s.ID || en.Kind != emulator.KindClose {
			continue
		}
		switch {
		case en.By == emulator.ByEmulator && sent.IsZero():
			sent = en.Time
		case en.By == emulator.ByApp && en.Code != 0 && !sent.IsZero():
			return en.Time.Sub(sent).Round(10 * time.Microsecond)
		}
	}
	return 0
}

// probe checks the app still takes a new stream after what happened.
func (c *Check) probe(ctx context.Context, e *emulator.Emulator, after, hint string) bool {
	ok, msg := match(e, suite.AcceptNewStream(ctx, c.probeSpec("health-probe")))
	if ok {
		return true
	}
	first, rest := splitMessage(msg)
	c.Fail("%s: %s", after, withHint(first, hint))
	c.Attach(rest)
	return false
}

// fault streams a little, injects f and probes the app with a new stream.
func fault(ctx context.Context, c *Check, name string, f emulator.Fault, after, hint string, check func(*emulator.Stream, *emulator.StreamResult)) {
	before := fmt.Sprintf("stream %q, before the %s", name, f)
	s, ok := c.newStream(ctx, nil, c.Spec(name))
	if !ok || !c.media(ctx, s, endingMedia, before, "") {
		return
	}
	// In Fast pace the media is written before the app has reacted to
	// the start: an app that ends the stream on its own gets the chance
	// to, or the fault would hide it (or race it).
	settle(ctx, s)
	if ended(s) {
		if !c.expectNoAppFault(ctx, s, before, "") {
			return
		}
		if r, err := s.Wait(ctx); err == nil {
			c.Fail("%s: the stream ended (%s) before the %s could be injected", before, describeEnding(r), f)
		}
		return
	}
	r, err := s.Inject(ctx, f)
	if err != nil {
		c.Fail("%s: %v", after, err)
		return
	}
	if !c.expectNoAppFault(ctx, s, before, "") {
		return
	}
	if check != nil {
		check(s, r)
	}
	pause(ctx, faultSettle)
	if c.probe(ctx, s.Call.Emulator(), after, hint) {
		c.Pass("%s a new stream connected, carried %s of audio and closed cleanly", after, suite.AcceptMedia)
	}
	_ = s.Call.Hangup(ctx) // releases a dropped connection
}

// 4.3
func survivesReset(ctx context.Context, c *Check) {
	fault(ctx, c, "reset", emulator.FaultReset, "after a TCP reset of the previous stream",
		"a reset connection must only end that stream: clean it up and keep serving new ones", nil)
}

// 4.4
func survivesDrop(ctx context.Context, c *Check) {
	fault(ctx, c, "drop", emulator.FaultDrop, "after a silent drop of the previous stream (its socket still half-open)",
		"a connection that goes silent must not block the app: serve each connection on its own, and time out dead ones rather than waiting on them", nil)
}

// 4.5
func survivesInternalError(ctx context.Context, c *Check) {
	fault(ctx, c, "internal-error", emulator.FaultError, "after an internal-error close (1011) of the previous stream",
		"a close with 1011 ends only that stream: answer it and keep serving new ones",
		func(s *emulator.Stream, _ *emulator.StreamResult) {
			c.Expect(s, suite.HaveCompletedCloseHandshake(),
				"answer Bandwidth's close frame whatever its code (here 1011, internal error) with a close frame of your own: keep reading until the close")
		})
}

// 4.6
func survivesBrokenHandshakes(ctx context.Context, c *Check) {
	addr, host, path, useTLS, err := dialTarget(c.Target.WebSocket)
	if err != nil {
		c.Fail("could not read the destination %q: %v", c.Target.WebSocket, err)
		return
	}
	timeout := c.timeouts.Handshake
	dialer := &net.Dialer{Timeout: timeout}

	// An idle connection: TCP open, not a byte sent, held open during the probe.
	idle, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		c.Fail("could not open a TCP connection to %s: %v — is the app running at Target.WebSocket?", addr, err)
		return
	}
	c.Defer(func() { _ = idle.Close() })

	// Half an upgrade request, then a TCP reset.
	if err := halfUpgrade(ctx, dialer, addr, host, path, useTLS, c.Target.TLSConfig); err != nil {
		c.Fail("could not send half an upgrade request to %s: %v — is the app running at Target.WebSocket?", addr, err)
		return
	}

	pause(ctx, faultSettle)
	e := c.Emulator(nil)
	if c.probe(ctx, e, "with an idle connection open (nothing sent) and after half an upgrade request ended by a TCP reset",
		"never wait on one client's handshake: serve each connection on its own (with a read timeout on the request headers), and survive a client that vanishes mid-request") {
		c.Pass("with an idle connection open and after half an upgrade request reset, a new stream connected, carried %s of audio and closed cleanly", suite.AcceptMedia)
	}
}

// dialTarget splits a ws:// or wss:// URL into what a raw client needs.
func dialTarget(raw string) (addr, host, path string, useTLS bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", false, err
	}
	useTLS = u.Scheme == "wss"
	port := u.Port()
	if port == "" {
		port = "80"
		if useTLS {
			port = "443"
		}
	}
	path = u.RequestURI()
	return net.JoinHostPort(u.Hostname(), port), u.Host, path, useTLS, nil
}

// halfUpgrade sends the first half of a WebSocket upgrade request and
// resets the connection (SO_LINGER 0), as a client that crashed mid-request.
func halfUpgrade(ctx context.Context, dialer *net.Dialer, addr, host, path string, useTLS bool, cfg *tls.Config) error {
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	tcp, _ := raw.(*net.TCPConn)
	defer func() {
		if tcp != nil {
			_ = tcp.SetLinger(0)
		}
		_ = raw.Close()
	}()
	conn := raw
	if useTLS {
		tc := &tls.Config{}
		if cfg != nil {
			tc = cfg.Clone()
		}
		if tc.ServerName == "" {
			h, _, _ := net.SplitHostPort(addr)
			tc.ServerName = h
		}
		t := tls.Client(raw, tc)
		hctx, cancel := context.WithTimeout(ctx, dialer.Timeout)
		defer cancel()
		if err := t.HandshakeContext(hctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = t
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Ver", path, host)
	_ = conn.SetWriteDeadline(time.Now().Add(dialer.Timeout))
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	// Give the app a moment to read the half request before the reset.
	pause(ctx, 50*time.Millisecond)
	return nil
}

// faultSettle is how long the app gets to notice a fault (a reset, a
// broken handshake) before the probe: a new call does not come at the
// very same instant either.
const faultSettle = 200 * time.Millisecond

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
