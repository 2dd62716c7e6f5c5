package conformance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/suite"
)

// ConcurrentCalls is how many calls 7.2 runs at once.
const ConcurrentCalls = 5

// concurrentMedia is how much audio each concurrent stream carries.
const concurrentMedia = 500 * time.Millisecond

// together runs f for 0..n-1 on goroutines of their own and waits for all.
func together(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// liveTogether checks that the streams were all live at once: every one
// connected, none ended yet. A case about concurrency that cannot say so
// tested nothing: it never passes. A stream the app ended first fails the
// case; any other early end makes it informational.
func (c *Check) liveTogether(ctx context.Context, streams []*emulator.Stream, hint string) bool {
	if len(streams) == 0 || slices.Contains(streams, nil) {
		return false
	}
	ids := map[string]bool{}
	for _, s := range streams {
		ids[s.ID] = true
	}
	for _, en := range streams[0].Call.Emulator().Journal().Entries() {
		if en.Kind != emulator.KindEnding || !ids[en.StreamID] {
			continue
		}
		var s *emulator.Stream
		for _, x := range streams {
			if x.ID == en.StreamID {
				s = x
			}
		}
		r, err := s.Wait(ctx)
		if err != nil {
			c.Fail("stream %q: %v", s.Name, err)
			return false
		}
		if r.AppFault {
			c.Fail("stream %q %s before all %d streams were live at once — %s", s.Name, describeEnding(r), len(streams), c.hintFor(s, r, hint))
			c.AttachStream(s)
			return false
		}
		c.Info("the %d streams could not be made live at the same time (stream %q %s before the others had connected), so concurrency was not tested", len(streams), s.Name, describeEnding(r))
		return false
	}
	return true
}

// 7.1
func twoStreamsOneCall(ctx context.Context, c *Check) {
	_, call, ok := c.newCall(nil, false)
	if !ok {
		return
	}
	streams := make([]*emulator.Stream, 0, 2)
	for _, tracks := range []string{protocol.TrackInbound, protocol.TrackOutbound} {
		spec := c.Spec(tracks)
		spec.Tracks = tracks
		s, ok := c.Start(ctx, call, spec)
		if !ok {
			_ = call.Hangup(ctx)
			return
		}
		streams = append(streams, s)
	}
	hint := "tell streams apart by the start message's streamId (or the socket itself), never by the callId alone: one call can have several streams"
	if !c.liveTogether(ctx, streams, hint) {
		_ = call.Hangup(ctx)
		return
	}
	together(len(streams), func(i int) {
		s := streams[i]
		c.media(ctx, s, concurrentMedia, fmt.Sprintf("stream %q of a call with two streams", s.Name), hint)
	})
	if c.Failed() {
		_ = call.Hangup(ctx)
		return
	}
	if err := call.Hangup(ctx); err != nil {
		c.Fail("hanging up: %v", err)
		return
	}
	for _, s := range streams {
		r, err := s.Wait(ctx)
		if err != nil {
			c.Fail("stream %q: %v", s.Name, err)
			return
		}
		c.expectEnded(s, r, emulator.EndHangup, fmt.Sprintf("stream %q of a call with two streams, at the hangup", s.Name), hint)
	}
	if !c.Failed() {
		c.Pass("both streams of the call (inbound and outbound) carried %s of audio at once and completed the close handshake at the hangup", concurrentMedia)
	}
}

// 7.2
func fiveConcurrentCalls(ctx context.Context, c *Check) {
	e := c.Emulator(nil)
	streams := make([]*emulator.Stream, ConcurrentCalls)
	hint := "keep each stream's state with its own socket: no global \"current call\", nothing one stream does may end another"
	// All start together, then all stream together, then all stop together.
	together(ConcurrentCalls, func(i int) {
		call, ok := c.Call(e, false)
		if !ok {
			return
		}
		spec := c.Spec("call-" + strconv.Itoa(i+1))
		spec.Params = []protocol.StreamParam{{Name: "call", Value: strconv.Itoa(i + 1)}}
		if s, ok := c.Start(ctx, call, spec); ok {
			streams[i] = s
		}
	})
	if c.Failed() || !c.liveTogether(ctx, streams, hint) {
		return
	}
	together(ConcurrentCalls, func(i int) {
		s := streams[i]
		c.media(ctx, s, concurrentMedia, fmt.Sprintf("stream %q of %d concurrent calls", s.Name, ConcurrentCalls), hint)
	})
	if c.Failed() {
		return
	}
	together(ConcurrentCalls, func(i int) {
		s := streams[i]
		c.stop(ctx, s, fmt.Sprintf("stream %q of %d concurrent calls", s.Name, ConcurrentCalls), hint)
	})
	if !c.Failed() {
		c.Pass("%d calls were live at once, streamed %s of audio each and every stream stopped cleanly", ConcurrentCalls, concurrentMedia)
	}
}

// 7.3
func faultIsolated(ctx context.Context, c *Check) {
	e := c.Emulator(nil)
	var streams []*emulator.Stream
	for _, name := range []string{"faulty", "intact"} {
		call, ok := c.Call(e, false)
		if !ok {
			return
		}
		spec := c.Spec(name)
		if name == "intact" {
			// In real time, the intact stream watches the app for the
			// whole of its audio after the reset: a fault that spreads
			// shows however late the app's loaded scheduler notices it.
			spec.Pace = emulator.Realtime
		}
		s, ok := c.Start(ctx, call, spec)
		if !ok {
			return
		}
		streams = append(streams, s)
	}
	faulty, intact := streams[0], streams[1]
	if !c.liveTogether(ctx, streams, "serve each connection on its own: a second call's stream must be accepted while the first is live") {
		return
	}
	together(2, func(i int) { c.media(ctx, streams[i], endingMedia, fmt.Sprintf("stream %q", streams[i].Name), "") })
	if c.Failed() {
		return
	}
	if _, err := faulty.Inject(ctx, emulator.FaultReset); err != nil {
		c.Fail("resetting stream %q: %v", faulty.Name, err)
		return
	}
	pause(ctx, faultSettle)
	what := fmt.Sprintf("stream %q, after stream %q of another call was reset", intact.Name, faulty.Name)
	hint := "a fault on one connection must end only that stream: keep per-connection state and errors per connection"
	if !c.media(ctx, intact, concurrentMedia, what, hint) {
		return
	}
	if _, ok := c.stop(ctx, intact, what, hint); !ok {
		return
	}
	if !c.Expect(intact, suite.HaveClosed(emulator.ByEmulator, 1000), "%s", hint) || !c.Expect(intact, suite.HaveCompletedCloseHandshake(), "%s", hint) {
		return
	}
	c.Pass("after stream %q was reset, stream %q of another call carried %s more of audio in real time and stopped cleanly with 1000", faulty.Name, intact.Name, concurrentMedia)
}
