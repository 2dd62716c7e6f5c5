package suite_test

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(nil)
	// Nothing listens at port 1: the connection is refused.
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Name: "agent", Destination: "ws://127.0.0.1:1/media", Pace: emulator.Fast})
	_, _ = s.Wait(ctx)

	var message string
	g := gomega.NewGomega(func(m string, _ ...int) { message = m })
	g.Expect(s).To(suite.HaveStopped("connection-error", "connection refused")) // passes
	g.Expect(s).To(suite.HaveStopped("closed"))                                 // fails
	first, _, _ := strings.Cut(message, "\n")
	fmt.Println(strings.Replace(first, s.ID, "s-…", 1))
	// Output:
	// Expected stream "agent" (s-…) to have stopped with cause closed, but it ended as mediaStreamStopped with cause connection-error and errorMessage "could not connect to the websocket destination: connection refused (nothing listens at 127.0.0.1:1)"
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
