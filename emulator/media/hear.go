package media

import (
	"math"
	"time"

	"github.com/zaf/g711"
)

// The speech/silence decision is energy with hysteresis: a frame is loud
// when its RMS level passes a threshold, and speech starts after a few loud
// frames and ends after a run of quiet ones. The audio bwemu judges is test
// audio (prompts, tones, recorded utterances, the app's playback), where
// level is what separates speech from silence; a statistical VAD (WebRTC's
// needs cgo and would cost the static binary; a neural one answers "is this
// speech?", which a tone is not) would make verdicts harder to predict.
const (
	// SpeechOnLevel is the RMS level (dBFS) a frame needs to count as loud
	// while nothing is being said; -40 dBFS is well below speech at a
	// normal level (-30 to -15) and well above line noise.
	SpeechOnLevel = -40.0
	// SpeechOffLevel is the level a frame must fall below to count as quiet
	// once speech has started: the 10 dB between the two keeps soft
	// syllables inside an utterance.
	SpeechOffLevel = -50.0
	// SpeechAttack is how many loud frames in a row start speech (40 ms):
	// a click is no utterance.
	SpeechAttack = 2
	// SpeechHangover is how many quiet frames in a row end it (300 ms):
	// the pauses between words are no end of speech.
	SpeechHangover = 15
)

// Level is the RMS level of µ-law audio in dBFS (full scale 0 dB; silence
// is -Inf).
func Level(pcmu []byte) float64 {
	if len(pcmu) == 0 {
		return math.Inf(-1)
	}
	var sum float64
	for _, b := range pcmu {
		v := float64(g711.DecodeUlawFrame(b)) / 32768
		sum += v * v
	}
	if sum == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(sum/float64(len(pcmu)))
}

// A SpeechDetector tells speech from silence in a run of 20 ms µ-law
// frames, one frame at a time. The zero value is ready; it does not
// allocate.
type SpeechDetector struct {
	speaking bool
	run      int // loud frames in a row (silent) or quiet ones (speaking)
	n        int // frames pushed
	start    int // first frame of the current utterance
	lastLoud int // last loud frame of the current utterance
}

// A Span is an utterance in frames: [Start, End).
type Span struct{ Start, End int }

// Duration is the span's length in audio time.
func (s Span) Duration() time.Duration { return time.Duration(s.End-s.Start) * FrameDuration }

// Push judges the next frame. It returns a finished utterance (ended true)
// once its hangover has passed; the utterance ends after its last loud
// frame, not after the hangover.
func (d *SpeechDetector) Push(frame []byte) (u Span, ended bool) {
	i := d.n
	d.n++
	level := Level(frame)
	if !d.speaking {
		if level >= SpeechOnLevel {
			d.run++
			if d.run >= SpeechAttack {
				d.speaking, d.start, d.lastLoud, d.run = true, i-SpeechAttack+1, i, 0
			}
		} else {
			d.run = 0
		}
		return Span{}, false
	}
	if level >= SpeechOffLevel {
		d.lastLoud, d.run = i, 0
		return Span{}, false
	}
	d.run++
	if d.run < SpeechHangover {
		return Span{}, false
	}
	d.speaking, d.run = false, 0
	return Span{d.start, d.lastLoud + 1}, true
}

// Speaking reports whether an utterance is under way, and since which frame.
func (d *SpeechDetector) Speaking() (bool, int) { return d.speaking, d.start }

// Flush ends the utterance under way, if any, at the end of the audio.
func (d *SpeechDetector) Flush() (Span, bool) {
	if !d.speaking {
		return Span{}, false
	}
	d.speaking, d.run = false, 0
	return Span{d.start, d.lastLoud + 1}, true
}

// Utterances are the spans of speech in µ-law audio (8 kHz, a partial last
// frame counted as a frame).
func Utterances(pcmu []byte) []Span {
	var d SpeechDetector
	var spans []Span
	for off := 0; off < len(pcmu); off += FrameSize {
		if u, ok := d.Push(pcmu[off:min(off+FrameSize, len(pcmu))]); ok {
			spans = append(spans, u)
		}
	}
	if u, ok := d.Flush(); ok {
		spans = append(spans, u)
	}
	return spans
}

// Sound is how much of µ-law audio is loud (frames at SpeechOnLevel or
// above): zero for silence however long.
func Sound(pcmu []byte) time.Duration {
	var n int
	for off := 0; off < len(pcmu); off += FrameSize {
		if Level(pcmu[off:min(off+FrameSize, len(pcmu))]) >= SpeechOnLevel {
			n++
		}
	}
	return time.Duration(n) * FrameDuration
}

// Tone detection: the Goertzel algorithm measures the power of one
// frequency over a block; a block holds the tone when that power is most of
// the block's power. No Go module for it is served through the module
// proxy, and it is a dozen lines.
const (
	// toneBlock is 50 ms: the detector passes about ±7 Hz around the
	// frequency asked for (the main lobe of a 400-sample block).
	toneBlock = 400
	// toneShare is the share of a block's power the frequency must hold.
	toneShare = 0.5
)

// ToneDuration is how long µ-law audio holds a tone of hz: the blocks
// (50 ms, one every 20 ms) that are loud and whose power is mostly at hz.
func ToneDuration(pcmu []byte, hz float64) time.Duration {
	if len(pcmu) < toneBlock || !(hz > 0 && hz < SampleRate/2) {
		return 0
	}
	x := make([]float64, len(pcmu))
	for i, b := range pcmu {
		x[i] = float64(g711.DecodeUlawFrame(b)) / 32768
	}
	var blocks int
	for off := 0; off+toneBlock <= len(x); off += FrameSize {
		if toneShareOf(x[off:off+toneBlock], hz) >= toneShare && Level(pcmu[off:off+toneBlock]) >= SpeechOnLevel {
			blocks++
		}
	}
	if blocks == 0 {
		return 0
	}
	// The first block spans 50 ms, each further one 20 ms more.
	return time.Duration(toneBlock)*time.Second/SampleRate + time.Duration(blocks-1)*FrameDuration
}

// toneShareOf is the power at hz (Goertzel, evaluated at hz itself rather
// than at the nearest bin) over the block's whole power: 1 for a pure tone
// at hz, near 0 for silence, noise or other tones.
func toneShareOf(x []float64, hz float64) float64 {
	w := 2 * math.Pi * hz / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range x {
		s1, s2 = v+coeff*s1-s2, s1
		energy += v * v
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	// A sine of amplitude A gives power (A·N/2)² and energy A²·N/2.
	return power / (energy * float64(len(x)) / 2)
}

// HoldsSpeech says whether a finite clip holds an utterance: what a caller
// can say (emulator.Stream.Say).
func HoldsSpeech(a Audio) bool {
	return a.Duration() > 0 && len(Utterances(Render(a, a.Duration()))) > 0
}
