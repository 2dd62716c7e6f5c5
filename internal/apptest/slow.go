package apptest

import (
	"context"
	"net"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// NewSlowWS is a WebSocket app that cannot keep up: after the start message
// it reads one message every interval, through a receive window kept small
// from the first SYN (set on the listening socket, so every accepted
// connection inherits it). The emulator's writes then block for about
// interval each once the socket buffers are full, long before any single
// write times out. What it reads after the start is not recorded.
func NewSlowWS(interval time.Duration) *WS {
	GinkgoHelper()
	a := &WS{behaviours: []Behaviour{readSlowly(interval)}, quit: make(chan struct{})}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	a.startOn(a, ln)
	DeferCleanup(a.Close)
	return a
}

func readSlowly(interval time.Duration) Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-c.quit:
					return true
				case <-tick.C:
				}
				if _, _, err := c.ws.ReadMessage(); err != nil {
					return true
				}
			}
		})
	}
}
