package apptest

import (
	"bytes"
	"encoding/base64"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
)

// Speech is what the caller says in specs of voice agents: 200 ms of
// silence, then 500 ms of a 300 Hz "voice" (frames 10 to 35 of the clip).
func Speech() media.Audio {
	return media.PCMU(bytes.Join([][]byte{bytes.Repeat([]byte{media.SilenceByte}, 10*media.FrameSize),
		ToneFrames(300, 25)}, nil), "speech")
}

// ToneFrames is n 20 ms frames of a tone of hz, as µ-law.
func ToneFrames(hz float64, n int) []byte {
	a, err := media.Tone(hz)
	if err != nil {
		panic(err) // a spec's own constant is wrong
	}
	return media.Render(a, time.Duration(n)*media.FrameDuration)
}

// PlayPCMU is a playAudio message of µ-law audio.
func PlayPCMU(audio []byte) string {
	return `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + base64.StdEncoding.EncodeToString(audio) + `"}}`
}

// PlayTone is a playAudio message of d of a tone of hz: a voice agent's answer.
func PlayTone(hz float64, d time.Duration) string {
	return PlayPCMU(ToneFrames(hz, int(d/media.FrameDuration)))
}

// Clear is the app's clear message (barge-in).
const Clear = `{"eventType":"clear"}`
