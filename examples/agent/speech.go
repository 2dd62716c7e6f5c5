package agent

import (
	"math"
	"time"

	"github.com/zaf/g711"
)

// What the speech detector hears in the caller's audio.
type heard int

const (
	heardNothing  heard = iota
	speechStarted       // the caller began an utterance
	speechEnded         // the caller finished one: the agent's turn
)

func (h heard) String() string {
	switch h {
	case speechStarted:
		return "speech started"
	case speechEnded:
		return "speech ended"
	}
	return "nothing"
}

// The speech detector's thresholds. Levels are the RMS of a chunk of
// audio in 16-bit linear samples (full scale 32767). Both the level and the
// time have hysteresis, so a voice that dips between words does not flap
// between speech and silence.
const (
	// speechLevel is the level a chunk must reach to count as loud: about
	// -30 dBFS, far above line noise and µ-law's rendering of silence,
	// well below a voice at a normal level.
	speechLevel = 1000
	// silenceLevel is the level under which a chunk counts as quiet; audio
	// between the two levels keeps the detector where it is.
	silenceLevel = 500
	// speechStartAfter is how long the caller must be loud for speech to
	// start: a click or a cough shorter than that is not them talking.
	speechStartAfter = 60 * time.Millisecond
	// speechEndAfter is how long they must be quiet for it to end: a
	// shorter pause is between words, not the end of their turn.
	speechEndAfter = 300 * time.Millisecond
)

// speechDetector finds the caller's utterances in the inbound audio with
// an energy detector. It counts the audio's own time (samples), not the
// clock, so it hears the same whether audio comes in real time or faster.
type speechDetector struct {
	speaking bool
	loud     time.Duration // how long the caller has been loud in a row (while silent)
	quiet    time.Duration // how long they have been quiet in a row (while speaking)
}

// listen takes the next chunk of inbound PCMU (Bandwidth sends 20 ms a
// message) and says whether an utterance started or ended with it.
func (d *speechDetector) listen(pcmu []byte) heard {
	if len(pcmu) == 0 {
		return heardNothing
	}
	level := rms(pcmu)
	length := time.Duration(len(pcmu)) * time.Second / sampleRate
	if !d.speaking {
		if sustained(&d.loud, level >= speechLevel, length, speechStartAfter) {
			d.speaking, d.quiet = true, 0
			return speechStarted
		}
		return heardNothing
	}
	if sustained(&d.quiet, level < silenceLevel, length, speechEndAfter) {
		d.speaking, d.loud = false, 0
		return speechEnded
	}
	return heardNothing
}

// sustained is the detector's time hysteresis, the same for speech
// starting and ending. run is how long a condition (loud, or quiet) has
// held in a row: a chunk for which it still holds adds its length, one for
// which it does not starts the count again. It reports whether the
// condition has now held for at least need.
func sustained(run *time.Duration, holds bool, length, need time.Duration) bool {
	if holds {
		*run += length
	} else {
		*run = 0
	}
	return *run >= need
}

// rms is the root mean square of the µ-law audio, decoded to 16-bit linear.
func rms(pcmu []byte) float64 {
	var sum float64
	for _, b := range pcmu {
		s := float64(g711.DecodeUlawFrame(b))
		sum += s * s
	}
	return math.Sqrt(sum / float64(len(pcmu)))
}
