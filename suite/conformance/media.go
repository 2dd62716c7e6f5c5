package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Media amounts of the 3.x cases.
const (
	// RealtimeMedia is how long 3.1 streams at the real-time pace.
	RealtimeMedia = 2 * time.Second
	// BurstMedia is how much audio 3.2 sends as fast as the app reads; the
	// app must read it in less time than it lasts.
	BurstMedia = 30 * time.Second
)

// 3.1
func readsRealtime(ctx context.Context, c *Check) {
	what := "at the real-time pace (a 20 ms frame every 20 ms)"
	hint := "read every frame as it comes and never let a gap of 20 ms between frames end the stream (no short read timeouts)"
	// Skipped frames mean the emulator's writes fell behind. 2 s of audio
	// (some 30 KB) fits the socket buffers, so a slow reader cannot block
	// them: it is the machine running bwemu that was busy. A second attempt
	// may get the pace right; when it does not, the pace was not tested,
	// and the case says so rather than blame the app (3.2 judges a reader
	// too slow to keep up).
	var skipped []int
	for attempt := 1; attempt <= 2; attempt++ {
		spec := c.Spec(fmt.Sprintf("realtime-%d", attempt))
		spec.Pace = emulator.Realtime
		r, ok := c.streamOnce(ctx, spec, RealtimeMedia, what, hint)
		if !ok {
			return
		}
		if r.Skipped == 0 {
			note := ""
			if len(skipped) > 0 {
				note = fmt.Sprintf(" (a first attempt skipped %d frames: the machine was busy)", skipped[0])
			}
			c.Pass("%s of audio at the real-time pace (%d frames, none skipped; frames went out p50 %s, p99 %s after their deadline) and a clean stop%s",
				r.MediaDuration, r.Messages, r.LatenessP50.Round(time.Microsecond), r.LatenessP99.Round(time.Microsecond), note)
			return
		}
		skipped = append(skipped, r.Skipped)
		if attempt == 2 {
			c.Info("the app took both streams and stopped them cleanly, but the real-time pace was not tested: the machine running bwemu was too busy to keep it (it skipped %d, then %d frames; 2 s of audio fits the socket buffers, so the app did not cause it) — run again on a quieter machine",
				skipped[0], skipped[1])
		}
	}
}

// 3.2
func readsBurst(ctx context.Context, c *Check) {
	// The socket buffers between the emulator and the app hold the whole
	// burst, so the writes rarely block even when the app stops reading:
	// what tells is whether the app reads through the burst to the stop
	// and the close frame behind it. It gets the write timeout for that,
	// on top of the usual close allowance.
	drain := c.timeouts.Write + c.timeouts.CloseHandshake
	s, ok := c.newStream(ctx, &emulator.Options{Timeouts: emulator.Timeouts{CloseHandshake: drain}}, c.Spec("burst"))
	if !ok {
		return
	}
	what := "with 30s of audio sent as fast as the app reads"
	hint := "read frames as fast as they come: after a network hiccup Bandwidth's frames arrive in a burst"
	began := time.Now()
	mctx, cancel := context.WithTimeout(ctx, BurstMedia)
	err := s.Media(mctx, BurstMedia)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && s.Result() == nil:
		c.Fail("%s: the app took in only %s of it in %s, slower than real time — a consumer that cannot keep up with real time falls further behind with every burst; do slow work off the read loop",
			what, s.Progress(), BurstMedia)
		c.AttachStream(s)
		_, _ = s.Stop(ctx)
		return
	default:
		r, werr := s.Wait(ctx)
		if werr != nil {
			c.Fail("%s: %v", what, werr)
			return
		}
		c.Fail("%s: the stream ended after %s of audio: %s — %s", what, r.MediaDuration, describeEnding(r), c.hintFor(s, r, hint))
		c.AttachStream(s)
		return
	}
	r, err := s.Stop(ctx)
	if err != nil {
		c.Fail("%s: %v", what, err)
		return
	}
	if r.Ending == emulator.EndCloseHandshakeTimeout {
		c.Fail("%s: %s after the burst was sent the app had not answered the close frame sent behind it (after the stop message) — either the app stopped reading, or reads too slowly to clear a backlog (read every frame as it comes and do slow work off the read loop), or it never answers close frames at all (see 4.1)",
			what, drain)
		c.AttachStream(s)
		return
	}
	if !c.expectEnded(s, r, emulator.EndStopStream, what, hint) {
		return
	}
	drained := appClosed(s).Sub(began)
	c.Pass("%s of audio (%d frames) sent as a burst; the app read through it and answered the stop's close frame %s after the burst began (%.0f× real time)",
		r.MediaDuration, r.Messages, drained.Round(time.Millisecond), float64(BurstMedia)/float64(drained))
}

// appClosed is when the app's close frame arrived, from the journal.
func appClosed(s *emulator.Stream) time.Time {
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID == s.ID && en.Kind == emulator.KindClose && en.By == emulator.ByApp && en.Code != 0 {
			return en.Time
		}
	}
	return time.Now()
}
