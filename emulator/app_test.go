package emulator_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// behaviour is how a test app's WebSocket handler acts; the zero value is a
// correct consumer that reads until the emulator closes.
type behaviour struct {
	// status, when set, answers the upgrade with this status instead of 101.
	status int
	// afterFrames is how many media frames to read before the action below.
	afterFrames int
	closeCode   int  // send a close frame with this code
	hangUp      bool // close TCP without a close frame
	resetTCP    bool // close with SO_LINGER 0 (RST)
	stopReading bool // never read again
	ignoreClose bool // never answer the emulator's close frame
	send        []string
	sendBinary  bool
	// On the stop message: close with this code, or drop the connection.
	closeOnStop  int
	hangUpOnStop bool
	// finOnStop shuts the app's side of the TCP connection right after
	// its close frame (a FIN), without waiting for the emulator's.
	finOnStop bool
}

// received is one stream as a test app saw it.
type received struct {
	Header     http.Header
	Start      protocol.StartMessage
	Media      []protocol.MediaMessage
	Stop       *protocol.StopMessage
	CloseCode  int
	CloseError error
}

// testApp is a WebSocket server on 127.0.0.1:0 that behaves as told and
// records what it got.
type testApp struct {
	srv *httptest.Server
	b   behaviour

	mu      sync.Mutex
	streams []*received
	conns   []net.Conn
	wg      sync.WaitGroup
	closed  chan struct{}
}

func newTestApp(b behaviour) *testApp {
	a := &testApp{b: b, closed: make(chan struct{})}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	DeferCleanup(a.Close)
	return a
}

func (a *testApp) URL() string { return "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/media" }

func (a *testApp) Close() {
	select {
	case <-a.closed:
		return
	default:
	}
	close(a.closed)
	a.mu.Lock()
	for _, c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.srv.Close()
	a.wg.Wait()
}

// first is the first stream seen, or an empty record while there is none
// (the handler may still be between the upgrade and recording it).
func (a *testApp) first() received {
	if ss := a.Streams(); len(ss) > 0 {
		return ss[0]
	}
	return received{}
}

// Streams returns copies of the streams seen so far.
func (a *testApp) Streams() []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]received, len(a.streams))
	for i, r := range a.streams {
		out[i] = *r
		out[i].Media = append([]protocol.MediaMessage(nil), r.Media...)
	}
	return out
}

func (a *testApp) serve(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	if a.b.status != 0 {
		http.Error(w, "go away", a.b.status)
		return
	}
	// The stream is recorded before the upgrade is answered: once the
	// emulator's side has connected, a spec can read it here.
	rec := &received{Header: r.Header.Clone()}
	a.mu.Lock()
	a.streams = append(a.streams, rec)
	a.mu.Unlock()
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	a.wg.Add(1)
	defer a.wg.Done()
	a.mu.Lock()
	a.conns = append(a.conns, conn.NetConn())
	a.mu.Unlock()
	defer conn.Close()
	if a.b.ignoreClose {
		conn.SetCloseHandler(func(int, string) error { return nil })
	}
	frames := 0
	b := a.b // each connection acts once on its own copy
	for {
		if frames >= b.afterFrames && a.act(conn, &b) {
			return
		}
		mt, data, err := conn.ReadMessage()
		if err != nil {
			a.mu.Lock()
			rec.CloseError = err
			if ce, ok := err.(*websocket.CloseError); ok {
				rec.CloseCode = ce.Code
			}
			a.mu.Unlock()
			if a.b.ignoreClose {
				<-a.closed
			}
			return
		}
		Expect(mt).To(Equal(websocket.TextMessage))
		var probe struct{ EventType string }
		Expect(json.Unmarshal(data, &probe)).To(Succeed())
		a.mu.Lock()
		switch probe.EventType {
		case "start":
			Expect(json.Unmarshal(data, &rec.Start)).To(Succeed())
		case "media":
			var m protocol.MediaMessage
			Expect(json.Unmarshal(data, &m)).To(Succeed())
			rec.Media = append(rec.Media, m)
			frames++
		case "stop":
			rec.Stop = &protocol.StopMessage{}
			Expect(json.Unmarshal(data, rec.Stop)).To(Succeed())
		}
		a.mu.Unlock()
		if probe.EventType == "stop" && b.closeOnStop != 0 {
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(b.closeOnStop, "not done"), time.Now().Add(time.Second))
			if b.finOnStop {
				_ = conn.NetConn().(*net.TCPConn).CloseWrite()
			}
		}
		if probe.EventType == "stop" && b.hangUpOnStop {
			conn.NetConn().Close()
			return
		}
	}
}

// act carries out the behaviour's action once; true ends the handler.
func (a *testApp) act(conn *websocket.Conn, b *behaviour) bool {
	for _, s := range b.send {
		mt := websocket.TextMessage
		if b.sendBinary {
			mt = websocket.BinaryMessage
		}
		Expect(conn.WriteMessage(mt, []byte(s))).To(Succeed())
	}
	b.send = nil
	switch {
	case b.closeCode != 0:
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(b.closeCode, "bye"), time.Now().Add(time.Second))
		b.closeCode = 0 // then read on until the emulator answers the close frame
		return false
	case b.hangUp:
		conn.NetConn().Close()
		return true
	case b.resetTCP:
		conn.NetConn().(*net.TCPConn).SetLinger(0)
		conn.NetConn().Close()
		return true
	case b.stopReading:
		// A tiny receive window makes the emulator's writes block soon.
		conn.NetConn().(*net.TCPConn).SetReadBuffer(1)
		<-a.closed
		return true
	}
	return false
}

// silentListener accepts TCP connections and never answers the upgrade.
func silentListener() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	DeferCleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "ws://" + ln.Addr().String() + "/media"
}

// refusedURL is a loopback address where nothing listens.
func refusedURL() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	ln.Close()
	return "ws://" + addr + "/media"
}

// hook is one webhook request an events server received.
type hook struct {
	Method string
	Path   string
	Auth   string
	Query  map[string][]string
	Body   []byte
	Event  *protocol.Event
}

// eventsServer records webhooks and answers with status after delay.
type eventsServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hooks  []hook
	status int
	delay  time.Duration
	// dropFirst closes the connection without an answer for the first N requests.
	dropFirst int
	quit      chan struct{}
}

func newEventsServer(status int) *eventsServer {
	s := &eventsServer{status: status, quit: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	DeferCleanup(func() { close(s.quit); s.srv.CloseClientConnections(); s.srv.Close() })
	return s
}

func (s *eventsServer) URL() string { return s.srv.URL + "/events" }

func (s *eventsServer) serve(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	body, _ := io.ReadAll(r.Body)
	ev, err := protocol.DecodeEvent(r.Method, r.URL.Query(), body)
	s.mu.Lock()
	s.hooks = append(s.hooks, hook{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Query: r.URL.Query(), Body: body, Event: ev})
	drop := s.dropFirst > 0
	if drop {
		s.dropFirst--
	}
	delay := s.delay
	s.mu.Unlock()
	Expect(err).NotTo(HaveOccurred())
	if drop {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	select {
	case <-time.After(delay):
	case <-s.quit:
	}
	w.WriteHeader(s.status)
}

func (s *eventsServer) Hooks() []hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hook(nil), s.hooks...)
}

func (s *eventsServer) Events() []string {
	var out []string
	for _, h := range s.Hooks() {
		out = append(out, h.Event.EventType)
	}
	return out
}

// jsonlBuffer collects a journal export.
type jsonlBuffer struct{ strings.Builder }

type protocolParam = protocol.StreamParam

func thirteenParams() []protocol.StreamParam {
	var out []protocol.StreamParam
	for i := range 13 {
		out = append(out, protocol.StreamParam{Name: string(rune('a' + i)), Value: "v"})
	}
	return out
}
