package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// backendDialTimeout bounds opening a backend session; the backend is on
// loopback, so this only matters when something is badly wrong.
const backendDialTimeout = 2 * time.Second

// backend stands in for the AI service a real agent opens a session with
// for every call (speech recognition and a language model, over a
// connection of their own). It is a TCP listener on loopback inside the
// agent's process, so a leaked session is a real leak — an open
// connection, a file descriptor and a goroutine on each side — that a
// test can count.
type backend struct {
	ln        net.Listener
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu    sync.Mutex
	peers map[net.Conn]struct{} // the service's side of each session
}

func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to start the backend stand-in: %w", err)
	}
	b := &backend{ln: ln, peers: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	return b, nil
}

func (b *backend) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		b.mu.Lock()
		b.peers[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go b.listen(c)
	}
}

// listen takes what the agent sends until it hangs up: the stand-in has
// nothing to say back.
func (b *backend) listen(c net.Conn) {
	defer b.wg.Done()
	_, _ = io.Copy(io.Discard, c)
	_ = c.Close()
	b.mu.Lock()
	delete(b.peers, c)
	b.mu.Unlock()
}

// close stops the service and hangs up on every session, as the end of
// the process would.
func (b *backend) close() {
	b.closeOnce.Do(func() {
		_ = b.ln.Close()
		b.mu.Lock()
		for c := range b.peers {
			_ = c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
}

// backendSession is the agent's side of one call's session.
type backendSession struct {
	conn   net.Conn
	callID string
	once   sync.Once
	closed func(*backendSession) // the agent's bookkeeping
}

// openSession opens the call's backend session and counts it as open.
func (a *Agent) openSession(ctx context.Context, callID string) (*backendSession, error) {
	d := net.Dialer{Timeout: backendDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", a.backend.ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("failed to open a backend session: %w", err)
	}
	_ = conn.SetWriteDeadline(deadline(backendDialTimeout))
	if _, err := fmt.Fprintf(conn, "call %s\n", callID); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("failed to open a backend session: %w", err)
	}
	s := &backendSession{conn: conn, callID: callID, closed: a.sessionClosed}
	a.mu.Lock()
	a.sessions[s] = struct{}{}
	a.mu.Unlock()
	return s, nil
}

// close ends the session; closing it again does nothing.
func (s *backendSession) close() {
	s.once.Do(func() {
		_ = s.conn.Close()
		s.closed(s)
	})
}

func (a *Agent) sessionClosed(s *backendSession) {
	a.mu.Lock()
	delete(a.sessions, s)
	a.mu.Unlock()
}
