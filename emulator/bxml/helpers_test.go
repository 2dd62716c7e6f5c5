package bxml_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// appRequest is one request the app got.
type appRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Event decodes the webhook the request carried (JSON body or query).
func (q appRequest) Event() *protocol.Event {
	ev, err := protocol.DecodeEvent(q.Method, q.Query, q.Body)
	Expect(err).NotTo(HaveOccurred())
	return ev
}

// reply is how the app answers one path.
type reply struct {
	status      int
	body        string
	contentType string
	// hold, when set, delays the answer until it is closed.
	hold chan struct{}
	// never answers at all (until the client gives up).
	never bool
}

// bxmlApp is the HTTP side of the app under test on 127.0.0.1: BXML per
// path, 204 for any path ending in /events, and a record of every request.
type bxmlApp struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies map[string]reply
	reqs    []appRequest
}

func newBXMLApp() *bxmlApp {
	a := &bxmlApp{replies: map[string]reply{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	DeferCleanup(a.srv.Close)
	return a
}

func (a *bxmlApp) URL(path string) string { return a.srv.URL + path }

// Serve answers path with 200 and the BXML document.
func (a *bxmlApp) Serve(path, doc string) {
	a.Answer(path, reply{status: http.StatusOK, body: doc, contentType: "application/xml"})
}

func (a *bxmlApp) Answer(path string, r reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.replies[path] = r
}

func (a *bxmlApp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, appRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	rep, ok := a.replies[r.URL.Path]
	a.mu.Unlock()
	switch {
	case ok:
	case strings.HasSuffix(r.URL.Path, "/events"):
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		http.NotFound(w, r)
		return
	}
	if rep.never {
		<-r.Context().Done()
		return
	}
	if rep.hold != nil {
		select {
		case <-rep.hold:
		case <-r.Context().Done():
			return
		}
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// Requests returns the requests to path so far.
func (a *bxmlApp) Requests(path string) []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []appRequest
	for _, q := range a.reqs {
		if q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// Events returns the webhooks posted to path, decoded.
func (a *bxmlApp) Events(path string) []*protocol.Event {
	var out []*protocol.Event
	for _, q := range a.Requests(path) {
		out = append(out, q.Event())
	}
	return out
}

// Disconnect returns the disconnect webhook posted to /events.
func (a *bxmlApp) Disconnect() *protocol.Event {
	var found []*protocol.Event
	for _, ev := range a.Events("/events") {
		if ev.EventType == protocol.EventDisconnect {
			found = append(found, ev)
		}
	}
	Expect(found).To(HaveLen(1), "one disconnect webhook")
	return found[0]
}

// wsApp is a tiny WebSocket app: it records each handshake's headers and
// the media it gets; with closeAfterStart it closes with 1000 right after
// the start message, as an app does when its conversation is over.
type wsApp struct {
	srv             *httptest.Server
	closeAfterStart bool

	mu      sync.Mutex
	closed  bool
	headers []http.Header
	media   []protocol.MediaMessage
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newWSApp(closeAfterStart bool) *wsApp {
	a := &wsApp{closeAfterStart: closeAfterStart}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	DeferCleanup(a.Close)
	return a
}

func (a *wsApp) URL() string { return "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/media" }

func (a *wsApp) Close() {
	a.mu.Lock()
	a.closed = true
	for _, c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.srv.Close()
	a.wg.Wait()
}

func (a *wsApp) Headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.headers...)
}

// Media returns the media messages received on track.
func (a *wsApp) Media(track string) []protocol.MediaMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []protocol.MediaMessage
	for _, m := range a.media {
		if m.Track == track {
			out = append(out, m)
		}
	}
	return out
}

func (a *wsApp) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		conn.Close()
		return
	}
	a.wg.Add(1)
	defer a.wg.Done()
	a.headers = append(a.headers, r.Header.Clone())
	a.conns = append(a.conns, conn.NetConn())
	a.mu.Unlock()
	defer conn.Close()

	if _, _, err := conn.ReadMessage(); err != nil { // start
		return
	}
	if a.closeAfterStart {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done talking"), time.Now().Add(time.Second))
	}
	for { // until the close handshake ends
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var m protocol.MediaMessage
		if json.Unmarshal(data, &m) == nil && m.EventType == protocol.EventMedia {
			a.mu.Lock()
			a.media = append(a.media, m)
			a.mu.Unlock()
		}
	}
}

// audible counts the messages whose payload is not µ-law silence.
func audible(ms []protocol.MediaMessage) int {
	n := 0
	for _, m := range ms {
		pcm, err := base64.StdEncoding.DecodeString(m.Payload)
		Expect(err).NotTo(HaveOccurred())
		if len(bytes.Trim(pcm, "\xff")) > 0 {
			n++
		}
	}
	return n
}

// wav is a 16-bit mono 8 kHz WAV file of a 1 kHz tone lasting d.
func wav(d time.Duration) []byte {
	n := int(d.Seconds() * 8000)
	var pcm bytes.Buffer
	for i := range n {
		_ = binary.Write(&pcm, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*1000*float64(i)/8000)))
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + pcm.Len()))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))    // PCM
	w(uint16(1))    // mono
	w(uint32(8000)) // sample rate
	w(uint32(16000))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(pcm.Len()))
	b.Write(pcm.Bytes())
	return b.Bytes()
}

// entries returns the journal entries that match.
func entries(e *emulator.Emulator, match func(emulator.Entry) bool) []emulator.Entry {
	var out []emulator.Entry
	for _, en := range e.Journal().Entries() {
		if match(en) {
			out = append(out, en)
		}
	}
	return out
}

// one returns the only journal entry that matches.
func one(e *emulator.Emulator, match func(emulator.Entry) bool) emulator.Entry {
	found := entries(e, match)
	ExpectWithOffset(1, found).To(HaveLen(1))
	return found[0]
}

// verbEntry matches the entry journaled as the verb starts.
func verbEntry(verb string) func(emulator.Entry) bool {
	return func(en emulator.Entry) bool {
		return en.Kind == "bxml" && en.Event == verb && strings.HasPrefix(en.Message, "<"+verb)
	}
}

func callEnded(en emulator.Entry) bool {
	return en.Kind == emulator.KindCall && strings.HasPrefix(en.Message, "call ended")
}

func callAnswered(en emulator.Entry) bool {
	return en.Kind == emulator.KindCall && strings.HasSuffix(en.Message, "answered")
}
