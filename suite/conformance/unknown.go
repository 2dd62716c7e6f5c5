package conformance

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/internal/weburl"
)

// UnknownEventType is the eventType of the message 3.3 sends mid-stream:
// one Bandwidth does not send today, as a new event of tomorrow would be.
const UnknownEventType = "bwemuFutureEvent"

// Media amounts of 3.3: audio before and after the unknown message.
const (
	unknownBefore = 200 * time.Millisecond
	unknownAfter  = 500 * time.Millisecond
)

// rawStream is 3.3's stream: the emulator sends only what Bandwidth sends,
// so this case speaks the protocol itself, over one WebSocket, and keeps a
// record of its own for the journal.
type rawStream struct {
	conn  *websocket.Conn
	began time.Time
	meta  protocol.Metadata
	write time.Duration
	seq   int

	mu     sync.Mutex
	record []string
	// ended receives how the app's side ended (once).
	ended chan rawEnding
	// unknownAt is when the unknown message went out (zero before).
	unknownAt time.Duration
}

// rawEnding is how the app's side of a rawStream ended.
type rawEnding struct {
	at         time.Duration
	closeFrame bool
	code       int
	text       string
	err        error
}

func (e rawEnding) String() string {
	if e.closeFrame {
		return fmt.Sprintf("closed the socket with %d%s", e.code, parenthesized(e.text))
	}
	return "dropped the connection without a close frame (" + e.err.Error() + ")"
}

// note adds a line to the stream's record.
func (rs *rawStream) note(format string, args ...any) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.record = append(rs.record, fmt.Sprintf("+%-9s %s", time.Since(rs.began).Round(100*time.Microsecond), fmt.Sprintf(format, args...)))
}

func (rs *rawStream) journal() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return "record of stream " + rs.meta.StreamID + " (3.3 speaks the protocol itself):\n" + prose.Indent(strings.Join(rs.record, "\n"), "  ")
}

// read takes what the app sends until its side ends.
func (rs *rawStream) read() {
	messages := 0
	for {
		_, _, err := rs.conn.ReadMessage()
		if err == nil {
			messages++
			if messages == 1 {
				rs.note("← the app's first message (messages from the app are 6.x's business)")
			}
			continue
		}
		end := rawEnding{at: time.Since(rs.began), err: err}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			end.closeFrame, end.code, end.text = true, ce.Code, ce.Text
		}
		rs.note("← the app %s", end)
		rs.ended <- end
		return
	}
}

func (rs *rawStream) send(v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = rs.conn.SetWriteDeadline(time.Now().Add(rs.write))
	if err := rs.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		rs.note("→ %s: the write failed: %v", what, err)
		return err
	}
	if what != "" {
		rs.note("→ %s", what)
	}
	return nil
}

// media sends d of the callers' tone on the inbound track, as fast as the
// app reads.
func (rs *rawStream) media(d time.Duration) error {
	frames := int(d / media.FrameDuration)
	buf := make([]byte, media.FrameSize)
	for range frames {
		tone().Frame(rs.seq, buf)
		rs.seq++
		msg := protocol.MediaMessage{EventType: protocol.EventMedia, Track: protocol.TrackInbound,
			SequenceNumber: strconv.Itoa(rs.seq), Payload: base64.StdEncoding.EncodeToString(buf)}
		if err := rs.send(msg, ""); err != nil {
			return err
		}
	}
	rs.note("→ %d media frames (%s) on inbound", frames, d)
	return nil
}

// waitEnded waits d for the app's side to end.
func (rs *rawStream) waitEnded(ctx context.Context, d time.Duration) (rawEnding, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case e := <-rs.ended:
		return e, true
	case <-t.C:
	case <-ctx.Done():
	}
	return rawEnding{}, false
}

// unknownHint is 3.3's advice.
const unknownHint = "Bandwidth may add events to the stream any day: ignore a message whose eventType you do not know (log it, at most) and keep streaming; end the stream only on Bandwidth's stop and close"

// 3.3
func ignoresUnknownEvent(ctx context.Context, c *Check) {
	conn, ok := c.dialApp(ctx)
	if !ok {
		return
	}
	rs := newRawStream(conn, c.timeouts.Write)
	rs.note("→ WebSocket upgrade to %s answered 101", weburl.Redact(c.Target.WebSocket))
	var reader sync.WaitGroup
	reader.Go(rs.read)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() }) // an interrupt or the case deadline
	defer func() {
		stop()
		_ = conn.Close()
		reader.Wait()
	}()
	if c.sendUnknown(ctx, rs) {
		c.rawStop(ctx, rs)
	}
}

// dialApp opens a WebSocket to the target as Bandwidth would, with the
// destination credentials; false (the failure recorded) when the app does
// not accept it.
func (c *Check) dialApp(ctx context.Context) (*websocket.Conn, bool) {
	t := c.Target
	d := websocket.Dialer{HandshakeTimeout: c.timeouts.Handshake, NetDialContext: (&net.Dialer{}).DialContext}
	if t.TLSConfig != nil {
		d.TLSClientConfig = t.TLSConfig.Clone()
	}
	h := http.Header{}
	if t.wsCredentials() {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.WSUser+":"+t.WSPassword)))
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeouts.Handshake)
	conn, resp, err := d.DialContext(dctx, t.WebSocket, h)
	cancel()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil {
			c.Fail("the app did not accept the WebSocket upgrade to %s: %s (1.1 judges the upgrade)", weburl.Redact(t.WebSocket), weburl.ErrorText(err))
		}
		return nil, false
	}
	return conn, true
}

// newRawStream is 3.3's stream over conn: one inbound PCMU track, ids of
// its own.
func newRawStream(conn *websocket.Conn, write time.Duration) *rawStream {
	return &rawStream{conn: conn, began: time.Now(), write: write, ended: make(chan rawEnding, 1),
		meta: protocol.Metadata{AccountID: emulator.DefaultAccountID, CallID: protocol.NewCallID(), StreamID: protocol.NewStreamID(),
			StreamName: "unknown-event", Tracks: []protocol.TrackInfo{{Name: protocol.TrackInbound, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: media.SampleRate}}}}}
}

// sendUnknown sends the start, some audio, the message with the unknown
// eventType and more audio, giving the app a moment after it to show
// whether it ends the stream; false when it did (the failure recorded), or
// the case ended.
func (c *Check) sendUnknown(ctx context.Context, rs *rawStream) bool {
	unknown := map[string]any{"eventType": UnknownEventType, "metadata": rs.meta,
		UnknownEventType: map[string]any{"note": "an event this app cannot know yet", "level": 1}}
	steps := []func() error{
		func() error {
			return rs.send(protocol.StartMessage{EventType: protocol.EventStart, Metadata: rs.meta}, "start")
		},
		func() error { return rs.media(unknownBefore) },
		func() error {
			err := rs.send(unknown, fmt.Sprintf("a message with eventType %q", UnknownEventType))
			rs.unknownAt = time.Since(rs.began)
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			c.rawEndedEarly(ctx, rs, "before the message with the unknown eventType")
			return false
		}
	}
	if e, ok := rs.waitEnded(ctx, settleTime); ok {
		c.rawEnded(rs, e)
		return false
	}
	if err := rs.media(unknownAfter); err != nil {
		c.rawEndedEarly(ctx, rs, "after the message with the unknown eventType")
		return false
	}
	if e, ok := rs.waitEnded(ctx, settleTime); ok {
		c.rawEnded(rs, e)
		return false
	}
	return ctx.Err() == nil
}

// rawStop ends the stream as Bandwidth does (stop, close 1000) and judges
// the app's close back.
func (c *Check) rawStop(ctx context.Context, rs *rawStream) {
	if err := rs.send(protocol.StopMessage{EventType: protocol.EventStop, Metadata: rs.meta}, "stop"); err == nil {
		if err := rs.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(c.timeouts.Write)); err == nil {
			rs.note("→ close 1000")
		}
	}
	e, ok := rs.waitEnded(ctx, c.timeouts.CloseHandshake)
	switch {
	case ctx.Err() != nil:
	case !ok:
		c.Fail("after the stop the app never answered the close frame within %s (4.1 judges the close handshake)", c.timeouts.CloseHandshake)
		c.Attach(rs.journal())
	case !e.closeFrame:
		c.Fail("after the stop the app %s instead of answering the close frame (4.1 judges the close handshake)", e)
		c.Attach(rs.journal())
	default:
		c.Pass("the app ignored a message with eventType %q, took %s more of audio and answered the stop's close with %d", UnknownEventType, unknownAfter, e.code)
	}
}

// rawEnded reports an app that ended the stream before Bandwidth's stop.
func (c *Check) rawEnded(rs *rawStream, e rawEnding) {
	if rs.unknownAt == 0 {
		c.Fail("the app %s %s into the stream, before the message with the unknown eventType was sent (2.1 judges the start) — %s",
			e, e.at.Round(time.Millisecond), unknownHint)
	} else {
		c.Fail("after a message with an unknown eventType (%q) the app %s, %s later, before Bandwidth's stop — %s",
			UnknownEventType, e, (e.at - rs.unknownAt).Round(time.Millisecond), unknownHint)
	}
	c.Attach(rs.journal())
}

// rawEndedEarly reports a write that failed: the app ended the stream.
func (c *Check) rawEndedEarly(ctx context.Context, rs *rawStream, when string) {
	if ctx.Err() != nil {
		return
	}
	if e, ok := rs.waitEnded(ctx, c.timeouts.CloseHandshake); ok {
		c.rawEnded(rs, e)
		return
	}
	c.Fail("the stream broke %s: a write to the app failed — %s", when, unknownHint)
	c.Attach(rs.journal())
}
