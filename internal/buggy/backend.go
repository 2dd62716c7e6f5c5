package buggy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// MetricName is the gauge of open backend sessions the consumer serves on
// /metrics (Options.Backend), in the Prometheus text format.
const MetricName = "buggy_backend_sessions"

// backendDialTimeout bounds opening a backend session on loopback.
const backendDialTimeout = 2 * time.Second

// backend is the consumer's stand-in for an AI service: a listener on
// loopback in the consumer's own process, to which each stream holds one
// TCP connection, its session, as a voice agent holds a session to its
// speech or language service per call. A session left open is a leak both
// a process's sockets and the gauge show.
type backend struct {
	ln net.Listener
	// wg counts the accept loop and the reader of each accepted connection.
	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	// sessions are the client sides the streams hold, until they close them.
	sessions map[*backendSession]struct{}
	// peers are the accepted sides, each closed when its session is.
	peers map[net.Conn]struct{}
}

// backendSession is one stream's connection to the backend.
type backendSession struct {
	b    *backend
	conn net.Conn
	once sync.Once
}

func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen for the backend: %w", err)
	}
	b := &backend{ln: ln, sessions: map[*backendSession]struct{}{}, peers: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// accept takes each session's connection and holds it until the stream
// closes its end (or the backend closes).
func (b *backend) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return // the listener closed
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			_ = c.Close()
			continue
		}
		b.peers[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.wg.Done()
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
			b.mu.Lock()
			delete(b.peers, c)
			b.mu.Unlock()
		}()
	}
}

// open opens a session for a stream; nil when the backend cannot be
// reached (closing, say): the stream goes on without one.
func (b *backend) open() *backendSession {
	c, err := net.DialTimeout("tcp", b.ln.Addr().String(), backendDialTimeout)
	if err != nil {
		return nil
	}
	s := &backendSession{b: b, conn: c}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		_ = c.Close()
		return nil
	}
	b.sessions[s] = struct{}{}
	return s
}

// close ends the session; safe on nil and more than once.
func (s *backendSession) close() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		_ = s.conn.Close()
		s.b.mu.Lock()
		delete(s.b.sessions, s)
		s.b.mu.Unlock()
	})
}

// openSessions is how many sessions the streams hold open.
func (b *backend) openSessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sessions)
}

// serveMetrics serves the gauge in the Prometheus text format.
func (b *backend) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP %s Backend sessions the streams hold open, one per live stream.\n# TYPE %s gauge\n%s %d\n",
		MetricName, MetricName, MetricName, b.openSessions())
}

// close closes the listener and every connection, leaked sessions too,
// and returns once every goroutine of the backend has ended.
func (b *backend) close() {
	b.mu.Lock()
	b.closed = true
	_ = b.ln.Close()
	for s := range b.sessions {
		_ = s.conn.Close()
	}
	for c := range b.peers {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
