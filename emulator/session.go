package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// session is the goroutine that owns one stream's connection: it dials,
// sends start, paces media, carries out commands and endings, and writes
// the result. Only this goroutine writes data frames (gorilla/websocket
// allows one writer); the reader goroutine only reads.
type session struct {
	s    *Stream
	e    *Emulator
	conn *websocket.Conn
	res  StreamResult

	abort context.Context // cancelled by Emulator.Close

	readDone   chan readResult // the reader's ending, at most one
	readerExit chan struct{}   // closed when the reader returns
	teardown   chan struct{}   // closed before the connection is closed
	dropped    atomic.Bool
	closeSent  atomic.Bool // the emulator's close frame has gone out

	// Frame state, reused for every frame so the hot path does not allocate.
	frames    media.Audio
	pcm       [media.FrameSize]byte
	b64       [216]byte // base64 of 160 bytes
	msg       []byte
	seq       int64
	n         int64 // index of the next frame
	audioPos  int64 // frame of the audio source to play next; paused by silence
	silentTo  int64 // frames before this index are silence
	allowance int64 // frames Fast pace may send
	waiters   []waiter
	journaled map[string]bool // first frame of each track journaled

	// Counters the reader updates.
	playAudio, playBytes, clears, violations atomic.Int64
	firstPlay                                atomic.Int64
}

type waiter struct {
	target  int64
	reached chan bool
}

type readResult struct {
	closeFrame bool // the app sent a close frame
	// first is true when the app's close frame came before the emulator
	// had sent its own: the app closed, it did not answer.
	first  bool
	code   int
	reason string
	err    error
}

func (s *Stream) run() {
	defer s.cancel()
	ss := &session{s: s, e: s.Call.e, abort: s.abortCtx, readDone: make(chan readResult, 1),
		readerExit: make(chan struct{}), teardown: make(chan struct{}), journaled: map[string]bool{},
		msg: make([]byte, 0, 512)}
	ss.res.FramesByTrack = map[string]int{}
	ending, detail := ss.connectAndStream()
	if ending == EndDrop {
		ss.finish(ending, detail)
		ss.hold()
		return
	}
	ss.closeConn()
	ss.finish(ending, detail)
}

// connectAndStream runs the stream until it ends and says how.
func (ss *session) connectAndStream() (Ending, string) {
	if ending, detail := ss.dial(); ending != "" {
		return ending, detail
	}
	close(ss.s.connected)
	ss.res.Connected = true
	started := ss.s.Call.event(protocol.EventMediaStreamStarted)
	started.MediaStream = ss.s.mediaStream()
	startedDone := ss.s.Call.webhooks.send(ss.s.eventTarget(), started, ss.s.ids())
	defer func() { ss.res.Deliveries = append(<-startedDone, ss.res.Deliveries...) }()

	ss.e.spawn(ss.read)
	var start any = protocol.StartMessage{EventType: protocol.EventStart, Metadata: ss.metadata(), StreamParams: ss.s.spec.Params}
	if len(ss.s.spec.StartExtra) > 0 {
		start = withExtra(start, ss.s.spec.StartExtra)
	}
	if err := ss.writeJSON(start); err != nil {
		return ss.writeFailed(err)
	}
	return ss.stream()
}

// withExtra returns msg as a JSON object with extra top-level fields.
func withExtra(msg any, extra map[string]any) map[string]any {
	raw, _ := json.Marshal(msg) // messages have only marshalable fields
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, v := range extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return m
}

func (ss *session) metadata() protocol.Metadata {
	m := protocol.Metadata{AccountID: ss.s.Call.AccountID, CallID: ss.s.Call.ID, StreamID: ss.s.ID, StreamName: ss.s.Name}
	for _, t := range ss.s.tracks {
		m.Tracks = append(m.Tracks, protocol.TrackInfo{Name: t, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: media.SampleRate}})
	}
	return m
}

// dial opens the WebSocket; a failure comes back as its ending and detail.
func (ss *session) dial() (Ending, string) {
	t := ss.e.opts.Timeouts
	d := websocket.Dialer{HandshakeTimeout: t.Handshake, TLSClientConfig: ss.e.opts.TLSConfig,
		NetDialContext: (&net.Dialer{}).DialContext}
	h := http.Header{}
	spec := ss.s.spec
	auth := ""
	if spec.DestinationUsername != "" || spec.DestinationPassword != "" {
		h.Set("Authorization", "Basic "+base64Std.EncodeToString([]byte(spec.DestinationUsername+":"+spec.DestinationPassword)))
		auth = " with Authorization: Basic " + weburl.Redacted
	}
	ctx, cancel := context.WithTimeout(ss.abort, t.Handshake)
	defer cancel()
	began := time.Now()
	conn, resp, err := d.DialContext(ctx, spec.Destination, h)
	lat := time.Since(began)
	dest := weburl.Redact(spec.Destination)
	if err != nil {
		ending, detail := classifyDial(err, resp, t.Handshake)
		if resp != nil {
			ss.res.HandshakeStatus = resp.StatusCode
		}
		ss.journal(Entry{Kind: KindHandshake, By: ByApp, Code: ss.res.HandshakeStatus, Latency: lat, Error: err.Error(),
			Message: fmt.Sprintf("GET %s%s failed: %s", dest, auth, detail)})
		return ending, detail
	}
	ss.conn = conn
	ss.res.HandshakeStatus = resp.StatusCode
	ss.journal(Entry{Kind: KindHandshake, By: ByApp, Code: resp.StatusCode, Latency: lat,
		Message: fmt.Sprintf("GET %s%s → %d %s", dest, auth, resp.StatusCode, http.StatusText(resp.StatusCode))})
	return "", ""
}

func classifyDial(err error, resp *http.Response, timeout time.Duration) (Ending, string) {
	switch {
	case resp != nil && errors.Is(err, websocket.ErrBadHandshake):
		detail := fmt.Sprintf("the destination answered HTTP %d %s instead of 101 Switching Protocols", resp.StatusCode, http.StatusText(resp.StatusCode))
		return EndHandshakeStatus, detail
	case errors.Is(err, syscall.ECONNREFUSED):
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			return EndConnectRefused, "nothing listens at " + op.Addr.String()
		}
		return EndConnectRefused, "nothing listens there"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return EndHandshakeTimeout, timeout.String()
	}
	return EndConnectFailed, err.Error()
}

// stream sends media until something ends the stream.
func (ss *session) stream() (Ending, string) {
	spec := ss.s.spec
	period := media.FrameDuration
	if spec.Speed > 0 {
		period = time.Duration(float64(period) / spec.Speed)
	}
	realtime := spec.Pace == Realtime
	t0 := time.Now()
	if realtime {
		t0 = t0.Add(ss.e.phase(period))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if realtime {
			deadline := t0.Add(time.Duration(ss.n) * period)
			late := time.Since(deadline)
			if late >= 0 {
				if late > maxLag {
					// Behind by more than maxLag: skip to the present, as a
					// live source drops audio, and count it.
					skip := int64(late / period)
					ss.skip(skip)
					continue
				}
				ss.res.Lateness.Observe(late)
				if ending, detail := ss.sendFrame(); ending != "" {
					return ending, detail
				}
				if ending, detail, stop := ss.poll(); stop {
					return ending, detail
				}
				continue
			}
			timer.Reset(-late)
			wake = timer.C
		} else if ss.n < ss.allowance {
			if ending, detail := ss.sendFrame(); ending != "" {
				return ending, detail
			}
			if ending, detail, stop := ss.poll(); stop {
				return ending, detail
			}
			continue
		}
		select {
		case <-wake:
		case c := <-ss.s.cmds:
			if ending, detail, stop := ss.handle(c); stop {
				return ending, detail
			}
		case rr := <-ss.readDone:
			return ss.appEnded(rr)
		case <-ss.abort.Done():
			return "", ""
		}
	}
}

// maxLag is how far realtime pacing may fall behind before it skips frames
// instead of sending a burst.
const maxLag = 3 * media.FrameDuration

// poll handles pending commands and reader endings without blocking.
func (ss *session) poll() (Ending, string, bool) {
	select {
	case c := <-ss.s.cmds:
		return ss.handle(c)
	case rr := <-ss.readDone:
		e, d := ss.appEnded(rr)
		return e, d, true
	case <-ss.abort.Done():
		return "", "", true
	default:
		return "", "", false
	}
}

func (ss *session) handle(c command) (Ending, string, bool) {
	switch c.kind {
	case cmdMedia:
		target := ss.n + c.frames
		if c.silent {
			ss.silentTo = target
		}
		if ss.allowance < ss.n {
			ss.allowance = ss.n
		}
		ss.allowance += c.frames
		ss.waiters = append(ss.waiters, waiter{target: target, reached: c.reached})
		ss.releaseWaiters()
		return "", "", false
	case cmdEnd:
		e, d := ss.end(c.ending)
		return e, d, true
	}
	return "", "", false
}

func (ss *session) releaseWaiters() {
	kept := ss.waiters[:0]
	for _, w := range ss.waiters {
		if ss.n >= w.target {
			w.reached <- true
		} else {
			kept = append(kept, w)
		}
	}
	ss.waiters = kept
}

func (ss *session) skip(frames int64) {
	ss.n += frames
	ss.res.Skipped += int(frames)
	ss.s.frame.Store(ss.n)
	ss.journal(Entry{Kind: KindPacing, By: ByEmulator, Count: int(frames),
		Message: fmt.Sprintf("realtime pacing fell behind: skipped %d frames", frames)})
	ss.releaseWaiters()
}

// sendFrame writes frame n of every track. Allocation-free: the message is
// built in a reused buffer around the base64 of the audio.
func (ss *session) sendFrame() (Ending, string) {
	silent := ss.n < ss.silentTo
	for _, track := range ss.s.tracks {
		audio := ss.s.spec.Audio
		if track == protocol.TrackOutbound {
			audio = ss.s.spec.OutboundAudio
		}
		switch {
		case silent:
			ss.pcm = silenceFrame
		case track == protocol.TrackOutbound && ss.s.Call.outbound.Load() != nil:
			if played, n, ok := ss.s.Call.playing(time.Now()); ok {
				played.Frame(n, ss.pcm[:])
			} else {
				audio.Frame(int(ss.audioPos), ss.pcm[:])
			}
		default:
			audio.Frame(int(ss.audioPos), ss.pcm[:])
		}
		ss.seq++
		ss.msg = appendMedia(ss.msg[:0], track, ss.seq, &ss.pcm, &ss.b64)
		if err := ss.write(ss.msg); err != nil {
			return ss.writeFailed(err)
		}
		ss.res.Messages++
		ss.res.FramesByTrack[track]++
		if ss.e.opts.JournalMedia || !ss.journaled[track] {
			ss.journaled[track] = true
			ss.journal(Entry{Kind: KindFrameOut, By: ByEmulator, Event: protocol.EventMedia, Track: track, Count: int(ss.seq),
				Message: fmt.Sprintf("media %s #%d (20 ms PCMU)", track, ss.seq), Data: json.RawMessage(append([]byte(nil), ss.msg...))})
		}
	}
	ss.n++
	if !silent {
		ss.audioPos++
	}
	ss.s.frame.Store(ss.n)
	if len(ss.waiters) > 0 {
		ss.releaseWaiters()
	}
	return "", ""
}

var silenceFrame = func() (f [media.FrameSize]byte) {
	for i := range f {
		f[i] = media.SilenceByte
	}
	return f
}()

var (
	mediaHead    = []byte(`{"eventType":"media","track":"`)
	mediaSeq     = []byte(`","sequenceNumber":"`)
	mediaPayload = []byte(`","payload":"`)
	mediaTail    = []byte(`"}`)
)

func appendMedia(b []byte, track string, seq int64, pcm *[media.FrameSize]byte, b64 *[216]byte) []byte {
	b = append(b, mediaHead...)
	b = append(b, track...)
	b = append(b, mediaSeq...)
	b = appendInt(b, seq)
	b = append(b, mediaPayload...)
	base64Std.Encode(b64[:], pcm[:])
	b = append(b, b64[:]...)
	return append(b, mediaTail...)
}

func (ss *session) write(b []byte) error {
	_ = ss.conn.SetWriteDeadline(time.Now().Add(ss.e.opts.Timeouts.Write))
	return ss.conn.WriteMessage(websocket.TextMessage, b)
}

func (ss *session) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := ss.write(b); err != nil {
		return err
	}
	var probe struct{ EventType string }
	_ = json.Unmarshal(b, &probe)
	ss.journal(Entry{Kind: KindFrameOut, By: ByEmulator, Event: probe.EventType, Message: probe.EventType, Data: b})
	return nil
}

// writeFailed classifies a failed write: a timeout means the app stopped
// reading; anything else means the connection is gone, and the reader says how.
func (ss *session) writeFailed(err error) (Ending, string) {
	if isTimeout(err) {
		ss.res.ClosedBy = ByApp
		return EndWriteTimeout, ss.e.opts.Timeouts.Write.String()
	}
	select {
	case rr := <-ss.readDone:
		return ss.appEnded(rr)
	case <-time.After(ss.e.opts.Timeouts.CloseHandshake):
		ss.res.ClosedBy = ByApp
		return EndAppAbnormalClose, describeNetError(err)
	case <-ss.abort.Done():
		return "", ""
	}
}

// appEnded classifies the connection ending on the app's side.
func (ss *session) appEnded(rr readResult) (Ending, string) {
	ss.res.ClosedBy = ByApp
	if !rr.closeFrame {
		return EndAppAbnormalClose, describeNetError(rr.err)
	}
	ss.res.CloseReceived, ss.res.CloseReason, ss.res.CloseHandshake = rr.code, rr.reason, true
	if !ss.closeSent.Load() {
		// gorilla/websocket answers the app's close frame with the same code.
		ss.res.CloseSent = rr.code
	}
	if normalClose(rr.code) {
		return EndAppClose, closeDetail(rr.code, rr.reason)
	}
	return EndAppCloseCode, closeDetail(rr.code, rr.reason)
}

// normalClose is a close code that means "done, nothing wrong".
func normalClose(code int) bool {
	switch code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived:
		return true
	}
	return false
}

func closeDetail(code int, reason string) string {
	if reason == "" {
		return fmt.Sprintf("code %d", code)
	}
	return fmt.Sprintf("code %d (%s)", code, reason)
}

// describeNetError says in plain words how a connection broke.
func describeNetError(err error) string {
	var ce *websocket.CloseError
	switch {
	case err == nil:
		return "the connection ended"
	case errors.Is(err, syscall.ECONNRESET):
		return "the destination reset the connection (TCP RST) without a close frame"
	case errors.Is(err, syscall.EPIPE):
		return "the destination closed the connection without a close frame (broken pipe)"
	case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure,
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the destination closed the connection without a close frame"
	}
	return err.Error()
}

// end carries out an ending the emulator was asked for.
func (ss *session) end(e Ending) (Ending, string) {
	switch e {
	case EndStopStream, EndHangup:
		stop := protocol.StopMessage{EventType: protocol.EventStop, Metadata: ss.metadata()}
		if err := ss.writeJSON(stop); err != nil {
			return ss.writeFailed(err)
		}
		answered, rr := ss.closeHandshake(websocket.CloseNormalClosure, "")
		if rr != nil && rr.closeFrame && (rr.first || !normalClose(rr.code)) {
			// The app closed on its own (or with an error code) as the
			// stream was being stopped: that is its ending, not an answer.
			return ss.appEnded(*rr)
		}
		if !answered {
			return EndCloseHandshakeTimeout, ""
		}
		return e, ""
	case EndInternalError:
		ss.journal(Entry{Kind: KindFault, By: ByEmulator, Message: "injected internal error: closing with 1011"})
		_, _ = ss.closeHandshake(websocket.CloseInternalServerErr, "internal error")
		return e, "the media server failed and closed the stream with 1011 (injected fault)"
	case EndReset:
		ss.journal(Entry{Kind: KindFault, By: ByNetwork, Message: "injected TCP reset (SO_LINGER 0, close)"})
		ss.res.ClosedBy = ByNetwork
		ss.reset()
		return e, "TCP RST, injected network fault"
	case EndDrop:
		return ss.drop()
	}
	return "", ""
}

// closeHandshake sends a close frame and waits for the app's. It reports
// whether one came back in time, and the reader's ending when there was one.
func (ss *session) closeHandshake(code int, reason string) (bool, *readResult) {
	ss.res.ClosedBy = ByEmulator
	ss.res.CloseSent = code
	msg := websocket.FormatCloseMessage(code, reason)
	ss.closeSent.Store(true)
	if err := ss.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(ss.e.opts.Timeouts.Write)); err != nil {
		ss.res.CloseProblem = "the close frame could not be sent: " + describeNetError(err)
		ss.journal(Entry{Kind: KindClose, By: ByEmulator, Code: code, Error: err.Error(), Message: ss.res.CloseProblem})
		return false, nil
	}
	ss.journal(Entry{Kind: KindClose, By: ByEmulator, Code: code, Message: fmt.Sprintf("close frame sent: %s", closeDetail(code, reason))})
	timer := time.NewTimer(ss.e.opts.Timeouts.CloseHandshake)
	defer timer.Stop()
	select {
	case rr := <-ss.readDone:
		if rr.closeFrame {
			ss.res.CloseReceived, ss.res.CloseReason, ss.res.CloseHandshake = rr.code, rr.reason, true
			return true, &rr
		}
		ss.res.CloseProblem = describeNetError(rr.err)
		ss.journal(Entry{Kind: KindClose, By: ByApp, Message: "close handshake incomplete: " + ss.res.CloseProblem})
		return false, &rr
	case <-timer.C:
		ss.res.CloseProblem = fmt.Sprintf("no close frame from the app within %s", ss.e.opts.Timeouts.CloseHandshake)
		ss.journal(Entry{Kind: KindClose, By: ByApp, Message: "close handshake incomplete: " + ss.res.CloseProblem})
		return false, nil
	case <-ss.abort.Done():
		return false, nil
	}
}

// reset closes the TCP connection with SO_LINGER 0, which sends RST.
func (ss *session) reset() {
	if tcp := tcpConn(ss.conn.NetConn()); tcp != nil {
		_ = tcp.SetLinger(0)
	}
	ss.closeConn()
}

func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// drop stops all traffic on the connection, leaving it half-open, and
// declares it dead after the dead-peer timeout, as a media server would.
func (ss *session) drop() (Ending, string) {
	ss.dropped.Store(true)
	ss.res.ClosedBy = ByNetwork
	ss.journal(Entry{Kind: KindFault, By: ByNetwork, Message: "injected silent drop: no more traffic either way, socket left half-open"})
	timer := time.NewTimer(ss.e.opts.Timeouts.DeadPeer)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return EndDrop, ss.e.opts.Timeouts.DeadPeer.String()
		case c := <-ss.s.cmds:
			if c.kind == cmdMedia {
				c.reached <- false
			}
		case <-ss.abort.Done():
			return "", ""
		}
	}
}

// hold keeps a dropped connection half-open until its call ends or the
// emulator closes, then lets it go without a close frame.
func (ss *session) hold() {
	select {
	case <-ss.s.Call.release:
	case <-ss.abort.Done():
	}
	ss.closeConn()
}

// closeConn closes the TCP connection (if any) and waits for the reader.
func (ss *session) closeConn() {
	if ss.conn == nil {
		return
	}
	select {
	case <-ss.teardown:
		return
	default:
	}
	close(ss.teardown)
	_ = ss.conn.Close()
	<-ss.readerExit
}

// finish records how the stream ended, sends its webhook and publishes the result.
func (ss *session) finish(e Ending, detail string) {
	s := ss.s
	r := &ss.res
	r.MediaDuration = time.Duration(ss.n) * media.FrameDuration
	r.LatenessP50, r.LatenessP99 = r.Lateness.Quantile(0.5), r.Lateness.Quantile(0.99)
	r.PlayAudio, r.PlayAudioBytes = int(ss.playAudio.Load()), int(ss.playBytes.Load())
	r.Clears, r.Violations = int(ss.clears.Load()), int(ss.violations.Load())
	r.FirstPlayAudio = time.Duration(ss.firstPlay.Load())
	r.EndTime = time.Now()
	for track, n := range r.FramesByTrack {
		ss.journal(Entry{Kind: KindMedia, By: ByEmulator, Track: track, Count: n,
			Message: fmt.Sprintf("%d media frames sent on %s (%s)", n, track, time.Duration(n)*media.FrameDuration)})
	}
	if e == "" { // Emulator.Close cut the stream: no webhook
		r.Aborted = true
		ss.journal(Entry{Kind: KindEnding, By: ByEmulator, Message: "stream aborted: the emulator closed"})
		close(s.ended)
		s.result = *r
		close(s.done)
		return
	}
	row := TerminationOf(e)
	r.Ending, r.By, r.AppFault = e, row.By, row.AppFault
	r.Event, r.Cause, r.ErrorMessage = ss.e.opts.classify(e, detail)
	ss.journal(Entry{Kind: KindEnding, By: row.By, Event: r.Event, Cause: r.Cause, Code: r.CloseReceived,
		Message: fmt.Sprintf("stream ended (%s): %s, cause %s%s", e, row.Wire, r.Cause, prefixed(": ", r.ErrorMessage))})
	close(s.ended)
	for _, w := range ss.waiters {
		w.reached <- false
	}
	ev := s.Call.event(r.Event)
	ev.Cause, ev.ErrorMessage, ev.MediaStream = r.Cause, r.ErrorMessage, s.mediaStream()
	if r.Event == protocol.EventMediaStreamStopped {
		ev.MediaStream.Duration = protocol.DurationPtr(r.MediaDuration)
	}
	r.Deliveries = append(r.Deliveries, <-s.Call.webhooks.send(s.eventTarget(), ev, s.ids())...)
	s.result = *r
	close(s.done)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func (ss *session) journal(e Entry) {
	e.CallID, e.StreamID, e.StreamName = ss.s.Call.ID, ss.s.ID, ss.s.Name
	ss.e.journal.Add(e)
}

// read is the stream's reader: it takes every frame the app sends, checks
// it, journals it, and reports how the connection ended.
func (ss *session) read() {
	defer close(ss.readerExit)
	bidi := ss.s.spec.Mode == protocol.ModeBidirectional
	for {
		mt, data, err := ss.conn.ReadMessage()
		if ss.dropped.Load() {
			<-ss.teardown // silent: take no more traffic
			return
		}
		if err != nil {
			var ce *websocket.CloseError
			rr := readResult{err: err}
			if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
				rr = readResult{closeFrame: true, first: !ss.closeSent.Load(), code: ce.Code, reason: ce.Text}
				ss.journal(Entry{Kind: KindClose, By: ByApp, Code: ce.Code, Message: "close frame received: " + closeDetail(ce.Code, ce.Text)})
			} else if !isTeardown(ss.teardown) {
				ss.journal(Entry{Kind: KindClose, By: ByApp, Error: err.Error(), Message: "connection ended: " + describeNetError(err)})
			}
			ss.readDone <- rr
			return
		}
		ss.received(bidi, mt, data)
	}
}

func isTeardown(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (ss *session) received(bidi bool, mt int, data []byte) {
	msg, pa, err := protocol.ParseAppMessage(mt == websocket.TextMessage, data)
	if err == nil && !bidi {
		err = fmt.Errorf("the app sent %s on a unidirectional stream: only a bidirectional stream takes messages from the app", firstNonEmpty(msg.EventType, "a message"))
	}
	if err != nil {
		ss.violations.Add(1)
		ss.journal(Entry{Kind: KindViolation, By: ByApp, Event: msg.EventType, Error: err.Error(),
			Message: "protocol violation: " + err.Error(), Data: quoteFrame(data)})
		return
	}
	switch msg.EventType {
	case protocol.EventClear:
		ss.clears.Add(1)
		ss.journal(Entry{Kind: KindFrameIn, By: ByApp, Event: msg.EventType, Message: "clear: drop queued playback", Data: data})
	case protocol.EventPlayAudio:
		if ss.playAudio.Add(1) == 1 {
			ss.firstPlay.Store(int64(time.Since(ss.s.StartTime)))
		}
		ss.playBytes.Add(int64(len(pa.Audio)))
		dur := time.Duration(pa.Samples()) * time.Second / time.Duration(pa.SampleRate)
		ss.journal(Entry{Kind: KindFrameIn, By: ByApp, Event: msg.EventType, Count: pa.Samples(),
			Message: fmt.Sprintf("playAudio %s, %d samples (%s)", pa.ContentType, pa.Samples(), dur)})
	}
}

// quoteFrame keeps the start of a bad frame as a JSON string for the journal.
func quoteFrame(data []byte) json.RawMessage {
	if len(data) > 256 {
		data = data[:256]
	}
	b, _ := json.Marshal(strings.ToValidUTF8(string(data), "?"))
	return b
}

var base64Std = base64.StdEncoding

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
