package agent

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"time"

	"github.com/zaf/g711"
)

// The audio format both ways: PCMU, 8000 Hz, mono; Bandwidth's media
// messages carry 20 ms each, and the agent answers in the same chunks.
const (
	sampleRate    = 8000
	chunkDuration = 20 * time.Millisecond
	chunkSamples  = sampleRate * int(chunkDuration) / int(time.Second)
)

const (
	// replyAmplitude is the reply tone's peak: 30 % of full scale (about
	// -10 dBFS), plainly audible and far above any silence detector, with
	// headroom so µ-law never clips.
	replyAmplitude = 0.3 * math.MaxInt16
	// fadeDuration ramps the tone in and out: a sine that starts or stops
	// at full amplitude clicks.
	fadeDuration = 5 * time.Millisecond
)

// playAudio is the message that plays audio to the caller on a
// bidirectional stream (PROTOCOL §4).
type playAudio struct {
	EventType string `json:"eventType"`
	Media     struct {
		ContentType string `json:"contentType"`
		Payload     string `json:"payload"`
	} `json:"media"`
}

// clearMessage makes Bandwidth drop the audio it has queued (barge-in).
var clearMessage = []byte(`{"eventType":"clear"}`)

// replyMessages renders the reply, a tone of hz lasting length, as PCMU
// cut into 20 ms playAudio messages (the last may be shorter). They are
// encoded once per agent, so the speaker only writes.
func replyMessages(hz float64, length time.Duration) [][]byte {
	samples := int(length * sampleRate / time.Second)
	fade := int(fadeDuration * sampleRate / time.Second)
	pcmu := make([]byte, samples)
	for i := range pcmu {
		gain := 1.0
		if edge := min(i, samples-1-i); edge < fade {
			gain = 0.5 - 0.5*math.Cos(math.Pi*float64(edge)/float64(fade)) // a raised-cosine ramp
		}
		v := gain * replyAmplitude * math.Sin(2*math.Pi*hz*float64(i)/sampleRate)
		pcmu[i] = g711.EncodeUlawFrame(int16(math.Round(v)))
	}
	var out [][]byte
	for len(pcmu) > 0 {
		n := min(chunkSamples, len(pcmu))
		var m playAudio
		m.EventType = "playAudio"
		m.Media.ContentType = "audio/pcmu"
		m.Media.Payload = base64.StdEncoding.EncodeToString(pcmu[:n])
		b, _ := json.Marshal(m) // strings only: Marshal cannot fail
		out = append(out, b)
		pcmu = pcmu[n:]
	}
	return out
}
