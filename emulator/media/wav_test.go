package media_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/zaf/g711"

	"github.com/bwemu/bwemu/emulator/media"
)

var _ = Describe("LoadWAV", func() {
	DescribeTable("converts PCM WAV to 8 kHz PCMU, keeping pitch, level and length",
		func(s wavSpec, seconds float64) {
			path := writeWAV("tone.wav", s, sine(440, 0.5, s, seconds))
			a, err := media.LoadWAV(path)
			Expect(err).NotTo(HaveOccurred())

			wantSamples := int(seconds * media.SampleRate)
			Expect(a.Duration()).To(Equal(time.Duration(seconds * float64(time.Second))))
			Expect(a.String()).To(Equal("tone.wav (" + a.Duration().String() + ")"))

			nFrames := (wantSamples + media.FrameSize - 1) / media.FrameSize
			all := frames(a, nFrames+2)
			// Skip the filter's edge effects, then measure.
			s16 := linear(all[400 : wantSamples-400])
			Expect(frequency(s16)).To(BeNumerically("~", 440, 2))
			Expect(dBFS(s16)).To(BeNumerically("~", -9.03, 0.5))
			// Everything after the recording is silence.
			Expect(all[wantSamples:]).To(HaveEach(BeEquivalentTo(media.SilenceByte)))
			Expect(len(all[wantSamples:])).To(BeNumerically(">=", 2*media.FrameSize))
		},
		Entry("16-bit 44.1 kHz stereo", wavSpec{rate: 44100, bits: 16, channels: 2, format: 1}, 1.0),
		Entry("16-bit 8 kHz mono", wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}, 1.0),
		Entry("8-bit 8 kHz mono", wavSpec{rate: 8000, bits: 8, channels: 1, format: 1}, 0.5),
		Entry("8-bit 11.025 kHz mono", wavSpec{rate: 11025, bits: 8, channels: 1, format: 1}, 1.0),
		Entry("24-bit 48 kHz mono", wavSpec{rate: 48000, bits: 24, channels: 1, format: 1}, 1.0),
		Entry("32-bit 16 kHz mono", wavSpec{rate: 16000, bits: 32, channels: 1, format: 1}, 1.0),
		Entry("16-bit 22.05 kHz, 6 channels", wavSpec{rate: 22050, bits: 16, channels: 6, format: 1}, 0.75),
		Entry("16-bit 6 kHz mono (upsampled)", wavSpec{rate: 6000, bits: 16, channels: 1, format: 1}, 1.0),
		Entry("16-bit 48 kHz, WAVE_FORMAT_EXTENSIBLE", wavSpec{rate: 48000, bits: 16, channels: 2, format: 0xFFFE}, 1.0),
	)

	DescribeTable("reads IEEE float WAV, as audio editors export it",
		func(bits int, rate int) {
			n := rate / 2 // half a second
			var data bytes.Buffer
			for i := range n {
				v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
				if bits == 64 {
					Expect(binary.Write(&data, binary.LittleEndian, v)).To(Succeed())
				} else {
					Expect(binary.Write(&data, binary.LittleEndian, float32(v))).To(Succeed())
				}
			}
			path := filepath.Join(GinkgoT().TempDir(), "float.wav")
			Expect(os.WriteFile(path, floatWAV(rate, bits, data.Bytes()), 0o644)).To(Succeed())
			a, err := media.LoadWAV(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.Duration()).To(Equal(500 * time.Millisecond))
			s16 := linear(frames(a, 25)[400:3600])
			Expect(frequency(s16)).To(BeNumerically("~", 440, 2))
			Expect(dBFS(s16)).To(BeNumerically("~", -9.03, 0.5))
		},
		Entry("32-bit at 8 kHz", 32, 8000),
		Entry("64-bit at 48 kHz", 64, 48000),
	)

	It("keeps 16-bit 8 kHz mono samples exact apart from µ-law itself", func() {
		s := wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}
		in := sine(1000, 0.3, s, 0.1)
		a, err := media.LoadWAV(writeWAV("exact.wav", s, in))
		Expect(err).NotTo(HaveOccurred())
		got := frames(a, 5)
		for i, v := range in {
			Expect(got[i]).To(Equal(g711.EncodeUlawFrame(int16(v))), "sample %d", i)
		}
	})

	It("mixes channels down by averaging", func() {
		s := wavSpec{rate: 8000, bits: 16, channels: 2, format: 1}
		mono := sine(440, 0.5, wavSpec{rate: 8000, bits: 16, channels: 1}, 1)
		opposite := make([]int, 0, 2*len(mono)) // right = -left: cancels out
		half := make([]int, 0, 2*len(mono))     // right silent: half the amplitude
		for _, v := range mono {
			opposite = append(opposite, v, -v)
			half = append(half, v, 0)
		}
		a, err := media.LoadWAV(writeWAV("opposite.wav", s, opposite))
		Expect(err).NotTo(HaveOccurred())
		Expect(frames(a, 50)).To(HaveEach(BeEquivalentTo(media.SilenceByte)))

		a, err = media.LoadWAV(writeWAV("half.wav", s, half))
		Expect(err).NotTo(HaveOccurred())
		Expect(dBFS(linear(frames(a, 50)))).To(BeNumerically("~", -15.05, 0.3)) // -9 dB - 6 dB
	})

	It("filters out content above 4 kHz instead of aliasing it into the band", func() {
		s := wavSpec{rate: 44100, bits: 16, channels: 1, format: 1}
		for _, hz := range []float64{4500, 6000, 10000} {
			a, err := media.LoadWAV(writeWAV("high.wav", s, sine(hz, 0.5, s, 1)))
			Expect(err).NotTo(HaveOccurred())
			// Naively decimated, these would come out at -9 dBFS.
			Expect(dBFS(linear(frames(a, 50)[400:7600]))).To(BeNumerically("<", -60), "%g Hz", hz)
		}
	})

	It("passes 8 kHz mono µ-law WAV through untouched", func() {
		ulaw := make([]int, 1000)
		for i := range ulaw {
			ulaw[i] = i % 256
		}
		a, err := media.LoadWAV(writeWAV("ulaw.wav", wavSpec{rate: 8000, bits: 8, channels: 1, format: 7}, ulaw))
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Duration()).To(Equal(125 * time.Millisecond))
		got := frames(a, 7)
		for i, v := range ulaw {
			Expect(got[i]).To(BeEquivalentTo(v))
		}
		Expect(got[1000:]).To(HaveEach(BeEquivalentTo(media.SilenceByte)))
	})

	It("converts A-law and µ-law at other rates", func() {
		lin := sine(440, 0.5, wavSpec{rate: 16000, bits: 16, channels: 1}, 1)
		alaw := make([]int, len(lin))
		ulaw := make([]int, 0, 2*len(lin))
		for i, v := range lin {
			alaw[i] = int(g711.EncodeAlawFrame(int16(v)))
			ulaw = append(ulaw, int(g711.EncodeUlawFrame(int16(v))), int(g711.EncodeUlawFrame(int16(v))))
		}
		for _, a := range []media.Audio{
			must(media.LoadWAV(writeWAV("alaw.wav", wavSpec{rate: 16000, bits: 8, channels: 1, format: 6}, alaw))),
			must(media.LoadWAV(writeWAV("ulaw.wav", wavSpec{rate: 16000, bits: 8, channels: 2, format: 7}, ulaw))),
		} {
			Expect(a.Duration()).To(Equal(time.Second))
			s := linear(frames(a, 50)[400:7600])
			Expect(frequency(s)).To(BeNumerically("~", 440, 2))
			Expect(dBFS(s)).To(BeNumerically("~", -9.03, 0.5))
		}
	})

	It("does not play the RIFF pad byte of an odd-sized data chunk", func() {
		// 8-bit mono, 161 samples: the writer adds a pad byte of 0 (which
		// as 8-bit PCM would be a full-scale click).
		path := writeWAV("odd.wav", wavSpec{rate: 8000, bits: 8, channels: 1, format: 1}, constant(128, 161))
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		Expect(err).NotTo(HaveOccurred())
		_, err = f.Write([]byte{0})
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Close()).To(Succeed())

		a, err := media.LoadWAV(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Duration()).To(Equal(161 * time.Second / 8000))
		Expect(frames(a, 3)).To(HaveEach(BeEquivalentTo(media.SilenceByte)))
	})

	It("reads a streamed WAV whose data size is unknown to the end of the file", func() {
		s := wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}
		raw, err := os.ReadFile(writeWAV("streamed.wav", s, sine(440, 0.5, s, 0.5)))
		Expect(err).NotTo(HaveOccurred())
		binary.LittleEndian.PutUint32(raw[40:], 0xFFFFFFFF) // data size
		binary.LittleEndian.PutUint32(raw[4:], 0xFFFFFFFF)  // RIFF size
		a, err := media.DecodeWAV(bytes.NewReader(raw), "streamed.wav")
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Duration()).To(Equal(500 * time.Millisecond))
	})

	Describe("errors", func() {
		write := func(name string, content []byte) string {
			path := filepath.Join(GinkgoT().TempDir(), name)
			Expect(os.WriteFile(path, content, 0o600)).To(Succeed())
			return path
		}
		validWAV := func() []byte {
			s := wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}
			raw, err := os.ReadFile(writeWAV("valid.wav", s, sine(440, 0.5, s, 1)))
			Expect(err).NotTo(HaveOccurred())
			return raw
		}
		// edited writes a valid WAV, changed by edit, as name.
		edited := func(name string, edit func(raw []byte)) func() string {
			return func() string {
				raw := validWAV()
				edit(raw)
				return write(name, raw)
			}
		}

		DescribeTable("name the file, say what is wrong and what is supported",
			func(makeFile func() string, want string) {
				path := makeFile()
				a, err := media.LoadWAV(path)
				Expect(a).To(BeNil())
				Expect(err).To(MatchError(HavePrefix(path + ": ")))
				Expect(err).To(MatchError(ContainSubstring(want)))
			},
			Entry("text file named .wav", func() string { return write("notes.wav", []byte("hello, this is not audio\n")) },
				"not a WAV file (no RIFF/WAVE header): bwemu reads integer PCM WAV (8/16/24/32-bit), IEEE float WAV (32/64-bit) or µ-law"),
			Entry("empty file", func() string { return write("empty.wav", nil) }, "empty file"),
			Entry("16-bit IEEE float", func() string {
				return writeWAV("float.wav", wavSpec{rate: 8000, bits: 16, channels: 1, format: 3}, constant(0, 100))
			}, "unsupported float bit depth 16 (want 32 or 64): bwemu reads integer PCM WAV (8/16/24/32-bit), IEEE float WAV (32/64-bit) or µ-law"),
			Entry("MP3 in a WAV", func() string {
				return writeWAV("mp3.wav", wavSpec{rate: 8000, bits: 16, channels: 1, format: 0x55}, constant(0, 100))
			}, "unsupported WAV encoding (format 85, MP3)"),
			Entry("32-bit extensible (maybe float)", func() string {
				return writeWAV("ext.wav", wavSpec{rate: 8000, bits: 32, channels: 1, format: 0xFFFE}, constant(0, 100))
			}, "32-bit WAVE_FORMAT_EXTENSIBLE"),
			Entry("truncated inside the samples", func() string { return write("cut.wav", validWAV()[:1000]) },
				"truncated WAV: data chunk declares 16000 bytes but only 956 are present"),
			Entry("truncated inside the header", func() string { return write("cut.wav", validWAV()[:30]) },
				`truncated or malformed WAV: "fmt " chunk at byte 12 claims 16 bytes but only 10 follow`),
			Entry("no fmt chunk", edited("nofmt.wav", func(raw []byte) { copy(raw[12:], "JUNK") }), "no usable fmt chunk"),
			Entry("no data chunk", func() string { return write("nodata.wav", validWAV()[:36]) }, "no data chunk"),
			Entry("no samples", func() string {
				return writeWAV("silent.wav", wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}, nil)
			}, "WAV holds no audio samples"),
			Entry("0 channels", edited("nochan.wav", func(raw []byte) { binary.LittleEndian.PutUint16(raw[22:], 0) }), "0 channels"),
			Entry("12-bit samples", edited("12bit.wav", func(raw []byte) { binary.LittleEndian.PutUint16(raw[34:], 12) }),
				"unsupported PCM bit depth 12"),
			Entry("absurd sample rate", edited("slow.wav", func(raw []byte) { binary.LittleEndian.PutUint32(raw[24:], 3) }),
				"unsupported WAV sample rate 3 Hz"),
		)

		It("names a missing file", func() {
			_, err := media.LoadWAV("/nonexistent/greeting.wav")
			Expect(err).To(MatchError(And(ContainSubstring("/nonexistent/greeting.wav"), ContainSubstring("no such file"))))
			Expect(err).To(MatchError(os.ErrNotExist))
		})

		It("uses the given name with DecodeWAV", func() {
			_, err := media.DecodeWAV(bytes.NewReader([]byte("RIFF")), "greeting.wav")
			Expect(err).To(MatchError(HavePrefix("greeting.wav: not a WAV file")))
		})
	})
})

func constant(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func must(a media.Audio, err error) media.Audio {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return a
}

// floatWAV is a mono IEEE float WAV file (format 3) around data.
func floatWAV(rate, bits int, data []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { Expect(binary.Write(&b, binary.LittleEndian, v)).To(Succeed()) }
	b.WriteString("RIFF")
	le(uint32(4 + 8 + 16 + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(3)) // IEEE float
	le(uint16(1))
	le(uint32(rate))
	le(uint32(rate * bits / 8))
	le(uint16(bits / 8))
	le(uint16(bits))
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}
