// Package transcriber is an example Bandwidth stream consumer and its
// Ginkgo suite, written to be copied: a toy "transcriber" that listens to a
// call's inbound audio and writes down the tones it hears, and specs that
// drive it with bwemu exactly as Bandwidth would.
//
// The app does what every consumer must: accept the WebSocket, read start,
// media and stop, answer the close handshake, answer every webhook with
// 204 (idempotently), and keep serving after any fault. Its "transcript"
// (GET /transcript/{callId}) says which tone it heard and for how long, so
// a spec can check the app understood the audio it was sent.
package transcriber

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/zaf/g711"
)

// App is the transcriber's HTTP handler: /media, /events, /disconnect,
// /transcript/{callId}.
type App struct {
	mux      *http.ServeMux
	upgrader websocket.Upgrader

	mu          sync.Mutex
	transcripts map[string]*Transcript
	events      map[string]bool // delivered events, for idempotency
	conns       sync.WaitGroup
}

// Transcript is what the app understood of a call.
type Transcript struct {
	CallID  string  `json:"callId"`
	Text    string  `json:"text"`
	Seconds float64 `json:"seconds"`
	Stopped bool    `json:"stopped"`

	samples   int
	crossings int
	last      int16
}

// New returns the app.
func New() *App {
	a := &App{mux: http.NewServeMux(), transcripts: map[string]*Transcript{}, events: map[string]bool{}}
	a.mux.HandleFunc("GET /media", a.media)
	a.mux.HandleFunc("POST /events", a.event)
	a.mux.HandleFunc("GET /events", a.event)
	// The call's disconnectUrl: Bandwidth sends disconnect there, never
	// to a stream's streamEventUrl.
	a.mux.HandleFunc("POST /disconnect", a.event)
	a.mux.HandleFunc("GET /transcript/{callId}", a.transcript)
	return a
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Wait blocks until every WebSocket handler has returned.
func (a *App) Wait() { a.conns.Wait() }

type message struct {
	EventType string `json:"eventType"`
	Metadata  struct {
		CallID string `json:"callId"`
	} `json:"metadata"`
	Track   string `json:"track"`
	Payload string `json:"payload"`
}

func (a *App) media(w http.ResponseWriter, r *http.Request) {
	conn, err := a.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	a.conns.Add(1)
	defer a.conns.Done()
	defer conn.Close()
	var t *Transcript
	for {
		// ReadMessage answers the emulator's close frame for us, then fails.
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue // a bad frame is ignored, never fatal
		}
		switch m.EventType {
		case "start":
			t = a.begin(m.Metadata.CallID)
		case "media":
			if t != nil && m.Track == "inbound" {
				if pcm, err := base64.StdEncoding.DecodeString(m.Payload); err == nil {
					a.listen(t, pcm)
				}
			}
		case "stop":
			if t != nil {
				a.mu.Lock()
				t.Stopped = true
				a.mu.Unlock()
			}
		}
	}
}

func (a *App) begin(callID string) *Transcript {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := &Transcript{CallID: callID}
	a.transcripts[callID] = t
	return t
}

// listen estimates the tone's pitch from zero crossings: enough to tell a
// 440 Hz tone from silence, which is all an example needs.
func (a *App) listen(t *Transcript, pcmu []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range pcmu {
		s := g711.DecodeUlawFrame(b)
		if (s >= 0) != (t.last >= 0) {
			t.crossings++
		}
		t.last = s
		t.samples++
	}
	t.Seconds = float64(t.samples) / 8000
	hz := float64(t.crossings) / 2 / t.Seconds
	t.Text = fmt.Sprintf("a %d Hz tone for %.1f seconds", int(math.Round(hz/10)*10), t.Seconds)
}

func (a *App) event(w http.ResponseWriter, r *http.Request) {
	key := r.URL.RawQuery
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || !json.Valid(body) {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		key = string(body)
	}
	a.mu.Lock()
	a.events[key] = true // a duplicate delivery changes nothing
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (a *App) transcript(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	t, ok := a.transcripts[r.PathValue("callId")]
	var out Transcript
	if ok {
		out = *t
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
