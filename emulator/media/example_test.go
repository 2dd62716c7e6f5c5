package media_test

import (
	"fmt"

	"github.com/bwemu/bwemu/emulator/media"
)

func ExampleParse() {
	for _, spec := range []string{"silence", "tone:440", "hold-music.mp3"} {
		a, err := media.Parse(spec)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s, duration %v (0 = endless)\n", a, a.Duration())
	}
	// Output:
	// silence, duration 0s (0 = endless)
	// tone:440Hz, duration 0s (0 = endless)
	// error: audio spec "hold-music.mp3" not understood: use "silence", "tone:HZ" (e.g. tone:440), a .wav file, or a raw µ-law file (.pcmu, .ulaw, .raw)
}

func ExampleTone() {
	a, err := media.Tone(1000)
	if err != nil {
		panic(err)
	}
	frame := make([]byte, media.FrameSize)
	a.Frame(0, frame) // frame n covers n*20ms .. (n+1)*20ms
	fmt.Println(a)
	fmt.Printf("first samples (µ-law): % x\n", frame[:8])

	// The payload of a Bandwidth media message, without allocating.
	payload := make([]byte, media.EncodedFrameSize)
	n := media.Encode(a, 0, payload)
	fmt.Println(string(payload[:16]), "...", n, "bytes")

	_, err = media.Tone(4000)
	fmt.Println(err)
	// Output:
	// tone:1000Hz
	// first samples (µ-law): ff 99 8f 99 ff 19 0f 19
	// /5mPmf8ZDxn/mY+Z ... 216 bytes
	// tone frequency 4000Hz out of range: must be above 0 and below 4000 Hz (half the 8000 Hz sample rate)
}
