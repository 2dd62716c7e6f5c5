package consumer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownTimeout bounds how long Server.Close waits for plain HTTP
// requests (webhooks, health) in flight.
const shutdownTimeout = 5 * time.Second

// Server is a Consumer running on its own listener.
type Server struct {
	// Consumer is the running consumer, for its accessors and waiters.
	*Consumer

	ln      net.Listener
	srv     *http.Server
	served  chan struct{} // closed when Serve has returned
	once    sync.Once
	closeEr error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves a new
// consumer built from opts until Close.
func Start(addr string, opts *Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := New(opts)
	s := &Server{
		Consumer: c,
		ln:       ln,
		srv: &http.Server{
			Handler:           c,
			ReadHeaderTimeout: 10 * time.Second,
			// net/http's own complaints go to the consumer's logger, never
			// to the process-wide log package.
			ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
		},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	return s, nil
}

// Addr is the listening address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL, http://host:port.
func (s *Server) URL() string { return "http://" + s.Addr() }

// WebSocketURL is the StartStream destination, ws://host:port/media.
func (s *Server) WebSocketURL() string { return "ws://" + s.Addr() + "/media" }

// EventsURL is the streamEventUrl, http://host:port/events.
func (s *Server) EventsURL() string { return s.URL() + "/events" }

// DisconnectURL is the call's disconnectUrl, http://host:port/disconnect.
func (s *Server) DisconnectURL() string { return s.URL() + "/disconnect" }

// HealthURL is http://host:port/health.
func (s *Server) HealthURL() string { return s.URL() + "/health" }

// StateURL is http://host:port/state.
func (s *Server) StateURL() string { return s.URL() + "/state" }

// Close stops accepting connections, lets HTTP requests in flight finish,
// closes every live WebSocket (see Consumer.Close) and returns when every
// goroutine the server started has ended. http.Server.Shutdown alone is not
// enough: it forgets connections once they are hijacked for WebSocket, so
// the consumer tracks those itself. Close is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close()
		}
		<-s.served
		s.closeEr = errors.Join(err, s.Consumer.Close())
	})
	return s.closeEr
}
