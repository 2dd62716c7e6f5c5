package buggy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultWebhookDelay is how long SlowWebhooks waits before answering.
const DefaultWebhookDelay = 3 * time.Second

// LateWebhookDelay is how long HungWebhooks waits before answering: past
// Bandwidth's default callbackTimeout (15 s).
const LateWebhookDelay = 16 * time.Second

// closeWait bounds how long the consumer waits for the peer's answer to a
// close frame it sent itself.
const closeWait = 2 * time.Second

// writeTimeout bounds every write of the consumer.
const writeTimeout = 5 * time.Second

// Options configures a buggy consumer. The zero value (or nil) requires no
// credentials and echoes nothing.
type Options struct {
	// WSUser and WSPassword, when either is set, are the Basic credentials
	// the handshake must carry (NoWSAuth ignores them, AuthAfterUpgrade
	// checks them too late).
	WSUser, WSPassword string
	// EventUser and EventPassword, when either is set, are the Basic
	// credentials every webhook must carry (NoEventAuth ignores them).
	EventUser, EventPassword string
	// Echo plays inbound audio back as playAudio, as a bidirectional app
	// does (the playAudio defects need it; PlayAudioOnUnidirectional sets it).
	Echo bool
	// WebhookDelay is SlowWebhooks' delay; 0 means DefaultWebhookDelay.
	WebhookDelay time.Duration
	// Backend holds a backend session per stream (a loopback TCP
	// connection, as a voice agent holds one to its AI service), opened on
	// start and closed when the stream's socket ends, and serves the gauge
	// MetricName on GET /metrics (LeakOnAbort sets it).
	Backend bool
}

// Server is a buggy consumer on its own loopback listener, serving
// GET /media (WebSocket), POST|GET /events (stream events) and
// POST|GET /disconnect (the call's disconnect webhook).
type Server struct {
	defect Defect
	opts   Options
	ln     net.Listener
	srv    *http.Server
	served chan struct{}
	// done is closed by Close; it releases every handler that waits on
	// purpose (slow answers, wedged handshakes, sockets never read).
	done     chan struct{}
	upgrader websocket.Upgrader

	mu       sync.Mutex
	conns    map[*websocket.Conn]struct{} // hijacked, live
	closing  bool
	handlers sync.WaitGroup // every /media and /events handler
	events   map[string]bool
	// unhealthy: RefuseAfterAbort / RefuseAfterError answer 503 from now on.
	unhealthy bool
	// live counts sockets being served (or being accepted, for
	// OneStreamAtATime, which reserves its one slot before the upgrade).
	live int
	// webhooks counts the webhook requests received.
	webhooks int
	// streamEnded holds, per stream id, a channel closed when that
	// stream's socket has ended (StartedAfterStream).
	streamEnded map[string]chan struct{}
	// backend is where the streams' sessions go (Options.Backend), or nil.
	backend *backend

	once    sync.Once
	closeEr error
}

// Start serves a consumer with defect d on 127.0.0.1:0 until Close.
func Start(d Defect, opts *Options) (*Server, error) {
	if d != None && !known(d) {
		return nil, fmt.Errorf("buggy: unknown defect %q", d)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen: %w", err)
	}
	s := &Server{
		defect: d, ln: ln, served: make(chan struct{}), done: make(chan struct{}),
		conns: map[*websocket.Conn]struct{}{}, events: map[string]bool{}, streamEnded: map[string]chan struct{}{},
		upgrader: websocket.Upgrader{HandshakeTimeout: 10 * time.Second, CheckOrigin: func(*http.Request) bool { return true }},
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.WebhookDelay <= 0 {
		s.opts.WebhookDelay = DefaultWebhookDelay
	}
	if d == PlayAudioOnUnidirectional {
		s.opts.Echo = true
	}
	if d == LeakOnAbort {
		s.opts.Backend = true
	}
	if s.opts.Backend {
		if s.backend, err = startBackend(); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	if d == ListenerDiesOnBrokenHandshake {
		s.ln = &sniffingListener{Listener: ln}
	}
	mux := http.NewServeMux()
	if s.backend != nil {
		mux.HandleFunc("GET /metrics", s.backend.serveMetrics)
	}
	mux.HandleFunc("GET /media", s.track(s.serveMedia))
	mux.HandleFunc("POST /events", s.track(s.serveEvent))
	mux.HandleFunc("GET /events", s.track(s.serveEvent))
	mux.HandleFunc("POST /disconnect", s.track(s.serveEvent))
	mux.HandleFunc("GET /disconnect", s.track(s.serveEvent))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.ln)
	}()
	return s, nil
}

func known(d Defect) bool {
	for _, k := range Defects() {
		if k == d {
			return true
		}
	}
	return false
}

// Defect is the consumer's defect.
func (s *Server) Defect() Defect { return s.defect }

// WebSocketURL is the StartStream destination, ws://host:port/media.
func (s *Server) WebSocketURL() string { return "ws://" + s.ln.Addr().String() + "/media" }

// EventsURL is the streamEventUrl, http://host:port/events.
func (s *Server) EventsURL() string { return "http://" + s.ln.Addr().String() + "/events" }

// Webhooks is how many webhook requests (/events and /disconnect) the
// consumer has received so far, answered or not.
func (s *Server) Webhooks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhooks
}

// MetricsURL is the Prometheus text endpoint with the gauge MetricName,
// http://host:port/metrics; "" without Options.Backend.
func (s *Server) MetricsURL() string {
	if s.backend == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/metrics"
}

// DisconnectURL is the call's disconnectUrl, http://host:port/disconnect.
// It is served as /events is, defects included.
func (s *Server) DisconnectURL() string { return "http://" + s.ln.Addr().String() + "/disconnect" }

// markEnded closes the channel of stream id (once).
func (s *Server) markEnded(id string) {
	ch := s.endedChan(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// endedChan is the channel closed when the socket of stream id ends.
func (s *Server) endedChan(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.streamEnded[id]
	if !ok {
		ch = make(chan struct{})
		s.streamEnded[id] = ch
	}
	return ch
}

// Close stops the listener, releases every waiting handler, closes every
// hijacked connection (without a close frame) and returns once every
// goroutine the server started has ended. It is safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		close(s.done)
		for c := range s.conns {
			_ = c.NetConn().Close()
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close()
		}
		<-s.served
		s.handlers.Wait()
		if s.backend != nil {
			s.backend.close() // leaked sessions too
		}
		s.closeEr = err
	})
	return s.closeEr
}

// track runs h as a counted handler, refusing requests during Close.
func (s *Server) track(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		s.handlers.Add(1)
		s.mu.Unlock()
		defer s.handlers.Done()
		h(w, r)
	}
}

// wait sleeps for d or until Close; false when Close came first.
func (s *Server) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// basicOK reports whether r carries the credentials user/password; any
// request passes when both are empty.
func basicOK(r *http.Request, user, password string) bool {
	if user == "" && password == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
}

func unauthorized(w http.ResponseWriter, realm string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}
