package emulator

import (
	"fmt"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// PlaybackStats are what a bidirectional stream's app played to the
// caller (PROTOCOL §4): its playAudio chunks queue up and play out in real
// time, one 20 ms frame a frame period, and clear drops what is queued.
type PlaybackStats struct {
	// Played is the audio the caller heard; Cleared the queued audio a
	// clear dropped.
	Played  time.Duration `json:"playedNs,omitempty"`
	Cleared time.Duration `json:"clearedNs,omitempty"`
	// MaxQueued is the most audio queued ahead at once: past real time,
	// the app sends faster than it plays (Bandwidth queues it).
	MaxQueued time.Duration `json:"maxQueuedNs,omitempty"`
	// Underruns counts the gaps in the app's audio while it spoke: the
	// queue ran dry and more audio came within UnderrunGap.
	Underruns int `json:"underruns,omitempty"`
	// Overflowed is the audio dropped because the queue held
	// Options.PlaybackBuffer already.
	Overflowed time.Duration `json:"overflowedNs,omitempty"`
}

// UnderrunGap is the longest silence between two chunks of the app's audio
// that counts as a gap in its speech (an underrun) rather than the end of
// what it said.
const UnderrunGap = time.Second

// aheadWarning is how much queued audio makes the journal say the app
// sends faster than real time.
const aheadWarning = 2 * time.Second

// appPlayback is a bidirectional stream's queue of the app's audio. The
// reader pushes, the stream's sender plays one frame a period.
type appPlayback struct {
	limit time.Duration // Options.PlaybackBuffer: 0 is no limit
	mu    sync.Mutex
	queue []byte    // 8 kHz µ-law not yet played
	dryAt time.Time // when the queue ran dry mid-speech (zero: it did not)
	// spurtAt is when the app's current run of audio began, spokeAt when
	// the caller last spoke: audio after the caller spoke is a new reply,
	// not the old one resuming.
	spurtAt, spokeAt time.Time
	warned           bool
	stats            PlaybackStats
}

// push queues a playAudio chunk (converted to 8 kHz µ-law) and reports
// whether it came after a gap in the app's speech, whether the queue first
// went past aheadWarning, and how much of the chunk a full queue dropped.
func (p *appPlayback) push(pa *protocol.PlayAudio, now time.Time) (underrun, ahead bool, dropped time.Duration) {
	audio := pa.Audio
	if pa.ContentType != protocol.ContentTypePCMU {
		audio = media.PCM16ToMuLaw(pa.Audio, pa.SampleRate)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	resumed := !p.dryAt.IsZero() && now.Sub(p.dryAt) < UnderrunGap && p.spokeAt.Before(p.spurtAt)
	switch {
	case resumed:
		p.stats.Underruns++
		underrun = true
	case len(p.queue) == 0:
		p.spurtAt = now
	}
	p.dryAt = time.Time{}
	if p.limit > 0 {
		room := max(int(p.limit*media.SampleRate/time.Second)-len(p.queue), 0)
		if len(audio) > room {
			dropped = samplesDuration(len(audio) - room)
			p.stats.Overflowed += dropped
			audio = audio[:room]
		}
	}
	p.queue = append(p.queue, audio...)
	q := samplesDuration(len(p.queue))
	p.stats.MaxQueued = max(p.stats.MaxQueued, q)
	if q > aheadWarning && !p.warned {
		p.warned, ahead = true, true
	}
	return underrun, ahead, dropped
}

// clear drops the queue (barge-in) and returns how much it dropped.
func (p *appPlayback) clear() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := samplesDuration(len(p.queue))
	p.stats.Cleared += d
	p.queue, p.dryAt = p.queue[:0], time.Time{}
	return d
}

// next plays one frame period into frame: false when nothing is queued.
// A last partial frame is padded with silence. callerSpeaking says the
// caller talks this period. It does not allocate.
func (p *appPlayback) next(frame *[media.FrameSize]byte, now time.Time, callerSpeaking bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if callerSpeaking {
		p.spokeAt = now
	}
	if len(p.queue) == 0 {
		return false
	}
	n := copy(frame[:], p.queue)
	for i := n; i < len(frame); i++ {
		frame[i] = media.SilenceByte
	}
	p.queue = p.queue[n:]
	p.stats.Played += media.FrameDuration
	if len(p.queue) == 0 {
		p.dryAt = now
	}
	return true
}

func (p *appPlayback) result() PlaybackStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func samplesDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / media.SampleRate
}

// describeAhead is the journal's note when the app runs ahead.
func describeAhead(queued time.Duration) string {
	return fmt.Sprintf("%s of the app's audio queued ahead: it sends faster than real time (Bandwidth queues it; clear drops it)", queued.Round(time.Millisecond))
}
