package media_test

import (
	"math"
	"os"
	"path/filepath"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/zaf/g711"

	"github.com/bwemu/bwemu/emulator/media"
)

// wavSpec describes a WAV file for writeWAV.
type wavSpec struct {
	rate, bits, channels int
	format               int // 1 PCM, 3 float, 7 µ-law, ...
}

// writeWAV encodes samples (interleaved, in the file's integer range) with
// go-audio/wav's Encoder into a file in the spec's temp dir.
func writeWAV(name string, s wavSpec, samples []int) string {
	GinkgoHelper()
	path := filepath.Join(GinkgoT().TempDir(), name)
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	enc := wav.NewEncoder(f, s.rate, s.bits, s.channels, s.format)
	Expect(enc.Write(&audio.IntBuffer{
		Data:           samples,
		Format:         &audio.Format{NumChannels: s.channels, SampleRate: s.rate},
		SourceBitDepth: s.bits,
	})).To(Succeed())
	Expect(enc.Close()).To(Succeed())
	return path
}

// sine returns seconds of an hz sine at amplitude (fraction of full scale)
// as integer PCM samples for bits, the same on every channel.
func sine(hz, amplitude float64, s wavSpec, seconds float64) []int {
	n := int(math.Round(seconds * float64(s.rate)))
	out := make([]int, 0, n*s.channels)
	full := math.Ldexp(1, s.bits-1) - 1
	for i := range n {
		v := int(math.Round(amplitude * full * math.Sin(2*math.Pi*hz*float64(i)/float64(s.rate))))
		if s.bits == 8 {
			v += 128 // 8-bit WAV is unsigned
		}
		for range s.channels {
			out = append(out, v)
		}
	}
	return out
}

// frames reads n frames of a.
func frames(a media.Audio, n int) []byte {
	out := make([]byte, 0, n*media.FrameSize)
	p := make([]byte, media.FrameSize)
	for i := range n {
		a.Frame(i, p)
		out = append(out, p...)
	}
	return out
}

// linear decodes µ-law to 16-bit samples.
func linear(ulaw []byte) []int16 {
	out := make([]int16, len(ulaw))
	for i, b := range ulaw {
		out[i] = g711.DecodeUlawFrame(b)
	}
	return out
}

// frequency estimates the frequency of a tone from its zero crossings
// (ignoring exact zeros, which µ-law produces near the axis).
func frequency(s []int16) float64 {
	crossings, last := 0, int16(0)
	for _, v := range s {
		if v == 0 {
			continue
		}
		if last != 0 && (v > 0) != (last > 0) {
			crossings++
		}
		last = v
	}
	return float64(crossings) / 2 / (float64(len(s)) / media.SampleRate)
}

// dBFS is the RMS level of s relative to full scale, so a sine at amplitude
// A (fraction of full scale) reads 20·log10(A/√2): -9 dB for A = 0.5.
func dBFS(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(len(s)))/32768)
}
