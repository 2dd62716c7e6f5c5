package media

import (
	"fmt"
	"slices"
	"time"
)

const (
	SampleRate    = 8000                  // Hz, PCMU as Bandwidth streams it
	FrameDuration = 20 * time.Millisecond // one media message
	FrameSize     = 160                   // bytes of PCMU in one frame
	SilenceByte   = 0xFF                  // µ-law encoding of linear 0
)

// Audio is a read-only source of PCMU frames.
//
// Frame fills p (len(p) == FrameSize) with frame n (n counts from 0). It must
// be safe for concurrent use by many streams, and allocation-free. Sources
// that run out fill with silence.
//
// The sources in this package also accept other lengths of p without
// panicking: they fill all of p with the audio that starts at frame n.
type Audio interface {
	Frame(n int, p []byte)
	// Duration is the length of the recorded audio, 0 for endless sources
	// (silence, tone).
	Duration() time.Duration
	// String names the source for reports, e.g. "silence", "tone:440Hz",
	// "greeting.wav (2.5s)".
	String() string
}

// silenceFrame is copied rather than looping byte by byte: copy is a memmove.
var silenceFrame = func() (f [FrameSize]byte) {
	for i := range f {
		f[i] = SilenceByte
	}
	return f
}()

// fillSilence sets every byte of p to SilenceByte.
func fillSilence(p []byte) {
	for len(p) > 0 {
		p = p[copy(p, silenceFrame[:]):]
	}
}

type silence struct{}

// Silence returns the endless source of µ-law silence.
func Silence() Audio { return silence{} }

func (silence) Frame(_ int, p []byte)   { fillSilence(p) }
func (silence) Duration() time.Duration { return 0 }
func (silence) String() string          { return "silence" }

// recording is a finite clip of µ-law bytes at 8 kHz; every file format ends
// up as one of these, so the hot path is the same for all of them.
type recording struct {
	data []byte
	name string
}

// PCMU returns the raw µ-law bytes in data (8000 Hz mono, as Bandwidth sends
// them) as an Audio; the last partial frame is padded with silence. data is
// copied, so the caller may reuse it. name labels the source in reports.
func PCMU(data []byte, name string) Audio {
	return &recording{data: slices.Clone(data), name: name}
}

func (r *recording) Frame(n int, p []byte) {
	// Checking n against the frame count first keeps n*FrameSize from
	// overflowing for absurd n.
	if n < 0 || n > len(r.data)/FrameSize {
		fillSilence(p)
		return
	}
	c := copy(p, r.data[n*FrameSize:])
	fillSilence(p[c:])
}

func (r *recording) Duration() time.Duration {
	return time.Duration(len(r.data)) * time.Second / SampleRate
}

func (r *recording) String() string {
	name := r.name
	if name == "" {
		name = "pcmu"
	}
	return fmt.Sprintf("%s (%s)", name, r.Duration())
}

// Render is the first d of a as µ-law bytes, in whole frames (d rounded up).
func Render(a Audio, d time.Duration) []byte {
	frames := int((d + FrameDuration - 1) / FrameDuration)
	out := make([]byte, frames*FrameSize)
	for i := range frames {
		a.Frame(i, out[i*FrameSize:(i+1)*FrameSize])
	}
	return out
}
