package emulator_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/consumer"
)

// Stream a second of a tone to an app, hang up, and look at what the app answered.
func Example() {
	ctx := context.Background()
	app, err := consumer.Start("127.0.0.1:0", nil) // stands in for your app
	if err != nil {
		panic(err)
	}
	defer app.Close()

	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(&emulator.CallSpec{DisconnectURL: app.EventsURL()})
	tone, _ := media.Tone(440)
	s, _ := call.StartStream(ctx, emulator.StreamSpec{
		Name: "agent", Destination: app.WebSocketURL(), StreamEventURL: app.EventsURL(),
		Audio: tone, Pace: emulator.Fast,
	})
	_ = s.Media(ctx, time.Second)
	_ = call.Hangup(ctx)

	res := s.Result()
	fmt.Println(res.Ending, res.Cause, res.FramesByTrack["inbound"], "frames, close handshake:", res.CloseHandshake)
	for _, d := range e.Deliveries() {
		fmt.Println(d.Event.EventType, d.Status())
	}
	// Output:
	// hangup closed 50 frames, close handshake: true
	// mediaStreamStarted 204
	// mediaStreamStopped 204
	// disconnect 204
}

// Inject a TCP reset on a live stream and read the webhook's cause.
func ExampleStream_Inject() {
	ctx := context.Background()
	app, _ := consumer.Start("127.0.0.1:0", nil)
	defer app.Close()
	e := emulator.New(nil)
	defer e.Close()
	call, _ := e.NewCall(nil)
	s, _ := call.StartStream(ctx, emulator.StreamSpec{Destination: app.WebSocketURL(), Pace: emulator.Fast})
	_ = s.Media(ctx, 100*time.Millisecond)
	res, _ := s.Inject(ctx, emulator.FaultReset)
	fmt.Println(res.Event, res.Cause)
	fmt.Println(res.ErrorMessage)
	// Output:
	// mediaStreamStopped connection-error
	// the connection to the websocket was reset (TCP RST, injected network fault)
}

// The termination table, as the README renders it.
func ExampleTerminations() {
	for _, t := range emulator.Terminations()[:3] {
		fmt.Printf("%s | %s | %s %s\n", t.Ending, t.Wire, t.Event, t.Cause)
	}
	// Output:
	// stop-stream | stop message, close 1000, wait for the app's close | mediaStreamStopped closed
	// hangup | stop message, close 1000, wait for the app's close; then disconnect | mediaStreamStopped closed
	// connect-refused | none: TCP connect refused | mediaStreamStopped connection-error
}
