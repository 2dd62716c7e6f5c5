package apptest

import (
	"net"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Silent is a TCP listener on 127.0.0.1:0 that accepts connections and
// never says a word on them: a WebSocket handshake to it hangs until the
// handshake timeout.
type Silent struct {
	ln   net.Listener
	done chan struct{}

	mu    sync.Mutex
	conns []net.Conn
}

// NewSilent starts a silent listener, closed when the spec ends.
func NewSilent() *Silent {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	s := &Silent{ln: ln, done: make(chan struct{})}
	go s.accept()
	DeferCleanup(s.Close)
	return s
}

func (s *Silent) accept() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
	}
}

// URL is a ws:// URL on the listener.
func (s *Silent) URL() string { return "ws://" + s.ln.Addr().String() + "/media" }

// Accepted counts the connections accepted so far.
func (s *Silent) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close stops listening and closes every accepted connection.
func (s *Silent) Close() {
	_ = s.ln.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

// RefusedAddr is a loopback host:port where nothing listens.
func RefusedAddr() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	Expect(ln.Close()).To(Succeed())
	return addr
}

// RefusedURL is a ws:// URL where nothing listens: the connection is
// refused.
func RefusedURL() string {
	GinkgoHelper()
	return "ws://" + RefusedAddr() + "/media"
}
