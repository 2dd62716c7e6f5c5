package buggy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// serveMedia is the WebSocket endpoint. Without a defect it does what the
// reference consumer does: authenticate before upgrading, read every frame,
// echo inbound audio when asked, answer the close handshake.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	d := s.defect
	s.mu.Lock()
	unhealthy := s.unhealthy
	s.mu.Unlock()
	if unhealthy {
		http.Error(w, "media backend unavailable", http.StatusServiceUnavailable)
		return
	}
	if d != NoWSAuth && d != AuthAfterUpgrade && !basicOK(r, s.opts.WSUser, s.opts.WSPassword) {
		unauthorized(w, "buggy-media")
		return
	}
	reserved := false
	if d == OneStreamAtATime {
		// The check and the reservation are one step: two handshakes that
		// come together cannot both find the slot free.
		s.mu.Lock()
		busy := s.live > 0
		if !busy {
			s.live++
			reserved = true
		}
		s.mu.Unlock()
		if busy {
			http.Error(w, "busy: one stream at a time", http.StatusServiceUnavailable)
			return
		}
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		if reserved {
			s.mu.Lock()
			s.live--
			s.mu.Unlock()
		}
		return // Upgrade answered with an HTTP error
	}
	if !s.adopt(conn, reserved) {
		return
	}
	defer s.release(conn)

	if d == AuthAfterUpgrade && !basicOK(r, s.opts.WSUser, s.opts.WSPassword) {
		closeWith(conn, websocket.ClosePolicyViolation, "unauthorized")
		return
	}
	if d == NoCloseHandshake {
		// Swallow the close frame instead of answering it.
		conn.SetCloseHandler(func(int, string) error { return nil })
	}
	sc := &socket{s: s, conn: conn, echo: s.opts.Echo || r.URL.Query().Get("echo") == "1"}
	sc.serve()
}

// adopt records a hijacked connection so Close can close it; false (and
// the connection closed) when Close already ran. reserved says the live
// slot was counted before the upgrade.
func (s *Server) adopt(c *websocket.Conn, reserved bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		if reserved {
			s.live--
		}
		_ = c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	if !reserved {
		s.live++
	}
	return true
}

func (s *Server) release(c *websocket.Conn) {
	_ = c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.live--
	s.mu.Unlock()
}

// closeWith starts the close handshake from the consumer's side and reads
// until the peer answers (or closeWait passes).
func closeWith(c *websocket.Conn, code int, reason string) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWait))
	_ = c.SetReadDeadline(time.Now().Add(closeWait))
	for {
		if _, _, err := c.NextReader(); err != nil {
			return
		}
	}
}

// socket is one stream, served by its handler goroutine alone (the only
// writer besides WriteControl, so no write lock is needed).
type socket struct {
	s    *Server
	conn *websocket.Conn
	echo bool
	// streamID is the start message's, once it came.
	streamID string
	// session is the stream's backend session (Options.Backend), opened
	// on start.
	session *backendSession
}

// errHandled ends the read loop after a frame handler closed the socket.
var errHandled = errors.New("socket closed by the consumer")

func (sc *socket) serve() {
	defer func() {
		if sc.streamID != "" {
			sc.s.markEnded(sc.streamID)
		}
		if sc.s.defect != LeakOnAbort {
			// The bug is the missing cleanup here: LeakOnAbort closes the
			// session on the stop message only.
			sc.session.close()
		}
	}()
	for {
		mt, data, err := sc.conn.ReadMessage()
		if err != nil {
			sc.ended(err)
			return
		}
		if mt != websocket.TextMessage {
			continue // a correct consumer skips what it does not understand
		}
		if err := sc.frame(data); err != nil {
			return
		}
	}
}

// ended handles the end of the read loop.
func (sc *socket) ended(err error) {
	s, d := sc.s, sc.s.defect
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		switch {
		case d == NoCloseHandshake:
			// Hold the TCP connection, unanswered, until the peer gives up.
			_, _ = io.Copy(io.Discard, sc.conn.NetConn())
		case d == RefuseAfterError && ce.Code == websocket.CloseInternalServerErr:
			s.markUnhealthy()
		}
		return
	}
	select {
	case <-s.done: // our own shutdown is no abort
		return
	default:
	}
	switch d {
	case RefuseAfterAbort:
		s.markUnhealthy()
	case FaultSpreads:
		s.cancelAll(sc.conn)
	}
}

// cancelAll closes every other live socket with 1011, as a shared context
// cancelled by one connection's error would.
func (s *Server) cancelAll(except *websocket.Conn) {
	s.mu.Lock()
	var others []*websocket.Conn
	for c := range s.conns {
		if c != except {
			others = append(others, c)
		}
	}
	s.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "context canceled")
	for _, c := range others {
		// WriteControl may run alongside the owner's writes; the owner's
		// read loop then takes the peer's answering close.
		_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
	}
}

func (s *Server) markUnhealthy() {
	s.mu.Lock()
	s.unhealthy = true
	s.mu.Unlock()
}

// frame handles one text frame; an error ends the connection.
func (sc *socket) frame(data []byte) error {
	var env struct {
		EventType string `json:"eventType"`
	}
	if json.Unmarshal(data, &env) != nil {
		return nil // skipped, as the reference consumer does
	}
	switch env.EventType {
	case protocol.EventStart:
		return sc.start(data)
	case protocol.EventMedia:
		return sc.media(data)
	case protocol.EventStop:
		sc.session.close()
		if sc.s.defect == DropOnStop {
			_ = sc.conn.NetConn().Close()
			return errHandled
		}
	default:
		if sc.s.defect == DropOnUnknownEvent {
			_ = sc.conn.NetConn().Close()
			return errHandled
		}
	}
	return nil
}

func (sc *socket) start(data []byte) error {
	var m protocol.StartMessage
	if json.Unmarshal(data, &m) == nil && m.Metadata.StreamID != "" && sc.streamID == "" {
		sc.streamID = m.Metadata.StreamID
	}
	if sc.s.backend != nil && sc.session == nil {
		sc.session = sc.s.backend.open()
	}
	switch sc.s.defect {
	case RejectUnknownFields:
		var m protocol.StartMessage
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			closeWith(sc.conn, websocket.CloseInvalidFramePayloadData, "bad start: "+truncate(err.Error(), 100))
			return errHandled
		}
	case CloseOnStreamParams:
		var m struct {
			StreamParams json.RawMessage `json:"streamParams"`
		}
		if json.Unmarshal(data, &m) == nil && len(m.StreamParams) > 0 {
			closeWith(sc.conn, websocket.ClosePolicyViolation, "streamParams not supported")
			return errHandled
		}
	case CloseErrorOnStart:
		closeWith(sc.conn, websocket.CloseInternalServerErr, "session setup failed")
		return errHandled
	case NeverReads:
		// The pipeline that should drain the socket never does.
		<-sc.s.done
		return errHandled
	}
	return nil
}

func (sc *socket) media(data []byte) error {
	d := sc.s.defect
	if d == NumericSequenceNumber {
		var m struct {
			Track          string `json:"track"`
			SequenceNumber int    `json:"sequenceNumber"`
			Payload        string `json:"payload"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			closeWith(sc.conn, websocket.CloseInvalidFramePayloadData, "bad media: "+truncate(err.Error(), 100))
			return errHandled
		}
	}
	var m protocol.MediaMessage
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	if d == CloseOnOutboundTrack && m.Track != protocol.TrackInbound {
		closeWith(sc.conn, websocket.CloseUnsupportedData, "unsupported track "+m.Track)
		return errHandled
	}
	if !sc.echo || m.Track != protocol.TrackInbound {
		return nil
	}
	audio, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		return nil
	}
	media := protocol.AppMedia{ContentType: protocol.ContentTypePCMU, Payload: m.Payload}
	switch d {
	case InvalidPlayAudioBase64:
		media.Payload = base64.RawStdEncoding.EncodeToString(audio)
	case InvalidPlayAudioContentType:
		media.ContentType = "audio/x-mulaw"
	}
	raw, _ := json.Marshal(protocol.AppMessage{EventType: protocol.EventPlayAudio, Media: &media})
	_ = sc.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	// A failed write is noticed by the read loop; nothing to do here.
	_ = sc.conn.WriteMessage(websocket.TextMessage, raw)
	return nil
}

// truncate keeps close reasons under the 123-byte limit of a close frame.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
