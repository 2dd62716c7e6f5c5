package media_test

import (
	"math"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
)

var _ = Describe("Tone", func() {
	DescribeTable("produces a sine of the asked frequency at about -6 dBFS peak",
		func(hz float64, name string) {
			a, err := media.Tone(hz)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.String()).To(Equal(name))
			Expect(a.Duration()).To(BeZero())

			s := linear(frames(a, 100)) // 2 s
			Expect(frequency(s)).To(BeNumerically("~", hz, 1))
			// RMS of a sine at half of full scale: -9 dBFS.
			Expect(dBFS(s)).To(BeNumerically("~", -9.03, 0.3))
		},
		Entry("A4", 440.0, "tone:440Hz"),
		Entry("1 kHz", 1000.0, "tone:1000Hz"),
		Entry("low", 50.0, "tone:50Hz"),
		Entry("one decimal: precomputed 2 s cycle", 440.5, "tone:440.5Hz"),
		Entry("many decimals: computed per sample", 440.123, "tone:440.123Hz"),
		Entry("high", 3400.0, "tone:3400Hz"),
	)

	DescribeTable("repeats seamlessly across its precomputed table",
		func(hz float64, period int) {
			a, err := media.Tone(hz)
			Expect(err).NotTo(HaveOccurred())
			Expect(frames(a, 3*period)).To(Equal(repeat(frames(a, period), 3)))
		},
		Entry("integer Hz repeat every second", 440.0, 50),
		Entry("half Hz every two seconds", 440.5, 100),
	)

	It("keeps its phase in late frames of a long stream", func() {
		a, err := media.Tone(440.123)
		Expect(err).NotTo(HaveOccurred())
		const start = 10_000_000 // 55 hours in
		p := make([]byte, media.FrameSize)
		var s []int16
		for n := start; n < start+50; n++ {
			a.Frame(n, p)
			s = append(s, linear(p)...)
		}
		Expect(frequency(s)).To(BeNumerically("~", 440.123, 1))
		// Compare with the exact sine at that time (µ-law is ~3% accurate).
		for i, v := range s {
			t := float64(start*media.FrameSize+i) / media.SampleRate
			want := 0.5 * 32767 * math.Sin(2*math.Pi*math.Mod(440.123*t, 1))
			Expect(float64(v)).To(BeNumerically("~", want, 700), "sample %d", i)
		}
	})

	It("is silent before frame 0", func() {
		a, err := media.Tone(440)
		Expect(err).NotTo(HaveOccurred())
		p := make([]byte, media.FrameSize)
		a.Frame(-1, p)
		Expect(p).To(HaveEach(BeEquivalentTo(media.SilenceByte)))
	})

	DescribeTable("rejects frequencies it cannot represent at 8 kHz",
		func(hz float64) {
			_, err := media.Tone(hz)
			Expect(err).To(MatchError(ContainSubstring("below 4000 Hz")))
		},
		Entry("zero", 0.0),
		Entry("negative", -440.0),
		Entry("Nyquist", 4000.0),
		Entry("above Nyquist", 5000.0),
		Entry("NaN", math.NaN()),
		Entry("infinite", math.Inf(1)),
	)
})

func repeat(b []byte, n int) []byte {
	var out []byte
	for range n {
		out = append(out, b...)
	}
	return out
}
