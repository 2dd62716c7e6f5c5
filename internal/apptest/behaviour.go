package apptest

import (
	"net"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/gomega"
)

// Behaviour is one way the fake WebSocket app acts. Without any, it is a
// correct consumer: it takes every stream and reads until the emulator
// closes, answering the close frame. Actions (Send, Close, HangUp, Reset,
// HalfClose, StopReading, Do) run right after the start message unless
// After or OnStop says when; they run once per connection, in order.
type Behaviour func(*plan)

// atStop is the moment of the stop message; moments from 0 up count the
// media frames read after the start message.
const atStop = -1

// plan is what the behaviours make of one connection.
type plan struct {
	n           int // the connection's number, from 1
	refuse      int // answer the upgrade with this status instead of 101
	ignoreClose bool
	at          int // the moment the actions being added run at
	actions     []action
}

// action is one step of the plan; run reports whether it ended the
// connection's handler.
type action struct {
	at  int
	run func(c *conn) bool
}

// conn is one accepted connection as the actions see it.
type conn struct {
	ws   *websocket.Conn
	quit <-chan struct{} // closed when the app closes
}

func (p *plan) apply(bs []Behaviour) {
	for _, b := range bs {
		b(p)
	}
}

func (p *plan) add(run func(*conn) bool) { p.actions = append(p.actions, action{at: p.at, run: run}) }

// Refuse answers the upgrade request with status instead of 101.
func Refuse(status int) Behaviour { return func(p *plan) { p.refuse = status } }

// From applies bs to the nth connection and every one after it (from 1).
func From(n int, bs ...Behaviour) Behaviour {
	return func(p *plan) {
		if p.n >= n {
			p.apply(bs)
		}
	}
}

// Every applies bs to every nth connection only: a flaky app.
func Every(n int, bs ...Behaviour) Behaviour {
	return func(p *plan) {
		if p.n%n == 0 {
			p.apply(bs)
		}
	}
}

// After runs the actions of bs once that many media frames have arrived
// after the start message.
func After(frames int, bs ...Behaviour) Behaviour {
	return func(p *plan) {
		saved := p.at
		p.at = frames
		p.apply(bs)
		p.at = saved
	}
}

// OnStop runs the actions of bs when the stop message arrives.
func OnStop(bs ...Behaviour) Behaviour {
	return func(p *plan) {
		saved := p.at
		p.at = atStop
		p.apply(bs)
		p.at = saved
	}
}

// IgnoreClose never answers the emulator's close frame, and keeps the
// connection open until the emulator gives up and closes it.
func IgnoreClose() Behaviour { return func(p *plan) { p.ignoreClose = true } }

// Send writes text messages, then reads on; a failed write ends the
// connection.
func Send(msgs ...string) Behaviour { return send(websocket.TextMessage, msgs) }

// SendBinary writes binary messages, then reads on.
func SendBinary(msgs ...string) Behaviour { return send(websocket.BinaryMessage, msgs) }

func send(kind int, msgs []string) Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			for _, m := range msgs {
				if c.ws.WriteMessage(kind, []byte(m)) != nil {
					return true
				}
			}
			return false
		})
	}
}

// Close sends a close frame with code and reason, then reads on until the
// emulator answers it (or ends the connection).
func Close(code int, reason string) Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			return false
		})
	}
}

// HangUp closes the TCP connection without a close frame, as a crashed
// process does.
func HangUp() Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			_ = c.ws.NetConn().Close()
			return true
		})
	}
}

// Reset ends the TCP connection with a RST (SO_LINGER 0).
func Reset() Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			_ = tcp(c).SetLinger(0)
			_ = c.ws.NetConn().Close()
			return true
		})
	}
}

// HalfClose shuts the app's side of the TCP connection (a FIN) and reads
// on.
func HalfClose() Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			_ = tcp(c).CloseWrite()
			return false
		})
	}
}

// StopReading never reads again; a tiny receive window makes the
// emulator's writes block soon. The connection stays until the app closes.
func StopReading() Behaviour {
	return func(p *plan) {
		p.add(func(c *conn) bool {
			_ = tcp(c).SetReadBuffer(1)
			<-c.quit
			return true
		})
	}
}

// Do calls f on the connection's goroutine, then reads on; while f runs
// the app reads nothing.
func Do(f func()) Behaviour {
	return func(p *plan) {
		p.add(func(*conn) bool {
			f()
			return false
		})
	}
}

func tcp(c *conn) *net.TCPConn {
	t, ok := c.ws.NetConn().(*net.TCPConn)
	Expect(ok).To(BeTrue(), "this behaviour needs a plain TCP connection")
	return t
}
