package media_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"github.com/bwemu/bwemu/emulator/media"
)

// FuzzDecodeWAV checks that no input makes DecodeWAV panic, and that what it
// accepts is a usable source. Run with: go test -fuzz=FuzzDecodeWAV ./emulator/media/
func FuzzDecodeWAV(f *testing.F) {
	for _, s := range []struct{ rate, bits, channels, format int }{
		{8000, 16, 1, 1}, {44100, 16, 2, 1}, {8000, 8, 1, 7}, {48000, 24, 1, 1}, {16000, 32, 1, 3},
	} {
		f.Add(encodeWAV(f, s.rate, s.bits, s.channels, s.format, 50))
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Add([]byte("not a wav"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := media.DecodeWAV(bytes.NewReader(data), "fuzz.wav")
		if err != nil {
			if a != nil {
				t.Fatal("source and error both returned")
			}
			return
		}
		if a.Duration() <= 0 {
			t.Fatalf("accepted audio with duration %v", a.Duration())
		}
		p := make([]byte, media.FrameSize)
		a.Frame(0, p)
	})
}

// encodeWAV builds an in-memory WAV of n samples per channel.
func encodeWAV(tb testing.TB, rate, bits, channels, format, n int) []byte {
	tb.Helper()
	f, err := os.CreateTemp(tb.TempDir(), "*.wav")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	data := make([]int, n*channels)
	for i := range data {
		data[i] = i * 37 % 100
	}
	enc := wav.NewEncoder(f, rate, bits, channels, format)
	if err := enc.Write(&audio.IntBuffer{Data: data, Format: &audio.Format{NumChannels: channels, SampleRate: rate}}); err != nil {
		tb.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// Corrupt headers that go-audio/wav turns into huge allocations or bad
// indexes must come back as errors.
func TestDecodeWAVHostileHeaders(t *testing.T) {
	valid := encodeWAV(t, 8000, 16, 1, 1, 100)
	for name, corrupt := range map[string]func([]byte){
		"fmt size 4 GB":   func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 0xFFFFFFF0) },
		"fmt size 0":      func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 0) },
		"65535 channels":  func(b []byte) { binary.LittleEndian.PutUint16(b[22:], 0xFFFF) },
		"data size 4 GB":  func(b []byte) { binary.LittleEndian.PutUint32(b[40:], 0xFFFFFFF0) },
		"LIST size 4 GB":  func(b []byte) { copy(b[36:], "LIST"); binary.LittleEndian.PutUint32(b[40:], 0xFFFFFFF0) },
		"INFO entry 4 GB": nil, // built below
	} {
		b := bytes.Clone(valid)
		if corrupt != nil {
			corrupt(b)
		} else {
			// A LIST/INFO chunk before the data whose one entry claims 4 GB.
			list := []byte("LIST\x10\x00\x00\x00INFOINAM\xf0\xff\xff\xffabcd")
			b = append(append(b[:36:36], list...), valid[36:]...)
		}
		if _, err := media.DecodeWAV(bytes.NewReader(b), name); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
