package buggy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
)

// sniffingListener is ListenerDiesOnBrokenHandshake's listener: Accept
// reads the request head of each connection before handing it on, on the
// accept loop, and returns the error when that read fails. The head is
// replayed to the HTTP server by sniffedConn.
type sniffingListener struct {
	net.Listener

	mu      sync.Mutex
	reading net.Conn // the connection Accept is reading, for Close
	closed  bool
}

func (l *sniffingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.reading = c
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.reading = nil
		l.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	var head bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		head.Write(line) // ReadSlice consumes the line: keep it for the replay
		if err != nil {
			_ = c.Close()
			// The bug: a per-connection error returned from Accept ends
			// http.Server.Serve, which closes the listener.
			return nil, fmt.Errorf("sniffing the handshake of %s: %w", c.RemoteAddr(), err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break // end of the request head
		}
	}
	return &sniffedConn{Conn: c, r: io.MultiReader(&head, br)}, nil
}

// Close also ends a read Accept is blocked in, so Server.Close never waits
// on an idle peer.
func (l *sniffingListener) Close() error {
	l.mu.Lock()
	l.closed = true
	if l.reading != nil {
		_ = l.reading.Close()
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// sniffedConn replays what Accept read before the rest of the connection.
type sniffedConn struct {
	net.Conn
	r io.Reader
}

func (c *sniffedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
