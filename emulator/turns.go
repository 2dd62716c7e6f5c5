package emulator

import (
	"context"
	"fmt"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
)

// A Turn is one thing the caller said (Stream.Say) and how the app
// answered, on a bidirectional stream. Times are media time from the
// stream's first frame: what the caller experiences, however the frames
// were paced.
type Turn struct {
	// SpeechStart and SpeechEnd bound the caller's utterance (its speech,
	// without the file's leading or trailing silence).
	SpeechStart time.Duration `json:"speechStartNs"`
	SpeechEnd   time.Duration `json:"speechEndNs"`
	// Listened is how long the caller then listened: until it spoke again
	// or the stream ended.
	Listened time.Duration `json:"listenedNs"`

	// Replied says the app started playing audio after the utterance ended
	// and before the caller spoke again; Latency is how long after (the
	// response latency), Played how much audio the reply held before the
	// caller spoke again or the stream ended.
	Replied bool          `json:"replied"`
	Latency time.Duration `json:"latencyNs,omitempty"`
	Played  time.Duration `json:"playedNs,omitempty"`
	// Lag is media time the emulator itself fell behind and skipped
	// (frames it could not send in time) while the caller spoke and
	// waited: left out of Latency and StoppedAfter, since the app could
	// not hear what was never sent.
	Lag time.Duration `json:"lagNs,omitempty"`

	// BargeIn says the app was playing when the caller began (the caller
	// interrupted it); Stopped says the app then fell silent (a clear, or
	// no more audio) StoppedAfter the caller began.
	BargeIn      bool          `json:"bargeIn,omitempty"`
	Stopped      bool          `json:"stopped,omitempty"`
	StoppedAfter time.Duration `json:"stoppedAfterNs,omitempty"`
}

// Latencies are the response latencies of the turns the app replied to.
func (r *StreamResult) Latencies() []time.Duration {
	var out []time.Duration
	for _, t := range r.Turns {
		if t.Replied {
			out = append(out, t.Latency)
		}
	}
	return out
}

// Say streams audio as the caller's speech on the inbound track, once, and
// returns when it has been sent; the caller's own audio (the spec's) pauses
// meanwhile and resumes after. Its speech (where the audio is loud: see
// media.Utterances) becomes a Turn of the result. Follow it with Silence to
// give the app time to answer: the caller hears the app's playback only
// while frames flow. It fails when the audio holds no speech.
func (s *Stream) Say(ctx context.Context, a media.Audio) error {
	if a == nil || a.Duration() <= 0 {
		return fmt.Errorf("emulator: Say needs audio of a finite length (a WAV or µ-law file), not %v", a)
	}
	frames := framesIn(a.Duration())
	speech := media.Utterances(media.Render(a, a.Duration()))
	if len(speech) == 0 {
		return fmt.Errorf("emulator: %s holds no speech: its level never reaches %g dBFS", a, media.SpeechOnLevel)
	}
	return s.await(ctx, command{kind: cmdMedia, frames: frames, say: a, speech: speech})
}

// conversation follows the talk on a bidirectional stream, frame by frame,
// on the stream's goroutine: when the caller spoke and when the app's
// playback was loud. It allocates only when an utterance begins or ends.
type conversation struct {
	caller []media.Span // the caller's speech, in frames
	app    []media.Span // the app's loud playback, in frames
	skips  []media.Span // frames the emulator skipped, falling behind
	talk   media.SpeechDetector
}

// skipped notes frames [from, from+n) the emulator could not send in time.
func (c *conversation) skipped(from, n int) {
	c.skips = append(c.skips, media.Span{Start: from, End: from + n})
}

// lag is how many skipped frames lie in [from, to).
func (c *conversation) lag(from, to int) int {
	n := 0
	for _, s := range c.skips {
		n += max(0, min(s.End, to)-max(s.Start, from))
	}
	return n
}

// played takes the frame the caller heard at this period (nil: none).
func (c *conversation) played(frame []byte) {
	if u, ended := c.talk.Push(frame); ended {
		c.app = append(c.app, u)
	}
}

// turns pairs each utterance of the caller with the app's answer, once the
// stream has sent frames frames.
func (c *conversation) turns(frames int64) []Turn {
	if u, ok := c.talk.Flush(); ok {
		c.app = append(c.app, u)
	}
	at := func(f int) time.Duration { return time.Duration(f) * media.FrameDuration }
	turns := make([]Turn, 0, len(c.caller))
	for i, sp := range c.caller {
		next := int(frames)
		if i+1 < len(c.caller) {
			next = c.caller[i+1].Start
		}
		t := Turn{SpeechStart: at(sp.Start), SpeechEnd: at(sp.End), Listened: at(max(next-sp.End, 0))}
		for _, a := range c.app {
			switch {
			case a.Start < sp.Start && a.End > sp.Start:
				t.BargeIn = true
				t.Stopped = a.End < int(frames)
				t.StoppedAfter = at(a.End - sp.Start - c.lag(sp.Start, a.End))
			case a.Start >= sp.End && a.Start < next:
				if !t.Replied {
					// Frames skipped from the start of the speech on delay
					// what the app hears of it, and so its answer.
					lag := c.lag(sp.Start, a.Start)
					t.Replied, t.Latency, t.Lag = true, at(max(a.Start-sp.End-lag, 0)), at(lag)
				}
				t.Played += at(min(a.End, next) - a.Start)
			}
		}
		turns = append(turns, t)
	}
	return turns
}
