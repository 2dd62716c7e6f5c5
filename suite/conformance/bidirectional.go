package conformance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/suite"
)

// PlayAudioWithin is how soon after the start a bidirectional app must
// play audio back (6.1).
const PlayAudioWithin = 2 * time.Second

// utterance is the 6.x callers' audio: half a second of tone, then
// silence, so an app that answers at the end of speech has an end.
var utterance = sync.OnceValue(func() media.Audio {
	const frames = 25
	buf := make([]byte, frames*media.FrameSize)
	for i := range frames {
		tone().Frame(i, buf[i*media.FrameSize:(i+1)*media.FrameSize])
	}
	return media.PCMU(buf, "tone:440Hz for 500ms, then silence")
})

// bidiStream starts a bidirectional real-time stream for a 6.x case; for a
// target that plays nothing back it skips the case instead.
func bidiStream(ctx context.Context, c *Check, name string) (*emulator.Stream, bool) {
	if !c.Target.Bidirectional {
		c.Skip("the target does not play audio back (Target.Bidirectional is false)")
		return nil, false
	}
	spec := c.Spec(name)
	spec.Mode = protocol.ModeBidirectional
	spec.Pace = emulator.Realtime
	spec.Audio = utterance()
	return c.newStream(ctx, nil, spec)
}

// 6.1
func playsAudioBack(ctx context.Context, c *Check) {
	s, ok := bidiStream(ctx, c, "play-audio")
	if !ok {
		return
	}
	// Wait for the first valid playAudio (or a violation) until the limit.
	wctx, cancel := context.WithDeadline(ctx, s.StartTime.Add(PlayAudioWithin))
	_, _ = s.Call.Emulator().Journal().WaitFor(wctx, func(en emulator.Entry) bool {
		return en.StreamID == s.ID && ((en.Kind == emulator.KindFrameIn && en.Event == protocol.EventPlayAudio) || en.Kind == emulator.KindViolation || en.Kind == emulator.KindUndocumented)
	})
	cancel()
	// A little more, so what follows the first message is judged too: a
	// deliberate window (there is no event to await), hence pause.
	pause(ctx, 100*time.Millisecond)
	r, ok := c.stopStream(ctx, s)
	if !ok {
		return
	}
	hint := "a bidirectional app plays audio back as {\"eventType\":\"playAudio\",\"media\":{\"contentType\":\"audio/pcmu\",\"payload\":\"<base64 of whole samples>\"}} text frames, soon after the start"
	if v := firstViolation(s); v != "" {
		hint = "the app's messages were refused (the first: " + v + "): " + hint
	}
	if !c.expectNoAppFault(ctx, s, fmt.Sprintf("stream %q", s.Name), "") {
		return
	}
	if !c.Expect(s, suite.HaveSentPlayAudio(1, PlayAudioWithin), "%s", hint) {
		return
	}
	c.Pass("the first valid playAudio came %s after the start (%d in all, %d bytes of audio)",
		r.FirstPlayAudio.Round(time.Millisecond), r.PlayAudio, r.PlayAudioBytes)
}

// 6.2
func sendsNoViolations(ctx context.Context, c *Check) {
	s, ok := bidiStream(ctx, c, "protocol")
	if !ok {
		return
	}
	// A stream the app ended on its way is judged all the same.
	_ = s.Media(ctx, time.Second)
	r, ok := c.stopStream(ctx, s)
	if !ok {
		return
	}
	healthy := c.expectNoAppFault(ctx, s, fmt.Sprintf("stream %q", s.Name), "")
	if !c.expectNoViolations(s, "on a bidirectional stream") || !healthy {
		return
	}
	c.Pass("%d playAudio (%d bytes of audio) and %d clear over 1s, no violations", r.PlayAudio, r.PlayAudioBytes, r.Clears)
}
