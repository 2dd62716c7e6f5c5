package media_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/zaf/g711"

	"github.com/bwemu/bwemu/emulator/media"
)

// toneFrames is n frames of a tone of hz.
func toneFrames(hz float64, n int) []byte {
	a, err := media.Tone(hz)
	Expect(err).NotTo(HaveOccurred())
	return frames(a, n)
}

func silenceFrames(n int) []byte { return frames(media.Silence(), n) }

// quiet is n frames of a tone 52 dB below the test tone: under
// SpeechOffLevel, as line noise is.
func quiet(n int) []byte {
	loud := linear(toneFrames(300, n))
	out := make([]byte, 0, len(loud))
	for _, v := range loud {
		out = append(out, g711.EncodeUlawFrame(int16(float64(v)/400)))
	}
	return out
}

var _ = Describe("hearing audio", func() {
	It("measures a tone's level and silence's", func() {
		Expect(media.Level(toneFrames(440, 10))).To(BeNumerically("~", -9.03, 0.3))
		Expect(media.Level(silenceFrames(10))).To(Equal(math.Inf(-1)))
		Expect(media.Level(nil)).To(Equal(math.Inf(-1)))
	})

	It("finds each utterance, without the silence around it and across short pauses", func() {
		audio := bytes.Join([][]byte{
			silenceFrames(10),   // 200 ms lead-in
			toneFrames(300, 25), // 500 ms of "speech"
			silenceFrames(5),    // a 100 ms pause between words
			toneFrames(300, 10), // 200 ms more
			quiet(30),           // 600 ms of noise: the end
			toneFrames(500, 1),  // a click is no utterance
			silenceFrames(20),
			toneFrames(300, 50), // a second utterance, until the end
		}, nil)
		Expect(media.Utterances(audio)).To(Equal([]media.Span{{Start: 10, End: 50}, {Start: 101, End: 151}}))
		Expect(media.Span{Start: 10, End: 50}.Duration()).To(Equal(800 * time.Millisecond))
		Expect(media.Utterances(silenceFrames(50))).To(BeEmpty())
	})

	It("counts the loud audio in what it hears, none in silence", func() {
		Expect(media.Sound(bytes.Join([][]byte{silenceFrames(10), toneFrames(440, 30), quiet(10)}, nil))).To(Equal(600 * time.Millisecond))
		Expect(media.Sound(silenceFrames(100))).To(BeZero())
	})

	DescribeTable("finds a tone at its frequency and not at another",
		func(hz, probe float64, found bool) {
			audio := bytes.Join([][]byte{silenceFrames(25), toneFrames(hz, 50), silenceFrames(25)}, nil)
			d := media.ToneDuration(audio, probe)
			if found {
				// 1 s of tone: the blocks wholly inside it, within a block.
				Expect(d).To(BeNumerically("~", time.Second, 50*time.Millisecond))
			} else {
				Expect(d).To(BeZero())
			}
		},
		Entry("440 Hz at 440 Hz", 440.0, 440.0, true),
		Entry("1 kHz at 1 kHz", 1000.0, 1000.0, true),
		Entry("a frequency off the 20 Hz grid", 443.7, 443.7, true),
		Entry("440 Hz is not 480 Hz", 440.0, 480.0, false),
		Entry("440 Hz is not 880 Hz", 440.0, 880.0, false),
		Entry("a frequency out of range", 440.0, 5000.0, false),
	)

	It("finds no tone in silence or in quiet noise", func() {
		Expect(media.ToneDuration(silenceFrames(100), 440)).To(BeZero())
		Expect(media.ToneDuration(quiet(100), 300)).To(BeZero())
	})

	It("writes what it recorded as a WAV file it reads back the same", func() {
		audio := bytes.Join([][]byte{toneFrames(440, 25), silenceFrames(25)}, nil)
		path := filepath.Join(GinkgoT().TempDir(), "heard.wav")
		Expect(media.WriteWAV(path, audio)).To(Succeed())
		back, err := media.LoadWAV(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(back.Duration()).To(Equal(time.Second))
		Expect(frames(back, 50)).To(Equal(audio))

		Expect(media.WriteWAV(filepath.Join(path, "no", "such", "dir.wav"), audio)).To(MatchError(ContainSubstring("recording")))
		_, err = os.Stat(path)
		Expect(err).NotTo(HaveOccurred())
	})
})
