package consumer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/valyala/fastjson"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// stream is one accepted WebSocket connection. rec is guarded by the
// consumer's mutex, and only the handler goroutine changes it, so the
// handler may read it without the lock; the remaining fields belong to the
// handler goroutine, except writeMu and conn, which goAway uses from Close.
type stream struct {
	c    *Consumer
	conn *websocket.Conn
	log  *slog.Logger
	rec  StreamRecord

	// Per-track last sequence number, read and written only by the handler.
	lastSeq map[string]uint64
	// parser and audio are reused for every frame, so that media frames,
	// fifty a second per track, are read without allocating: under load
	// the consumer shares the machine with the emulator driving it.
	parser fastjson.Parser
	audio  []byte
	// echoBroken stops echoing after the first failed write: gorilla
	// returns the same error for every later write anyway.
	echoBroken bool

	// writeMu serialises data writes: a gorilla connection allows one
	// concurrent writer. (Close frames go through WriteControl, which is
	// safe alongside other writes.)
	writeMu sync.Mutex
	// goneAway records that the consumer sent its own close (under c.mu).
	goneAway bool
	// reported counts the violations in rec.Errors already reported to
	// Observe's function.
	reported int
}

// serveMedia is the WebSocket endpoint, the StartStream destination.
func (c *Consumer) serveMedia(w http.ResponseWriter, r *http.Request) {
	// Authenticate before upgrading: after the upgrade the only way to say
	// no is to close the socket, which Bandwidth cannot tell apart from a
	// crash. A 401 on the handshake is unambiguous.
	user, ok := checkBasic(w, r, c.opts.WSUser, c.opts.WSPassword, "bwemu-consumer-media")
	if !ok {
		c.log.Warn("websocket handshake rejected: bad or missing credentials", "remote", r.RemoteAddr)
		c.observe(Activity{Kind: ActivityRefused, Status: http.StatusUnauthorized, Detail: "bad or missing credentials"})
		return
	}
	if !c.beginHandler() {
		http.Error(w, errClosing.Error(), http.StatusServiceUnavailable)
		c.observe(Activity{Kind: ActivityRefused, Status: http.StatusServiceUnavailable, Detail: errClosing.Error()})
		return
	}
	defer c.handlers.Done()

	conn, err := c.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already answered the request with an HTTP error.
		c.log.Warn("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		c.observe(Activity{Kind: ActivityRefused, Detail: "the upgrade failed: " + err.Error()})
		return
	}
	// Closing the connection when the handler returns is what finally
	// releases the TCP connection; http.Server no longer tracks it after
	// the hijack.
	defer conn.Close()
	conn.SetReadLimit(c.opts.ReadLimit)

	s := c.newStream(conn, r, user)
	s.readLoop()
	// Release the TCP connection before reporting the stream closed, so a
	// waiter that sees Closed can rely on it.
	_ = conn.Close()
	s.reportViolations()

	c.mu.Lock()
	delete(c.live, s)
	s.rec.Closed = true
	s.rec.ClosedAt = time.Now().UTC()
	closed := s.closedActivity()
	c.notify()
	c.mu.Unlock()
	c.observe(closed)
}

// newStream records a connection the handshake of r has just accepted.
func (c *Consumer) newStream(conn *websocket.Conn, r *http.Request, user string) *stream {
	s := &stream{
		c:       c,
		conn:    conn,
		lastSeq: map[string]uint64{},
		rec: StreamRecord{
			RemoteAddr:    r.RemoteAddr,
			RawQuery:      r.URL.RawQuery,
			AuthUser:      user,
			Echo:          c.opts.Echo || r.URL.Query().Get("echo") == "1",
			ConnectedAt:   time.Now().UTC(),
			FramesByTrack: map[string]int{},
			BytesByTrack:  map[string]int{},
			Errors:        []string{},
		},
	}
	c.mu.Lock()
	c.streams = append(c.streams, s)
	s.rec.Conn = len(c.streams)
	c.live[s] = struct{}{}
	// Close may have run between beginHandler and here without seeing this
	// connection; then say goodbye now, so Close's Wait still ends.
	lateForClose := c.closing && s.markGoneAway()
	c.notify()
	c.mu.Unlock()
	if lateForClose {
		s.goAway()
	}
	s.log = c.log.With("conn", s.rec.Conn, "remote", r.RemoteAddr)
	s.log.Info("websocket connected", "echo", s.rec.Echo)
	return s
}

// markGoneAway records that the consumer is closing this socket and
// reports whether it was the first to do so. Callers hold c.mu.
func (s *stream) markGoneAway() bool {
	if s.goneAway {
		return false
	}
	s.goneAway = true
	return true
}

// goAway starts the close handshake from the consumer's side with 1001
// (going away) and bounds how long the peer has to answer. The handler's
// read loop then sees the peer's answering close (or the deadline) and
// returns. Call it after markGoneAway, without c.mu held.
func (s *stream) goAway() { s.sendClose(websocket.CloseGoingAway, "consumer shutting down") }

// sendClose starts the close handshake from the consumer's side and bounds
// how long the peer has to answer.
func (s *stream) sendClose(code int, reason string) {
	deadline := time.Now().Add(s.c.opts.CloseTimeout)
	msg := websocket.FormatCloseMessage(code, reason)
	// WriteControl is the one write gorilla allows alongside another
	// goroutine's writes, so this needs no writeMu.
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, deadline)
	// Unblocks ReadMessage if the peer never answers. net.Conn deadlines
	// are safe to set from another goroutine.
	_ = s.conn.UnderlyingConn().SetReadDeadline(deadline)
}

// readLoop reads until the connection ends. gorilla's default close handler
// answers a peer's close frame with the same code, which completes the
// handshake; ReadMessage then returns a *websocket.CloseError and the
// handler closes the connection.
func (s *stream) readLoop() {
	// One buffer for every frame: nothing keeps a frame's bytes once it
	// is handled. Buffers grown by an unusually large frame (this one and
	// the decoded audio's) are let go.
	var frame bytes.Buffer
	for {
		mt, r, err := s.conn.NextReader()
		if err == nil {
			frame.Reset()
			_, err = frame.ReadFrom(r)
		}
		if err != nil {
			s.finish(err)
			return
		}
		s.handleFrame(mt, frame.Bytes())
		s.reportViolations()
		if frame.Cap() > maxKeptFrameBuffer {
			frame, s.audio = bytes.Buffer{}, nil
		}
	}
}

// maxKeptFrameBuffer is the largest read buffer a stream keeps between
// frames; media frames are about 300 bytes.
const maxKeptFrameBuffer = 64 << 10

// finish records how the connection ended.
func (s *stream) finish(err error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.rec.ClosedByConsumer = s.goneAway
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		s.rec.CloseCode, s.rec.CloseText = ce.Code, ce.Text
		// A close with 1000 is Bandwidth ending the stream on purpose, and
		// Bandwidth always sends stop before that.
		if ce.Code == websocket.CloseNormalClosure && !s.rec.StopSeen && !s.goneAway {
			s.addErrorLocked("socket closed with 1000 without a stop message")
		}
	case errors.Is(err, websocket.ErrReadLimit):
		s.rec.CloseCode = websocket.CloseMessageTooBig
		s.rec.ClosedByConsumer = true
		s.addErrorLocked(fmt.Sprintf("message larger than the read limit of %d bytes; connection closed with 1009", c.opts.ReadLimit))
	case s.goneAway:
		// The peer did not answer the consumer's close in time.
		s.rec.CloseCode = websocket.CloseGoingAway
	default:
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || isEOF(err) {
			// The connection failed or was dropped without a close frame.
			s.rec.CloseCode = websocket.CloseAbnormalClosure
			break
		}
		// gorilla rejected a frame (reserved bits, unmasked client frame,
		// bad control frame and the like) and has already answered with
		// close 1002.
		s.rec.CloseCode = websocket.CloseProtocolError
		s.rec.ClosedByConsumer = true
		s.addErrorLocked("websocket protocol error: " + err.Error())
	}
	s.log.Info("websocket closed", "code", s.rec.CloseCode, "err", err,
		"frames", s.rec.FramesByTrack, "stop", s.rec.StopSeen, "errors", len(s.rec.Errors))
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// addErrorLocked records a protocol violation. Callers hold c.mu.
func (s *stream) addErrorLocked(msg string) {
	s.rec.Errors = append(s.rec.Errors, msg)
	s.log.Warn("stream protocol error", "err", msg)
	s.c.notify()
}

// addError is addErrorLocked for callers without the lock.
func (s *stream) addError(format string, args ...any) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.addErrorLocked(fmt.Sprintf(format, args...))
}

// badFrame records an error for a frame that will not be counted.
func (s *stream) badFrame(format string, args ...any) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.rec.BadFrames++
	s.addErrorLocked(fmt.Sprintf(format, args...))
}

// handleFrame dispatches one message. Nothing here ends the connection: a
// bad frame is recorded and skipped.
func (s *stream) handleFrame(mt int, data []byte) {
	if mt != websocket.TextMessage {
		s.badFrame("binary frame of %d bytes: Bandwidth sends JSON text frames only", len(data))
		return
	}
	// Unknown fields are ignored on purpose: Bandwidth may add fields, and
	// a consumer that rejects them breaks on the next platform release.
	v, err := s.parser.ParseBytes(data)
	if err == nil && v.Type() != fastjson.TypeObject {
		err = fmt.Errorf("it is a JSON %s", v.Type())
	}
	if err != nil {
		s.badFrame("frame is not a JSON object: %v", err)
		return
	}
	eventType, problem := stringField(v, "eventType")
	if problem != "" {
		s.badFrame("%s", problem)
		return
	}
	switch string(eventType) {
	case protocol.EventStart:
		s.handleStart(data)
	case protocol.EventMedia:
		s.handleMedia(v)
	case protocol.EventStop:
		s.handleStop(data)
	case "":
		s.badFrame("message has no eventType")
	default:
		s.badFrame("unknown eventType %q (want start, media or stop)", eventType)
	}
}

// stringField returns the string field name of the object v, nil when it
// is absent or null, or what is wrong with it. The bytes belong to the
// stream's parser and last until the next frame.
func stringField(v *fastjson.Value, name string) ([]byte, string) {
	f := v.Get(name)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, ""
	}
	b, err := f.StringBytes()
	if err != nil {
		return nil, fmt.Sprintf("%s is a JSON %s, not a string", name, f.Type())
	}
	return b, ""
}

func (s *stream) handleStart(data []byte) {
	var m protocol.StartMessage
	if err := json.Unmarshal(data, &m); err != nil {
		s.badFrame("start message does not decode: %v", err)
		return
	}
	c := s.c
	c.mu.Lock()
	if s.rec.Start != nil {
		s.rec.BadFrames++
		s.addErrorLocked("second start message on the same socket (ignored)")
		c.mu.Unlock()
		return
	}
	s.rec.Start = &m
	md := m.Metadata
	s.rec.CallID, s.rec.StreamID, s.rec.StreamName = md.CallID, md.StreamID, md.StreamName
	s.rec.Tracks, s.rec.StreamParams = md.Tracks, m.StreamParams
	for _, problem := range validateStart(&m) {
		s.addErrorLocked("start: " + problem)
	}
	s.log = s.log.With("callId", md.CallID, "streamId", md.StreamID)
	s.log.Info("stream started", "name", md.StreamName, "tracks", len(md.Tracks), "params", len(m.StreamParams))
	c.notify()
	started := s.startedActivity()
	c.mu.Unlock()
	c.observe(started)
}

// validateStart lists everything wrong with a start message. The message
// is still used: its metadata is what ties the socket to the call.
func validateStart(m *protocol.StartMessage) []string {
	var problems []string
	md := m.Metadata
	if md.AccountID == "" {
		problems = append(problems, "metadata.accountId is empty")
	} else if _, err := strconv.ParseUint(md.AccountID, 10, 64); err != nil {
		problems = append(problems, fmt.Sprintf("metadata.accountId %q is not digits", md.AccountID))
	}
	if !protocol.IsCallID(md.CallID) {
		problems = append(problems, fmt.Sprintf("metadata.callId %q is not a Bandwidth call id (c-xxxxxxxx-xxxxxxxx-uuid-tail)", md.CallID))
	}
	if !protocol.IsStreamID(md.StreamID) {
		problems = append(problems, fmt.Sprintf("metadata.streamId %q is not a Bandwidth stream id (s-xxxxxxxx-xxxxxxxx-uuid-tail)", md.StreamID))
	}
	if md.StreamName == "" {
		problems = append(problems, "metadata.streamName is empty (it defaults to the stream id)")
	}
	if len(md.Tracks) == 0 {
		problems = append(problems, "metadata.tracks is empty")
	}
	seen := map[string]bool{}
	for i, t := range md.Tracks {
		if t.Name != protocol.TrackInbound && t.Name != protocol.TrackOutbound {
			problems = append(problems, fmt.Sprintf("metadata.tracks[%d].name %q is not inbound or outbound", i, t.Name))
		}
		if seen[t.Name] {
			problems = append(problems, fmt.Sprintf("metadata.tracks[%d]: track %q listed twice", i, t.Name))
		}
		seen[t.Name] = true
		// The docs' table says audio/PCMU and the example says PCMU; accept both.
		if enc := t.MediaFormat.Encoding; !strings.EqualFold(enc, "PCMU") && !strings.EqualFold(enc, "audio/PCMU") {
			problems = append(problems, fmt.Sprintf("metadata.tracks[%d].mediaFormat.encoding %q is not PCMU", i, enc))
		}
		if t.MediaFormat.SampleRate != 8000 {
			problems = append(problems, fmt.Sprintf("metadata.tracks[%d].mediaFormat.sampleRate %d is not 8000", i, t.MediaFormat.SampleRate))
		}
	}
	return problems
}

// mediaFields are a media message's fields, as the stream's parser holds
// them until the next frame.
type mediaFields struct{ track, sequenceNumber, payload []byte }

func (s *stream) handleMedia(v *fastjson.Value) {
	var m mediaFields
	var problems [3]string
	m.track, problems[0] = stringField(v, "track")
	m.sequenceNumber, problems[1] = stringField(v, "sequenceNumber")
	m.payload, problems[2] = stringField(v, "payload")
	for _, p := range problems {
		if p != "" {
			s.badFrame("media message does not decode: %s", p)
			return
		}
	}
	track, audio, problem := s.checkMedia(m)
	if problem != "" {
		s.badFrame("media: %s", problem)
		return
	}
	c := s.c
	c.mu.Lock()
	s.rec.FramesByTrack[track]++
	s.rec.BytesByTrack[track] += len(audio)
	s.rec.Bytes += len(audio)
	echo := s.rec.Echo && track == protocol.TrackInbound && !s.echoBroken
	c.notify()
	c.mu.Unlock()

	if echo {
		s.echo(string(m.payload))
	}
}

// checkMedia validates a media message against the start message and the
// sequence so far, and returns its track's name as start announced it, the
// decoded audio (valid until the next frame), or what is wrong with it.
func (s *stream) checkMedia(m mediaFields) (track string, audio []byte, problem string) {
	// Only this goroutine writes Start and StopSeen: no lock to read them.
	start, stopped := s.rec.Start, s.rec.StopSeen
	if start == nil {
		return "", nil, "media before start"
	}
	if stopped {
		return "", nil, "media after stop"
	}
	for _, t := range start.Metadata.Tracks {
		if t.Name == string(m.track) {
			track = t.Name
		}
	}
	if track == "" {
		return "", nil, fmt.Sprintf("track %q was not announced in start", m.track)
	}
	// sequenceNumber is a string holding a number. Whether Bandwidth counts
	// per stream or per track is undocumented; requiring an increase within
	// each track is correct under either reading.
	if len(m.sequenceNumber) == 0 {
		return "", nil, "missing sequenceNumber"
	}
	seq, err := strconv.ParseUint(string(m.sequenceNumber), 10, 64)
	if err != nil {
		return "", nil, fmt.Sprintf("sequenceNumber %q is not a non-negative integer", m.sequenceNumber)
	}
	if last, ok := s.lastSeq[track]; ok && seq <= last {
		return "", nil, fmt.Sprintf("sequenceNumber %d on track %s does not increase (last %d)", seq, track, last)
	}
	s.lastSeq[track] = seq
	if len(m.payload) == 0 {
		return "", nil, "empty payload"
	}
	if n := base64.StdEncoding.DecodedLen(len(m.payload)); cap(s.audio) < n {
		s.audio = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(s.audio[:cap(s.audio)], m.payload)
	if err != nil {
		return "", nil, fmt.Sprintf("payload is not valid base64: %v", err)
	}
	return track, s.audio[:n], ""
}

// echo plays an inbound payload back, as a bidirectional app would play its
// own audio. The payload is already validated base64 PCMU, so it is sent
// as is.
func (s *stream) echo(payload string) {
	msg := protocol.AppMessage{
		EventType: protocol.EventPlayAudio,
		Media:     &protocol.AppMedia{ContentType: protocol.ContentTypePCMU, Payload: payload},
	}
	raw, err := json.Marshal(msg)
	if err != nil { // cannot happen with these types
		s.addError("echo: %v", err)
		return
	}
	s.writeMu.Lock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.c.opts.WriteTimeout))
	err = s.conn.WriteMessage(websocket.TextMessage, raw)
	s.writeMu.Unlock()

	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if err != nil {
		s.echoBroken = true
		if !s.goneAway { // after our own close frame, failing writes are expected
			s.addErrorLocked("echo: writing playAudio failed: " + err.Error())
		}
		return
	}
	s.rec.EchoedFrames++
	s.c.notify()
}

func (s *stream) handleStop(data []byte) {
	var m protocol.StopMessage
	if err := json.Unmarshal(data, &m); err != nil {
		s.badFrame("stop message does not decode: %v", err)
		return
	}
	closeNow, recorded := s.recordStop(&m)
	if recorded {
		s.c.mu.Lock()
		stopped := s.activity(ActivityStopped)
		s.c.mu.Unlock()
		s.c.observe(stopped)
	}
	if closeNow {
		// Many apps close the moment they read stop, before Bandwidth's
		// close frame arrives; the handshake completes all the same.
		s.sendClose(websocket.CloseNormalClosure, "stream stopped")
	}
}

// recordStop checks and records a stop message. It reports whether the
// consumer should now close the socket itself (it closes on stop and has
// not begun to yet), and whether the stop was recorded (a second one is
// not).
func (s *stream) recordStop(m *protocol.StopMessage) (closeNow, recorded bool) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case s.rec.Start == nil:
		s.rec.BadFrames++
		s.addErrorLocked("stop before start")
	case s.rec.StopSeen:
		s.rec.BadFrames++
		s.addErrorLocked("second stop message (ignored)")
		return false, false
	default:
		st := s.rec.Start.Metadata
		if m.Metadata.StreamID != st.StreamID {
			s.addErrorLocked(fmt.Sprintf("stop: metadata.streamId %q differs from start's %q", m.Metadata.StreamID, st.StreamID))
		}
		if m.Metadata.CallID != st.CallID {
			s.addErrorLocked(fmt.Sprintf("stop: metadata.callId %q differs from start's %q", m.Metadata.CallID, st.CallID))
		}
	}
	s.rec.Stop, s.rec.StopSeen = m, true
	s.log.Info("stream stopped")
	c.notify()
	// Only a consumer that closes on stop begins the close: otherwise the
	// close is Bandwidth's, and Close must still say goodbye to a peer
	// that never sends it.
	return c.opts.CloseOnStop && s.markGoneAway(), true
}
