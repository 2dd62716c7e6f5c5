package apptest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// Stream is one stream as the fake app saw it.
type Stream struct {
	Header http.Header // the upgrade request's
	// EventTypes is every message's eventType, in order.
	EventTypes []string
	Start      protocol.StartMessage
	// StartJSON is the start message decoded without the protocol's types,
	// to check the wire's own field names.
	StartJSON map[string]any
	Media     []protocol.MediaMessage
	Stop      *protocol.StopMessage
	// CloseCode is the code of the emulator's close frame, or 1006 when its
	// side ended without one; 0 while the connection is open or when the app
	// ended it.
	CloseCode int
	// CloseError is what ended the app's reading (nil while it reads).
	CloseError error
}

// BasicAuth is the Basic auth of the upgrade request.
func (s Stream) BasicAuth() (user, password string, ok bool) {
	return (&http.Request{Header: s.Header}).BasicAuth()
}

// Frames counts the media messages per track.
func (s Stream) Frames() map[string]int {
	out := map[string]int{}
	for _, m := range s.Media {
		out[m.Track]++
	}
	return out
}

// MediaOn is the media messages of one track.
func (s Stream) MediaOn(track string) []protocol.MediaMessage {
	var out []protocol.MediaMessage
	for _, m := range s.Media {
		if m.Track == track {
			out = append(out, m)
		}
	}
	return out
}

// WS is a fake app's WebSocket server that behaves as told and records
// every stream. NewWS starts one on a server of its own. The zero value is
// a correct app for a server the spec starts itself (ServeHTTP); it has no
// URL or Close: its connections end when the emulator's do.
type WS struct {
	server
	behaviours []Behaviour
	upgrader   websocket.Upgrader

	mu         sync.Mutex
	handshakes int
	streams    []*Stream
	conns      []net.Conn
	closed     bool
	wg         sync.WaitGroup
	quit       chan struct{}
	closeOnce  sync.Once
}

// NewWS starts a fake app on ws://127.0.0.1:0 that acts as bs say, closed
// when the spec ends.
func NewWS(bs ...Behaviour) *WS { return newWS(false, bs) }

// NewTLSWS is NewWS on wss:// with httptest's self-signed certificate; see
// CertPool and CAFile.
func NewTLSWS(bs ...Behaviour) *WS { return newWS(true, bs) }

func newWS(withTLS bool, bs []Behaviour) *WS {
	a := &WS{behaviours: bs, quit: make(chan struct{})}
	a.start(a, withTLS)
	DeferCleanup(a.Close)
	return a
}

// URL is the app's media socket: ws://127.0.0.1:port/media (wss:// with
// TLS).
func (a *WS) URL() string { return "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/media" }

// Handshakes counts the upgrade requests, refused ones included.
func (a *WS) Handshakes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.handshakes
}

// Streams returns copies of the streams seen so far, in arrival order.
func (a *WS) Streams() []Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Stream, len(a.streams))
	for i, s := range a.streams {
		out[i] = *s
		out[i].EventTypes = append([]string(nil), s.EventTypes...)
		out[i].Media = append([]protocol.MediaMessage(nil), s.Media...)
	}
	return out
}

// First is the first stream seen, or an empty one while there is none.
func (a *WS) First() Stream {
	if ss := a.Streams(); len(ss) > 0 {
		return ss[0]
	}
	return Stream{}
}

// Close stops the server, ends every connection and waits for their
// handlers. It may be called more than once.
func (a *WS) Close() {
	a.closeOnce.Do(func() {
		close(a.quit)
		a.srv.Close()
		a.mu.Lock()
		a.closed = true
		for _, c := range a.conns {
			_ = c.Close()
		}
		a.mu.Unlock()
		a.wg.Wait()
	})
}

// ServeHTTP serves one upgrade request.
func (a *WS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	// Added while the server still counts the request, so Close's Wait
	// cannot miss it.
	a.wg.Add(1)
	defer a.wg.Done()
	p := a.handshake()
	if p.refuse != 0 {
		http.Error(w, "go away", p.refuse)
		return
	}
	// Recorded before the upgrade is answered: once the emulator has
	// connected, a spec can read the stream here.
	rec := &Stream{Header: r.Header.Clone()}
	a.mu.Lock()
	a.streams = append(a.streams, rec)
	a.mu.Unlock()
	ws, err := a.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	if !a.track(ws.NetConn()) {
		return
	}
	a.onClose(ws, rec, p.ignoreClose)
	a.read(&conn{ws: ws, quit: a.quit}, rec, p)
}

// handshake counts an upgrade request and plans its connection.
func (a *WS) handshake() plan {
	a.mu.Lock()
	a.handshakes++
	p := plan{n: a.handshakes}
	a.mu.Unlock()
	p.apply(a.behaviours)
	return p
}

// track remembers a connection for Close; false when the app has closed.
func (a *WS) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.conns = append(a.conns, c)
	return true
}

// onClose records the emulator's close code before the app answers the
// close frame (or, ignoring it, does not).
func (a *WS) onClose(ws *websocket.Conn, rec *Stream, ignore bool) {
	answer := ws.CloseHandler()
	ws.SetCloseHandler(func(code int, text string) error {
		a.mu.Lock()
		rec.CloseCode = code
		a.mu.Unlock()
		if ignore {
			return nil
		}
		return answer(code, text)
	})
}

// read records every message and runs the plan's actions when they are
// due, until the connection ends.
func (a *WS) read(c *conn, rec *Stream, p plan) {
	done := make([]bool, len(p.actions))
	// due runs the actions whose moment has come; true when one ended the
	// connection.
	due := func(now int) bool {
		for i, act := range p.actions {
			if done[i] || !reached(act.at, now) {
				continue
			}
			done[i] = true
			if act.run(c) {
				return true
			}
		}
		return false
	}
	frames, started := 0, false
	for {
		if started && due(frames) {
			return
		}
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			a.ended(rec, err)
			if p.ignoreClose {
				// Held open, silent, until the emulator closes it (or the app
				// does).
				_, _ = io.Copy(io.Discard, c.ws.NetConn())
			}
			return
		}
		switch a.record(rec, mt, data) {
		case protocol.EventStart:
			started = true
		case protocol.EventMedia:
			frames++
		case protocol.EventStop:
			if due(atStop) {
				return
			}
		}
	}
}

// reached says whether an action's moment has come: the stop message, or
// enough media frames.
func reached(at, now int) bool {
	if at == atStop || now == atStop {
		return at == now
	}
	return now >= at
}

// record adds one message to the stream and returns its eventType.
func (a *WS) record(rec *Stream, mt int, data []byte) string {
	Expect(mt).To(Equal(websocket.TextMessage), "the emulator sends text messages only")
	var probe struct {
		EventType string `json:"eventType"`
	}
	Expect(json.Unmarshal(data, &probe)).To(Succeed())
	a.mu.Lock()
	defer a.mu.Unlock()
	rec.EventTypes = append(rec.EventTypes, probe.EventType)
	switch probe.EventType {
	case protocol.EventStart:
		Expect(json.Unmarshal(data, &rec.Start)).To(Succeed())
		Expect(json.Unmarshal(data, &rec.StartJSON)).To(Succeed())
	case protocol.EventMedia:
		var m protocol.MediaMessage
		Expect(json.Unmarshal(data, &m)).To(Succeed())
		rec.Media = append(rec.Media, m)
	case protocol.EventStop:
		rec.Stop = &protocol.StopMessage{}
		Expect(json.Unmarshal(data, rec.Stop)).To(Succeed())
	}
	return probe.EventType
}

// ended records what ended the app's reading.
func (a *WS) ended(rec *Stream, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec.CloseError = err
	if ce, ok := err.(*websocket.CloseError); ok && rec.CloseCode == 0 {
		rec.CloseCode = ce.Code
	}
}

// HaveStartMediaStop matches a Stream whose messages were the start, any
// number of media, then the stop: a stream the emulator ended properly.
func HaveStartMediaStop() types.GomegaMatcher {
	return WithTransform(func(s Stream) []string { return s.EventTypes }, Satisfy(func(kinds []string) bool {
		n := len(kinds)
		if n < 2 || kinds[0] != protocol.EventStart || kinds[n-1] != protocol.EventStop {
			return false
		}
		for _, t := range kinds[1 : n-1] {
			if t != protocol.EventMedia {
				return false
			}
		}
		return true
	}))
}
