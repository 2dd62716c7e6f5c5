package consumer

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// Default limits, used where Options leaves a field zero.
const (
	// DefaultCloseTimeout is how long Close waits for a peer to answer the
	// consumer's close frame before dropping the connection.
	DefaultCloseTimeout = 2 * time.Second
	// DefaultWriteTimeout bounds every write on a socket, so a peer that
	// stops reading cannot block the consumer forever.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultReadLimit is the largest message accepted on the socket. A
	// 20 ms media message is about 300 bytes; anything near this limit is
	// not Bandwidth.
	DefaultReadLimit = 1 << 20
	// maxEventBody bounds a webhook body for the same reason.
	maxEventBody = 1 << 20
)

// Options configures a Consumer. The zero value (or nil) is a consumer with
// no authentication, no echo and no logging.
type Options struct {
	// WSUser and WSPassword, when either is set, are the HTTP Basic
	// credentials the WebSocket handshake must carry (StartStream's
	// destinationUsername/destinationPassword).
	WSUser, WSPassword string
	// EventUser and EventPassword, when either is set, are the HTTP Basic
	// credentials every webhook must carry (StartStream's username/password).
	EventUser, EventPassword string
	// Echo plays every inbound media payload back as playAudio on every
	// stream. Without it, only sockets whose URL has echo=1 echo.
	Echo bool
	// Logger receives the consumer's diagnostics; nil discards them.
	Logger *slog.Logger

	// The switches below make the consumer behave like correct apps that
	// differ from the default one, so bwemu's verdicts can be checked
	// against each way of being right.

	// CloseOnStop closes the socket with 1000 as soon as the stop message
	// arrives, instead of waiting for Bandwidth's close frame.
	CloseOnStop bool
	// PostOnly answers webhooks sent as GET with 405: an app that never
	// set streamEventMethod="GET" need not accept them.
	PostOnly bool
	// StrictEvents answers /events only for stream events (mediaStream*)
	// and /disconnect only for disconnect; any other eventType gets 400.
	StrictEvents bool
	// CloseTimeout, WriteTimeout and ReadLimit override the defaults above.
	CloseTimeout time.Duration
	WriteTimeout time.Duration
	ReadLimit    int64
}

// StreamRecord is what the consumer saw on one WebSocket connection. Conn
// numbers connections from 1 in the order they were accepted; the stream
// fields are filled in from the start message.
type StreamRecord struct {
	Conn        int       `json:"conn"`
	RemoteAddr  string    `json:"remoteAddr"`
	RawQuery    string    `json:"rawQuery,omitempty"` // the destination URL's query, e.g. a token
	AuthUser    string    `json:"authUser,omitempty"` // Basic user of the handshake, if any
	Echo        bool      `json:"echo"`
	ConnectedAt time.Time `json:"connectedAt"`

	// From the start message (empty until one arrived).
	Start        *protocol.StartMessage `json:"start,omitempty"`
	CallID       string                 `json:"callId,omitempty"`
	StreamID     string                 `json:"streamId,omitempty"`
	StreamName   string                 `json:"streamName,omitempty"`
	Tracks       []protocol.TrackInfo   `json:"tracks,omitempty"`
	StreamParams protocol.StreamParams  `json:"streamParams,omitempty"`

	// Media accepted (frames with any error are counted in BadFrames only).
	FramesByTrack map[string]int `json:"framesByTrack"`
	BytesByTrack  map[string]int `json:"bytesByTrack"`
	Bytes         int            `json:"bytes"`
	BadFrames     int            `json:"badFrames"`
	EchoedFrames  int            `json:"echoedFrames"`

	// The end of the stream.
	Stop     *protocol.StopMessage `json:"stop,omitempty"`
	StopSeen bool                  `json:"stopSeen"`
	Closed   bool                  `json:"closed"`
	ClosedAt time.Time             `json:"closedAt,omitzero"`
	// CloseCode is the code of the peer's close frame (1005 when it had
	// none); when the consumer started the close and the peer never
	// answered, the code the consumer sent; 1006 when the connection ended
	// without any close frame.
	CloseCode        int    `json:"closeCode,omitempty"`
	CloseText        string `json:"closeText,omitempty"`
	ClosedByConsumer bool   `json:"closedByConsumer,omitempty"`

	// Errors lists every protocol violation seen, in order.
	Errors []string `json:"errors"`
}

func (s StreamRecord) clone() StreamRecord {
	s.Tracks = slices.Clone(s.Tracks)
	s.StreamParams = slices.Clone(s.StreamParams)
	s.FramesByTrack = maps.Clone(s.FramesByTrack)
	s.BytesByTrack = maps.Clone(s.BytesByTrack)
	s.Errors = slices.Clone(s.Errors)
	if s.Start != nil {
		st := *s.Start
		st.Metadata.Tracks = slices.Clone(st.Metadata.Tracks)
		st.StreamParams = slices.Clone(st.StreamParams)
		s.Start = &st
	}
	if s.Stop != nil {
		sp := *s.Stop
		sp.Metadata.Tracks = slices.Clone(sp.Metadata.Tracks)
		s.Stop = &sp
	}
	return s
}

// EventRecord is one distinct webhook delivery. Repeated deliveries of the
// same event (see the package doc) only increase Duplicates.
type EventRecord struct {
	Event      protocol.Event `json:"event"`
	Method     string         `json:"method"`
	AuthUser   string         `json:"authUser,omitempty"`
	ReceivedAt time.Time      `json:"receivedAt"`
	Duplicates int            `json:"duplicates"`
}

func (e EventRecord) clone() EventRecord {
	ev := e.Event
	if ev.MediaStream != nil {
		ms := *ev.MediaStream
		ms.Tracks = slices.Clone(ms.Tracks)
		ev.MediaStream = &ms
	}
	if ev.OriginalStream != nil {
		ms := *ev.OriginalStream
		ms.Tracks = slices.Clone(ms.Tracks)
		ev.OriginalStream = &ms
	}
	e.Event = ev
	return e
}

// Consumer is the reference consumer, an http.Handler serving
// GET /media (WebSocket), POST|GET /events (stream events),
// POST|GET /disconnect (the call's disconnect webhook), GET /health and
// GET /state.
// It is safe for concurrent use.
type Consumer struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	upgrader websocket.Upgrader

	mu       sync.Mutex
	streams  []*stream
	events   []*EventRecord
	eventIdx map[string]*EventRecord
	changed  chan struct{} // made by a waiter, closed on the next change; see notify
	live     map[*stream]struct{}
	closing  bool
	handlers sync.WaitGroup // every /media handler, hijacked or not

	// observer is Observe's function, nil until it is called.
	observer atomic.Pointer[func(Activity)]
}

// New returns a consumer; nil opts means defaults.
func New(opts *Options) *Consumer {
	c := &Consumer{
		eventIdx: map[string]*EventRecord{},
		live:     map[*stream]struct{}{},
	}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.CloseTimeout <= 0 {
		c.opts.CloseTimeout = DefaultCloseTimeout
	}
	if c.opts.WriteTimeout <= 0 {
		c.opts.WriteTimeout = DefaultWriteTimeout
	}
	if c.opts.ReadLimit <= 0 {
		c.opts.ReadLimit = DefaultReadLimit
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Origin checks protect browsers against cross-site WebSocket
		// hijacking. Bandwidth is not a browser and may send any Origin or
		// none; authenticate with credentials instead (see the package doc).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	c.mux = http.NewServeMux()
	c.mux.HandleFunc("GET /media", c.serveMedia)
	c.mux.HandleFunc("POST /events", c.serveEvent)
	c.mux.HandleFunc("GET /events", c.serveEvent)
	c.mux.HandleFunc("POST /disconnect", c.serveDisconnect)
	c.mux.HandleFunc("GET /disconnect", c.serveDisconnect)
	c.mux.HandleFunc("GET /health", c.serveHealth)
	c.mux.HandleFunc("GET /state", c.serveState)
	return c
}

// ServeHTTP implements http.Handler.
func (c *Consumer) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// Streams returns a copy of every stream record, in connection order.
func (c *Consumer) Streams() []StreamRecord { return locked(c, c.streamsLocked) }

func (c *Consumer) streamsLocked() []StreamRecord {
	out := make([]StreamRecord, len(c.streams))
	for i, s := range c.streams {
		out[i] = s.rec.clone()
	}
	return out
}

// Events returns a copy of every distinct webhook received, in arrival order.
func (c *Consumer) Events() []EventRecord { return locked(c, c.eventsLocked) }

// locked returns f's snapshot, taken under the consumer's lock.
func locked[T any](c *Consumer, f func() T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f()
}

func (c *Consumer) eventsLocked() []EventRecord {
	out := make([]EventRecord, len(c.events))
	for i, e := range c.events {
		out[i] = e.clone()
	}
	return out
}

// notify wakes every waiter. Callers hold c.mu. Closing a channel is a
// broadcast that needs no bookkeeping of who is waiting; with no waiter
// there is no channel, so a media frame costs no allocation here.
func (c *Consumer) notify() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// WaitStream blocks until some stream record satisfies match, and returns
// the first that does; it fails only when ctx ends. match runs on copies
// without the consumer's lock held, so it may call the consumer.
func (c *Consumer) WaitStream(ctx context.Context, match func(StreamRecord) bool) (StreamRecord, error) {
	return waitFor(ctx, c, c.streamsLocked, match)
}

// WaitStreamClosed waits until the socket of the stream with this streamId
// (from its start message) has closed, and returns its final record.
func (c *Consumer) WaitStreamClosed(ctx context.Context, streamID string) (StreamRecord, error) {
	return c.WaitStream(ctx, func(r StreamRecord) bool { return r.Closed && r.StreamID == streamID })
}

// WaitEvent blocks until some recorded webhook satisfies match, and returns
// the first that does; it fails only when ctx ends.
func (c *Consumer) WaitEvent(ctx context.Context, match func(EventRecord) bool) (EventRecord, error) {
	return waitFor(ctx, c, c.eventsLocked, match)
}

// waitFor takes snapshots (under the consumer's lock) until one of the
// records satisfies match, waking on every change; match runs unlocked.
func waitFor[T any](ctx context.Context, c *Consumer, snapshot func() []T, match func(T) bool) (T, error) {
	for {
		c.mu.Lock()
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		recs, changed := snapshot(), c.changed
		c.mu.Unlock()
		for _, r := range recs {
			if match(r) {
				return r, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// Close closes every live socket with 1001 (going away), waits up to
// CloseTimeout for each peer to answer the close, and returns once every
// /media handler has finished. Later handshakes are refused with 503. It
// does not stop an http.Server the consumer is mounted in; Server.Close
// does both. Close is safe to call more than once.
func (c *Consumer) Close() error {
	c.mu.Lock()
	c.closing = true
	var live []*stream
	for s := range c.live {
		if s.markGoneAway() {
			live = append(live, s)
		}
	}
	c.mu.Unlock()
	// Say goodbye to all peers at once and without the lock: a write to a
	// peer that stopped reading can take up to CloseTimeout, and that must
	// neither add up over many sockets nor stall the other handlers.
	var wg sync.WaitGroup
	for _, s := range live {
		wg.Go(s.goAway)
	}
	wg.Wait()
	c.handlers.Wait()
	return nil
}

// beginHandler registers a /media handler unless the consumer is closing.
// Add happens under c.mu before closing is set, so Close's Wait can never
// race with an Add from zero.
func (c *Consumer) beginHandler() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.handlers.Add(1)
	return true
}

// checkBasic enforces HTTP Basic credentials when user or password is set.
// It writes 401 and returns false when they are missing or wrong. The
// comparison is constant-time so it does not leak how much of a guess was
// right.
func checkBasic(w http.ResponseWriter, r *http.Request, user, password, realm string) (string, bool) {
	if user == "" && password == "" {
		u, _, _ := r.BasicAuth()
		return u, true
	}
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
	if !ok || !userOK || !passOK {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return "", false
	}
	return u, true
}

func (c *Consumer) serveHealth(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	body := map[string]any{"status": "ok", "streams": len(c.streams), "events": len(c.events)}
	c.mu.Unlock()
	writeJSON(w, body)
}

// State is the JSON document served at GET /state.
type State struct {
	Streams []StreamRecord `json:"streams"`
	Events  []EventRecord  `json:"events"`
}

// State returns a snapshot of everything recorded, as GET /state serves it.
func (c *Consumer) State() State {
	return locked(c, func() State { return State{Streams: c.streamsLocked(), Events: c.eventsLocked()} })
}

func (c *Consumer) serveState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, c.State())
}

func writeJSON(w http.ResponseWriter, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(raw, '\n'))
}

// errClosing is returned to handshakes that arrive during Close.
var errClosing = errors.New("consumer is shutting down")
