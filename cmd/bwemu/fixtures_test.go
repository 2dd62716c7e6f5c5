package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// fastFlags keep every stream short: media as fast as the app reads and
// every timeout well under a second, so failures are found quickly.
var fastFlags = []string{
	"--pace", "fast",
	"--close-timeout", "300ms",
	"--callback-timeout", "300ms",
	"--dead-peer-timeout", "200ms",
	"--handshake-timeout", "300ms",
}

// outcome is what one in-process run of the CLI produced.
type outcome struct {
	code           int
	stdout, stderr string
}

// bwemu runs the CLI in-process, as a user would from a shell.
func bwemu(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	// Shown when a spec fails, so the whole account is at hand.
	AddReportEntry("bwemu "+strings.Join(args, " "), ReportEntryVisibilityFailureOrVerbose,
		"exit "+itoa(code)+"\n--- stdout\n"+stdout.String()+"--- stderr\n"+stderr.String())
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// stream runs `bwemu stream` with fastFlags and then args.
func stream(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append(append([]string{"stream"}, fastFlags...), args...)...)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// ---------------------------------------------------------------------------
// The fake app's WebSocket server.

// wsOptions choose how the fake app's WebSocket server misbehaves.
type wsOptions struct {
	// status, when not 0, answers the upgrade request with this HTTP status.
	status int
	// dropAfter, when not 0, closes the TCP connection without a close frame
	// once that many media frames have arrived.
	dropAfter int
	// ignoreClose never answers the emulator's close frame; the connection
	// stays open until the emulator gives up and closes it.
	ignoreClose bool
	// onStart runs on the handler goroutine right after the start message,
	// e.g. to send playAudio back.
	onStart func(c *websocket.Conn)
}

// wsApp is a WebSocket server on 127.0.0.1 that records what it received.
type wsApp struct {
	URL  string
	opts wsOptions

	mu         sync.Mutex
	handshakes int
	user, pass string
	hasAuth    bool
	start      map[string]any
	eventTypes []string // every message's eventType, in order
	frames     map[string]int
	seqNumbers []string
	closeCode  int // the close code the emulator sent, 0 when none arrived
}

func newWSApp(opts wsOptions) *wsApp {
	GinkgoHelper()
	a := &wsApp{opts: opts, frames: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	DeferCleanup(srv.Close)
	a.URL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/media?tenant=acme"
	return a
}

func (a *wsApp) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.handshakes++
	a.user, a.pass, a.hasAuth = r.BasicAuth()
	a.mu.Unlock()
	if a.opts.status != 0 {
		http.Error(w, "go away", a.opts.status)
		return
	}
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if a.opts.ignoreClose {
		c.SetCloseHandler(func(code int, _ string) error {
			a.mu.Lock()
			a.closeCode = code
			a.mu.Unlock()
			return nil // no close frame back
		})
	} else {
		def := c.CloseHandler()
		c.SetCloseHandler(func(code int, text string) error {
			a.mu.Lock()
			a.closeCode = code
			a.mu.Unlock()
			return def(code, text)
		})
	}
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			if a.opts.ignoreClose {
				// Hold the connection open, silent, until the emulator
				// closes it (bounded, so a bug cannot hang the suite).
				nc := c.UnderlyingConn()
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(io.Discard, nc)
			}
			return
		}
		var m struct {
			EventType      string `json:"eventType"`
			Track          string `json:"track"`
			SequenceNumber string `json:"sequenceNumber"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		a.mu.Lock()
		a.eventTypes = append(a.eventTypes, m.EventType)
		var frames int
		switch m.EventType {
		case "start":
			var start map[string]any
			_ = json.Unmarshal(data, &start)
			a.start = start
		case "media":
			a.frames[m.Track]++
			a.seqNumbers = append(a.seqNumbers, m.SequenceNumber)
			frames = len(a.seqNumbers)
		}
		a.mu.Unlock()
		if m.EventType == "start" && a.opts.onStart != nil {
			a.opts.onStart(c)
		}
		if a.opts.dropAfter > 0 && frames == a.opts.dropAfter {
			// Gone without a close frame, like a crashed process.
			_ = c.UnderlyingConn().Close()
			return
		}
	}
}

// Start is the start message the app received (nil when none).
func (a *wsApp) Start() map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.start
}

// EventTypes is the eventType of every message received, in order.
func (a *wsApp) EventTypes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.eventTypes...)
}

// Frames counts the media messages received per track.
func (a *wsApp) Frames() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.frames {
		out[k] = v
	}
	return out
}

// SequenceNumbers is every media message's sequenceNumber, in order.
func (a *wsApp) SequenceNumbers() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seqNumbers...)
}

// CloseCode is the close code the emulator sent (0 for none).
func (a *wsApp) CloseCode() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closeCode
}

// Auth is the Basic auth of the last handshake.
func (a *wsApp) Auth() (user, pass string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user, a.pass, a.hasAuth
}

// Handshakes counts the upgrade requests.
func (a *wsApp) Handshakes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.handshakes
}

// ---------------------------------------------------------------------------
// The fake app's webhook server.

// hook is one webhook request the fake app received.
type hook struct {
	Method      string
	ContentType string
	Query       url.Values
	Body        map[string]any
	User, Pass  string
	HasAuth     bool
}

// What says "eventType" or "eventType (cause)" for order assertions.
func (h hook) What() string {
	et, _ := h.Body["eventType"].(string)
	if et == "" {
		et = h.Query.Get("eventType")
	}
	cause, _ := h.Body["cause"].(string)
	if cause == "" {
		cause = h.Query.Get("cause")
	}
	if cause != "" && et != "disconnect" {
		return et + " (" + cause + ")"
	}
	return et
}

// eventsApp answers webhooks with a fixed status and records them.
type eventsApp struct {
	URL    string
	status int
	// slow makes every request wait until the emulator gives up on it (or
	// the spec ends): a webhook slower than --callback-timeout.
	slow    bool
	release chan struct{}

	mu    sync.Mutex
	hooks []hook
}

func newEventsApp(status int) *eventsApp {
	GinkgoHelper()
	e := &eventsApp{status: status, release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(e.serve))
	DeferCleanup(func() {
		close(e.release) // let a slow handler return, then close
		srv.Close()
	})
	e.URL = srv.URL + "/bandwidth/stream-events"
	return e
}

// newTLSEventsApp is an eventsApp served over https with httptest's
// self-signed certificate; caFile is that certificate as PEM.
func newTLSEventsApp(status int) (app *eventsApp, caFile string) {
	GinkgoHelper()
	e := &eventsApp{status: status, release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	// Refused TLS handshakes are expected: keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	DeferCleanup(func() {
		close(e.release)
		srv.Close()
	})
	e.URL = srv.URL + "/bandwidth/stream-events"
	caFile = filepath.Join(GinkgoT().TempDir(), "ca.pem")
	Expect(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)).To(Succeed())
	return e, caFile
}

func newSlowEventsApp() *eventsApp {
	GinkgoHelper()
	e := newEventsApp(http.StatusNoContent)
	e.slow = true
	return e
}

func (e *eventsApp) serve(w http.ResponseWriter, r *http.Request) {
	h := hook{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query()}
	h.User, h.Pass, h.HasAuth = r.BasicAuth()
	body, _ := io.ReadAll(r.Body)
	if len(body) > 0 {
		_ = json.Unmarshal(body, &h.Body)
	}
	e.mu.Lock()
	e.hooks = append(e.hooks, h)
	e.mu.Unlock()
	if e.slow {
		select {
		case <-e.release:
		case <-r.Context().Done(): // the emulator timed out and hung up
		}
		return
	}
	w.WriteHeader(e.status)
	if e.status == http.StatusInternalServerError {
		_, _ = io.WriteString(w, "boom")
	}
}

// Hooks is every webhook received, in order.
func (e *eventsApp) Hooks() []hook {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]hook(nil), e.hooks...)
}

// Whats is What() of every webhook received, in order.
func (e *eventsApp) Whats() []string {
	var out []string
	for _, h := range e.Hooks() {
		out = append(out, h.What())
	}
	return out
}

// ---------------------------------------------------------------------------
// Other fixtures.

// refusedURL is a ws:// URL where nothing listens.
func refusedURL() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	Expect(ln.Close()).To(Succeed())
	return "ws://" + addr + "/media"
}

// writeWAV writes seconds of a 16-bit 16 kHz mono sine at hz with
// go-audio/wav's Encoder and returns its path.
func writeWAV(name string, hz float64, seconds float64) string {
	GinkgoHelper()
	const rate = 16000
	path := filepath.Join(GinkgoT().TempDir(), name)
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	n := int(seconds * rate)
	data := make([]int, n)
	for i := range data {
		data[i] = int(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	enc := wav.NewEncoder(f, rate, 16, 1, 1)
	Expect(enc.Write(&audio.IntBuffer{
		Format:         &audio.Format{NumChannels: 1, SampleRate: rate},
		Data:           data,
		SourceBitDepth: 16,
	})).To(Succeed())
	Expect(enc.Close()).To(Succeed())
	Expect(f.Close()).To(Succeed())
	return path
}

// lines splits output into lines without the trailing empty one.
func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
