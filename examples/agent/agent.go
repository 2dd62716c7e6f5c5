// Package agent is an example bidirectional Bandwidth media-stream app: a
// voice agent with the AI left out, written the way a Bandwidth customer
// writes one, with its Ginkgo suite and scenario file.
//
// The agent listens to the caller on a bidirectional stream, notices when
// they finish speaking, and answers with a tone sent back as playAudio.
// When the caller talks over it, it stops and sends clear, so Bandwidth
// drops the rest of the reply (barge-in).
//
// How the pieces fit: ServeHTTP routes /media (the WebSocket Bandwidth
// opens, stream.go), /events and /disconnect (the webhooks, webhooks.go)
// and /metrics (metrics.go). On each stream the handler reads Bandwidth's
// messages and feeds the inbound audio to a speechDetector (speech.go).
// What it hears goes to the stream's speaker (speaker.go), the one
// goroutine that writes to the socket: it waits ReplyDelay, plays the
// reply (reply.go) slightly ahead of real time, and clears it on barge-in.
// Each call also opens a session with a stand-in for the AI service
// (backend.go).
//
// Options switch on three realistic bugs (a slow reply, ignoring
// barge-in, leaking backend sessions when a socket ends abnormally), so
// the suite shows how bwemu catches each.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults for the zero values of Options.
const (
	DefaultToneHz      = 440
	DefaultReplyLength = time.Second
	// DefaultReplyDelay is the agent's "thinking" time after the caller
	// stops: short enough to feel like a conversation, long enough not to
	// jump in on a caller who only paused.
	DefaultReplyDelay = 200 * time.Millisecond
)

// maxReplyLength bounds a reply: the agent renders each reply once, in
// memory, so an absurd length is refused rather than allocated.
const maxReplyLength = time.Minute

// closeGrace is how long Close gives each live stream to answer the
// agent's close frame before it cuts the connection.
const closeGrace = 2 * time.Second

// Options configure an Agent. The zero value is a correct agent with the
// defaults above.
type Options struct {
	// ToneHz is the pitch of the reply tone, above 0 and below 4000 Hz
	// (half the 8 kHz sample rate).
	ToneHz float64
	// ReplyLength is how long each reply lasts.
	ReplyLength time.Duration
	// ReplyDelay is how long the agent waits after the caller stops
	// before it answers. A long one is the slow-backend bug (-slow).
	ReplyDelay time.Duration
	// IgnoreBargeIn is a bug: the agent keeps talking over the caller
	// and never sends clear.
	IgnoreBargeIn bool
	// LeakSessions is a bug: the backend session is closed only when
	// the stream ends cleanly with Bandwidth's stop; a socket that ends
	// any other way (a reset, a 1011, a read error) leaves it open.
	LeakSessions bool
	// Logger receives what the agent does; nil logs nothing.
	Logger *slog.Logger
}

// withDefaults fills in the zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.ToneHz == 0 {
		o.ToneHz = DefaultToneHz
	}
	if o.ReplyLength == 0 {
		o.ReplyLength = DefaultReplyLength
	}
	if o.ReplyDelay == 0 {
		o.ReplyDelay = DefaultReplyDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case math.IsNaN(o.ToneHz) || o.ToneHz <= 0 || o.ToneHz >= sampleRate/2:
		return o, fmt.Errorf("tone %g Hz is out of range: it must be above 0 and below %d Hz (half the %d Hz sample rate)", o.ToneHz, sampleRate/2, sampleRate)
	case o.ReplyLength < 0 || o.ReplyLength > maxReplyLength:
		return o, fmt.Errorf("reply length %s is out of range: it must be above 0 and at most %s", o.ReplyLength, maxReplyLength)
	case o.ReplyLength < time.Second/sampleRate:
		return o, fmt.Errorf("reply length %s is shorter than one sample", o.ReplyLength)
	case o.ReplyDelay < 0:
		return o, fmt.Errorf("reply delay %s is negative", o.ReplyDelay)
	}
	return o, nil
}

// Agent is the voice agent's HTTP handler: /media, /events, /disconnect
// and /metrics. It is safe for concurrent use; each stream runs on the
// goroutine net/http gives its handler, plus one speaker goroutine.
type Agent struct {
	opts     Options
	log      *slog.Logger
	reply    [][]byte // the reply's playAudio messages, 20 ms each, encoded once
	mux      *http.ServeMux
	upgrader websocket.Upgrader
	backend  *backend

	mu       sync.Mutex
	closing  bool
	conns    map[*websocket.Conn]struct{} // live streams, for Close
	sessions map[*backendSession]struct{} // open backend sessions, leaked ones too
	streams  sync.WaitGroup

	replies  atomic.Int64
	bargeIns atomic.Int64
}

// New returns an agent configured by opts, with its backend stand-in
// listening on loopback. Close releases it.
func New(opts Options) (*Agent, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := startBackend()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts:     opts,
		log:      opts.Logger,
		reply:    replyMessages(opts.ToneHz, opts.ReplyLength),
		mux:      http.NewServeMux(),
		backend:  b,
		conns:    map[*websocket.Conn]struct{}{},
		sessions: map[*backendSession]struct{}{},
	}
	a.mux.HandleFunc("GET /media", a.serveMedia)
	a.mux.HandleFunc("POST /events", a.serveStreamEvent)
	// The call's disconnectUrl: Bandwidth sends disconnect there, never
	// to a stream's streamEventUrl.
	a.mux.HandleFunc("POST /disconnect", a.serveDisconnect)
	a.mux.HandleFunc("GET /metrics", a.serveMetrics)
	return a, nil
}

func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Options returns the agent's options, defaults filled in.
func (a *Agent) Options() Options { return a.opts }

// Stats are the agent's counters, as /metrics shows them.
type Stats struct {
	// Streams are the media streams connected now.
	Streams int
	// BackendSessions are the backend sessions open now: one per live
	// call, more when sessions leaked.
	BackendSessions int
	// Replies counts the replies begun; BargeIns those cut short because
	// the caller spoke (each one sent clear).
	Replies  int64
	BargeIns int64
}

// Stats returns the counters now.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{Streams: len(a.conns), BackendSessions: len(a.sessions),
		Replies: a.replies.Load(), BargeIns: a.bargeIns.Load()}
}

// Shutdown ends the agent gracefully: it refuses new streams, sends every
// live stream a close frame (1001, going away), waits until they have
// closed or ctx ends, then cuts what is left and closes the backend and
// every session still open (the ones a leak forgot, as a process exit
// would). It returns ctx's error when it had to cut streams. It does not
// stop the http.Server serving the agent: shut that down first.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	conns := make([]*websocket.Conn, 0, len(a.conns))
	for c := range a.conns {
		conns = append(conns, c)
	}
	a.mu.Unlock()

	goingAway := websocket.FormatCloseMessage(websocket.CloseGoingAway, "the agent is shutting down")
	for _, c := range conns {
		_ = c.WriteControl(websocket.CloseMessage, goingAway, time.Now().Add(time.Second))
	}
	done := make(chan struct{})
	go func() {
		a.streams.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			_ = c.Close() // the handler's read fails and it returns
		}
		<-done
	}

	a.mu.Lock()
	sessions := make([]*backendSession, 0, len(a.sessions))
	for s := range a.sessions {
		sessions = append(sessions, s)
	}
	a.mu.Unlock()
	for _, s := range sessions {
		s.close()
	}
	a.backend.close()
	return err
}

// Close shuts the agent down, giving live streams closeGrace to answer
// its close frame.
func (a *Agent) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	err := a.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // streams that would not close were cut: Close's job
	}
	return err
}

// admit registers a new stream's connection, or refuses it while the agent
// shuts down.
func (a *Agent) admit(c *websocket.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.conns[c] = struct{}{}
	a.streams.Add(1)
	return true
}

func (a *Agent) release(c *websocket.Conn) {
	_ = c.Close()
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
	a.streams.Done()
}
