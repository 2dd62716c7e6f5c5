package media_test

import (
	"bytes"
	"testing"

	"github.com/bwemu/bwemu/emulator/media"
)

func benchSources(b *testing.B) map[string]media.Audio {
	b.Helper()
	tone, err := media.Tone(440)
	if err != nil {
		b.Fatal(err)
	}
	odd, err := media.Tone(440.123)
	if err != nil {
		b.Fatal(err)
	}
	clip, err := media.DecodeWAV(bytes.NewReader(encodeWAV(b, 44100, 16, 2, 1, 44100)), "bench.wav")
	if err != nil {
		b.Fatal(err)
	}
	return map[string]media.Audio{
		"silence":     media.Silence(),
		"tone-table":  tone,
		"tone-phase":  odd,
		"wav":         clip,
		"pcmu-padded": media.PCMU(make([]byte, 1000), "raw"),
	}
}

// benchFrames benchmarks frame on every source, over frames 0 to 99 in
// turn, into a buffer of size bytes.
func benchFrames(b *testing.B, size int, frame func(a media.Audio, n int, p []byte)) {
	for name, a := range benchSources(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			p := make([]byte, size)
			n := 0
			for b.Loop() {
				frame(a, n%100, p)
				n++
			}
		})
	}
}

func BenchmarkFrame(b *testing.B) {
	benchFrames(b, media.FrameSize, media.Audio.Frame)
}

func BenchmarkEncode(b *testing.B) {
	benchFrames(b, media.EncodedFrameSize, func(a media.Audio, n int, dst []byte) { media.Encode(a, n, dst) })
}

// BenchmarkDecodeWAV is the one-off load cost of a 1 s 44.1 kHz stereo file.
func BenchmarkDecodeWAV(b *testing.B) {
	raw := encodeWAV(b, 44100, 16, 2, 1, 44100)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := media.DecodeWAV(bytes.NewReader(raw), "bench.wav"); err != nil {
			b.Fatal(err)
		}
	}
}
