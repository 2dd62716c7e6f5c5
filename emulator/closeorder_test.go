package emulator_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// After a stop message Bandwidth expects the app to close the socket, and
// many apps close the moment they read stop. Whichever close frame goes
// first, and however the two cross, both sides said goodbye: the stream
// ended as the emulator stopped it, and the app is not at fault.
var _ = Describe("the close handshake after stop, in every ordering", func() {
	var events *apptest.Hooks
	short := emulator.Timeouts{Handshake: 2 * time.Second, Write: 2 * time.Second, CloseHandshake: 2 * time.Second}

	BeforeEach(func() { events = apptest.NewHooks() })

	stop := func(ctx SpecContext, e *emulator.Emulator, dest string) *emulator.StreamResult {
		call := specs.Call(e, &emulator.CallSpec{})
		s := specs.Stream(ctx, call, emulator.StreamSpec{Name: "agent", Destination: dest, StreamEventURL: events.EventsURL(), Pace: emulator.Fast})
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		return res
	}
	clean := func(res *emulator.StreamResult) {
		GinkgoHelper()
		Expect(res.Ending).To(Equal(emulator.EndStopStream))
		Expect(res.AppFault).To(BeFalse(), "closing after stop is what Bandwidth expects of the app")
		Expect(res.Cause).To(Equal("closed"))
		Expect(res.CloseHandshake).To(BeTrue(), "both close frames were exchanged")
		Expect(res.CloseProblem).To(BeEmpty())
		Expect(res.CloseReceived).To(Equal(1000))
		Expect(res.ClosedBy).To(Equal(emulator.ByEmulator), "the emulator stopped the stream")
		Expect(res.Failed()).To(BeFalse())
	}

	It("the emulator closes first, the app answers", func(ctx SpecContext) {
		app := apptest.NewWS()
		res := stop(ctx, apptest.NewEmulator(&emulator.Options{Timeouts: short}), app.URL())
		clean(res)
		Expect(res.CloseSent).To(Equal(1000))
		Expect(res.AppClosedFirst).To(BeFalse())
	})

	It("the app closes first, before the emulator's close frame is written", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.Close(1000, "not done")))
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		appClosed := make(chan struct{})
		// The emulator writes its close frame only once its reader has
		// taken (and gorilla has answered) the app's.
		emulator.SetCloseHooks(e, func(*emulator.Stream) {
			select {
			case <-appClosed:
			case <-time.After(5 * time.Second):
			}
		}, func(*emulator.Stream) { close(appClosed) })
		res := stop(ctx, e, app.URL())
		clean(res)
		Expect(res.AppClosedFirst).To(BeTrue())
		Expect(res.CloseSent).To(Equal(1000), "gorilla/websocket's answer echoes the app's code")
		Expect(e.Journal().Entries()).To(ContainElement(HaveField("Message", ContainSubstring("the app closed first"))))
	})

	It("both close frames cross on the wire", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.Close(1000, "not done")))
		proxy := newCrossingProxy(app.Addr())
		res := stop(ctx, apptest.NewEmulator(&emulator.Options{Timeouts: short}), "ws://"+proxy.Addr()+"/media")
		clean(res)
		Expect(res.CloseSent).To(Equal(1000))
		Expect(proxy.Crossed()).To(BeTrue(), "the app's close frame was held until the emulator's had passed")
	})

	It("the app sends its close frame and shuts the connection at once", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.Close(1000, "not done"), apptest.HalfClose()))
		res := stop(ctx, apptest.NewEmulator(&emulator.Options{Timeouts: short}), app.URL())
		clean(res)
	})

	It("the same verdict however the scheduler orders the two", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.OnStop(apptest.Close(1000, "not done")))
		e := apptest.NewEmulator(&emulator.Options{Timeouts: short})
		for range 25 {
			clean(stop(ctx, e, app.URL()))
		}
	}, SpecTimeout(30*time.Second))
})

// crossingProxy forwards a WebSocket connection and makes the two close
// frames cross: the emulator's close frame is held until the app has sent
// its own (in answer to stop), and the app's is held until the emulator's
// has reached the app. Each side sends its close before it sees the other's.
type crossingProxy struct {
	ln net.Listener
	wg sync.WaitGroup

	mu      sync.Mutex
	crossed bool
	conns   []net.Conn
}

func newCrossingProxy(upstream string) *crossingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	p := &crossingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			x := &crossing{stopSeen: make(chan struct{}), appClosing: make(chan struct{}), closeSeen: make(chan struct{})}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); p.forwardEmulator(c, u, x) }()
			go func() { defer p.wg.Done(); p.forwardApp(u, c, x) }()
		}
	}()
	DeferCleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *crossingProxy) Addr() string { return p.ln.Addr().String() }

// Crossed reports whether an app's bytes were held until the emulator's
// close frame had passed.
func (p *crossingProxy) Crossed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crossed
}

// crossing is one connection's progress through the two closes.
type crossing struct {
	stopSeen   chan struct{} // the emulator's stop message is on its way to the app
	appClosing chan struct{} // the app has sent bytes (its close) after stop
	closeSeen  chan struct{} // the emulator's close frame has reached the app
}

// forwardEmulator copies the emulator's upgrade request, then frame by
// frame, noting the stop message and holding the close frame until the
// app has sent its own.
func (p *crossingProxy) forwardEmulator(from, to net.Conn, x *crossing) {
	defer to.Close()
	r := bufio.NewReader(from)
	for { // the upgrade request, up to its blank line
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		if _, err := to.Write(line); err != nil || bytes.Equal(line, []byte("\r\n")) {
			if err != nil {
				return
			}
			break
		}
	}
	stopped, closed := false, false
	for {
		frame, opcode, payload, err := readClientFrame(r)
		if err != nil {
			return
		}
		if opcode == 1 && !stopped && bytes.Contains(payload, []byte(`"eventType":"stop"`)) {
			stopped = true
			close(x.stopSeen) // before the app can read it
		}
		if opcode == 8 && stopped && !closed {
			select {
			case <-x.appClosing:
			case <-time.After(5 * time.Second):
			}
		}
		if _, err := to.Write(frame); err != nil {
			return
		}
		if opcode == 8 && !closed {
			closed = true
			close(x.closeSeen)
		}
	}
}

// forwardApp copies the app's bytes, holding them after the stop message
// until the emulator's close frame has passed.
func (p *crossingProxy) forwardApp(from, to net.Conn, x *crossing) {
	defer to.Close()
	buf := make([]byte, 32<<10)
	held := false
	for {
		n, err := from.Read(buf)
		if n > 0 && !held {
			select {
			case <-x.stopSeen:
				held = true
				// Whether the emulator's close frame had passed is read
				// before appClosing lets it go: once it is let go it may
				// pass at any moment, and then it has crossed ours.
				passed := false
				select {
				case <-x.closeSeen:
					passed = true
				default:
				}
				close(x.appClosing)
				if !passed {
					p.mu.Lock()
					p.crossed = true
					p.mu.Unlock()
					select {
					case <-x.closeSeen:
					case <-time.After(5 * time.Second):
					}
				}
			default:
			}
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readClientFrame reads one masked client frame and returns its bytes as
// sent, its opcode and its unmasked payload.
func readClientFrame(r *bufio.Reader) (frame []byte, opcode byte, payload []byte, err error) {
	head := make([]byte, 2, 14)
	if _, err = io.ReadFull(r, head); err != nil {
		return nil, 0, nil, err
	}
	opcode = head[0] & 0x0f
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		if _, err = io.ReadFull(r, ext); err != nil {
			return nil, 0, nil, err
		}
		head, n = append(head, ext...), uint64(binary.BigEndian.Uint16(ext))
	case 127:
		ext := make([]byte, 8)
		if _, err = io.ReadFull(r, ext); err != nil {
			return nil, 0, nil, err
		}
		head, n = append(head, ext...), binary.BigEndian.Uint64(ext)
	}
	mask := make([]byte, 4)
	if head[1]&0x80 != 0 {
		if _, err = io.ReadFull(r, mask); err != nil {
			return nil, 0, nil, err
		}
		head = append(head, mask...)
	}
	body := make([]byte, n)
	if _, err = io.ReadFull(r, body); err != nil {
		return nil, 0, nil, err
	}
	payload = make([]byte, n)
	for i := range body {
		payload[i] = body[i] ^ mask[i%4]
	}
	return append(head, body...), opcode, payload, nil
}
