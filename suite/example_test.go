package suite_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite"
)

// The matchers with a standalone Gomega, outside Ginkgo: stream to an app,
// stop the stream, and check how it ended and how the app answered.
func Example() {
	ctx := context.Background()
	app, _ := consumer.Start("127.0.0.1:0", nil) // stands in for your app
	defer app.Close()
	e := emulator.New(nil)
	defer e.Close()

	g := gomega.NewGomega(func(message string, _ ...int) { fmt.Println("FAIL:", message) })

	call, _ := e.NewCall(nil)
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(),
		StreamEventURL: app.EventsURL(), Pace: emulator.Fast})
	_ = s.Media(ctx, time.Second)
	_, _ = s.Stop(ctx)

	g.Expect(s).To(suite.HaveEnded(emulator.EndStopStream))
	g.Expect(s).To(suite.HaveStopped("closed"))
	g.Expect(s).To(suite.HaveClosed(emulator.ByEmulator, 1000))
	g.Expect(s).To(suite.HaveCompletedCloseHandshake())
	g.Expect(s).To(suite.HaveNoViolations())
	g.Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
	g.Expect(e.Deliveries()).To(suite.BeAnsweredWithin(5 * time.Second))
	fmt.Println("every expectation met")
	// Output:
	// every expectation met
}

// A failure says what was expected and what was seen, then shows the
// result, the webhooks and the stream's journal.
func ExampleHaveStopped() {
	ctx := context.Background()
	app, _ := consumer.Start("127.0.0.1:0", nil) // stands in for your app
	defer app.Close()
	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(nil)
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: app.WebSocketURL(), Pace: emulator.Fast})
	_ = s.Media(ctx, 100*time.Millisecond)
	_, _ = s.Stop(ctx)

	var message string
	g := gomega.NewGomega(func(m string, _ ...int) { message = m })
	g.Expect(s).To(suite.HaveStopped("closed"))                   // passes
	g.Expect(s).To(suite.HaveStopped("connection-error", "4001")) // fails
	first, _, _ := strings.Cut(message, "\n")
	fmt.Println(strings.Replace(first, s.ID, "s-…", 1))
	// Output:
	// Expected stream "agent" (s-…) to have stopped with cause connection-error and an errorMessage containing "4001", but it ended as mediaStreamStopped with cause closed and no errorMessage
}

// An ending that is a fault of the app (here: nothing listens, the
// connection is refused) fails every stream matcher, whatever it checks,
// and HaveNoAppFault says so in as many words.
func ExampleHaveNoAppFault() {
	ctx := context.Background()
	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(nil)
	// Nothing listens at port 1: the connection is refused.
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: "ws://127.0.0.1:1/media", Pace: emulator.Fast})
	_, _ = s.Wait(ctx)

	var message string
	g := gomega.NewGomega(func(m string, _ ...int) { message = m })
	g.Expect(s).To(suite.HaveNoAppFault()) // fails
	lines := strings.Split(strings.Replace(message, s.ID, "s-…", 1), "\n")
	for _, l := range lines[:4] {
		fmt.Println(l)
	}
	// Output:
	// Expected stream "agent" (s-…) to have ended with no fault of the app, but it ended with connect-refused, a fault of the app: cause connection-error, errorMessage "could not connect to the websocket destination: connection refused (nothing listens at 127.0.0.1:1)"
	//   caused by:  the app
	//   close:      the stream never connected: nothing was closed
	// if this ending is what the test expects, expect it by name (expect.ending: connect-refused in a scenario, suite.HaveEnded(emulator.EndConnectRefused) in Go)
}

// A test that means to see an app-fault ending names it with HaveEnded and
// gives it the other matchers: they run once the ending matched, with the
// fault accepted. Here the app closes with 4001 as soon as the stream
// starts.
func ExampleHaveEnded() {
	ctx := context.Background()
	app := closesWith4001()
	defer app.Close()
	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(nil)
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: "ws" + strings.TrimPrefix(app.URL, "http") + "/media", Pace: emulator.Fast})
	_, _ = s.Wait(ctx)

	g := gomega.NewGomega(func(message string, _ ...int) {
		fmt.Println("FAIL:", strings.Replace(strings.Split(message, "\n")[0], s.ID, "s-…", 1))
	})
	// Alone, HaveStopped fails on the fault: the test did not say it expects it.
	g.Expect(s).To(suite.HaveStopped("connection-error", "4001"))
	// Named, the ending is expected, and the matchers given check the rest.
	if g.Expect(s).To(suite.HaveEnded(emulator.EndAppCloseCode,
		suite.HaveStopped("connection-error", "4001"),
		suite.HaveClosed(emulator.ByApp, 4001),
		suite.HaveCompletedCloseHandshake())) {
		fmt.Println("the app closed with 4001, as expected")
	}
	// Output:
	// FAIL: stream "agent" (s-…) ended with app-close-code, a fault of the app: cause connection-error, errorMessage "the websocket was closed by the destination with code 4001 (bye)"
	// the app closed with 4001, as expected
}

// AcceptNewStream asks whether the app still takes streams, after a fault
// for instance.
func ExampleAcceptNewStream() {
	ctx := context.Background()
	app, _ := consumer.Start("127.0.0.1:0", nil)
	defer app.Close()
	e := emulator.New(nil)
	defer e.Close()

	g := gomega.NewGomega(func(message string, _ ...int) { fmt.Println("FAIL:", message) })
	if g.Expect(e).To(suite.AcceptNewStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL()})) {
		fmt.Println("the app accepted a new stream")
	}
	// Output:
	// the app accepted a new stream
}

// The journal excerpt failure messages show, for reports of your own.
func ExampleJournalExcerpt() {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []emulator.Entry{
		{Time: t0, Kind: emulator.KindHandshake, By: emulator.ByApp, StreamID: "s-1", Message: "GET ws://127.0.0.1:8080/media → 101 Switching Protocols"},
		{Time: t0.Add(300 * time.Microsecond), Kind: emulator.KindFrameOut, By: emulator.ByEmulator, StreamID: "s-1", Message: "start"},
		{Time: t0.Add(41 * time.Millisecond), Kind: emulator.KindClose, By: emulator.ByApp, StreamID: "s-1", Message: "close frame received: code 4001 (bye)"},
	}
	fmt.Println(suite.JournalExcerpt(entries, "s-1", 10))
	// Output:
	//    +0.000ms  handshake  app       GET ws://127.0.0.1:8080/media → 101 Switching Protocols
	//    +0.300ms  frame.out  emulator  start
	//   +41.000ms  close      app       close frame received: code 4001 (bye)
}

// closesWith4001 is an app that closes every stream with 4001 once it has
// read the start message.
func closesWith4001() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if _, _, err := conn.ReadMessage(); err != nil { // the start message
			return
		}
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
		for { // until the emulator's answer ends the connection
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}))
}
