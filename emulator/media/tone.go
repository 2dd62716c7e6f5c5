package media

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/zaf/g711"
)

const (
	// toneAmplitude is half of full scale, -6 dBFS: loud enough for level
	// detectors and speech/DTMF-style analysis, with headroom so µ-law never
	// clips.
	toneAmplitude = 0.5 * math.MaxInt16

	// maxToneTableSeconds bounds the precomputed table. A tone whose
	// frequency times k is a whole number of Hz repeats exactly every k
	// seconds (k*8000 samples, a whole number of frames), so any frequency
	// with up to one decimal (440, 440.5, 1209.7) is served from a table of
	// at most 80 kB.
	maxToneTableSeconds = 10
)

// Tone returns an endless sine wave of hz at about -6 dBFS. hz must be above 0
// and below 4000 Hz, the Nyquist frequency of 8 kHz audio.
func Tone(hz float64) (Audio, error) {
	if !(hz > 0 && hz < SampleRate/2) { // also rejects NaN
		return nil, fmt.Errorf("tone frequency %gHz out of range: must be above 0 and below %d Hz (half the %d Hz sample rate)", hz, SampleRate/2, SampleRate)
	}
	name := "tone:" + strconv.FormatFloat(hz, 'f', -1, 64) + "Hz"
	for k := 1; k <= maxToneTableSeconds; k++ {
		cycles := math.Round(hz * float64(k)) // whole cycles in k seconds
		if math.Abs(hz*float64(k)-cycles) < 1e-9 {
			return newTableTone(int64(cycles), k, name), nil
		}
	}
	return newPhaseTone(hz, name), nil
}

// tableTone is a tone that repeats exactly after len(table) samples, so a
// frame is a copy out of the table.
type tableTone struct {
	table []byte // µ-law, a whole number of frames
	name  string
}

// newTableTone precomputes `seconds` seconds of a tone with `cycles` whole
// cycles in that time. The phase is computed with integers so the end of
// the table joins its start without a glitch.
func newTableTone(cycles int64, seconds int, name string) *tableTone {
	n := int64(seconds) * SampleRate
	table := make([]byte, n)
	for s := range n {
		phase := float64(cycles*s%n) / float64(n)
		table[s] = g711.EncodeUlawFrame(int16(math.Round(toneAmplitude * math.Sin(2*math.Pi*phase))))
	}
	return &tableTone{table: table, name: name}
}

func (t *tableTone) Frame(n int, p []byte) {
	if n < 0 {
		fillSilence(p)
		return
	}
	off := n % (len(t.table) / FrameSize) * FrameSize
	for len(p) > 0 {
		p = p[copy(p, t.table[off:]):]
		off = 0
	}
}

func (t *tableTone) Duration() time.Duration { return 0 }
func (t *tableTone) String() string          { return t.name }

// phaseTone serves frequencies that do not repeat within
// maxToneTableSeconds by computing each sample; that costs a few µs per frame
// instead of a copy, which is fine for the rare odd frequency.
type phaseTone struct {
	whole int64   // integer part of the frequency, Hz
	frac  float64 // fractional part, Hz
	name  string
}

func newPhaseTone(hz float64, name string) *phaseTone {
	whole := math.Floor(hz)
	return &phaseTone{whole: int64(whole), frac: hz - whole, name: name}
}

func (t *phaseTone) Frame(n int, p []byte) {
	if n < 0 {
		fillSilence(p)
		return
	}
	s0 := int64(n) * FrameSize
	for i := range p {
		s := s0 + int64(i)
		// The integer part of the phase is reduced exactly, so precision
		// does not decay over a long stream; only the fractional
		// frequency is multiplied in floating point.
		cycles := float64(t.whole*s%SampleRate) + math.Mod(t.frac*float64(s), SampleRate)
		p[i] = g711.EncodeUlawFrame(int16(math.Round(toneAmplitude * math.Sin(2*math.Pi*cycles/SampleRate))))
	}
}

func (t *phaseTone) Duration() time.Duration { return 0 }
func (t *phaseTone) String() string          { return t.name }
