package media_test

import (
	"encoding/base64"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
)

// foreign is an Audio from outside the package, to exercise the generic path.
type foreign struct{}

func (foreign) Frame(n int, p []byte) {
	for i := range p {
		p[i] = byte(n + i)
	}
}
func (foreign) Duration() time.Duration { return 0 }
func (foreign) String() string          { return "foreign" }

// allSources returns one source of every kind the package has, plus a foreign one.
func allSources() []media.Audio {
	s := wavSpec{rate: 44100, bits: 16, channels: 2, format: 1}
	return []media.Audio{
		media.Silence(),
		must(media.Tone(440)),
		must(media.Tone(440.5)),
		must(media.Tone(440.123)),
		media.PCMU(make([]byte, 1000), "raw"),
		must(media.LoadWAV(writeWAV("bench.wav", s, sine(440, 0.5, s, 0.2)))),
		foreign{},
	}
}

var _ = Describe("Encode", func() {
	It("writes the standard base64 of the frame", func() {
		dst := make([]byte, 300)
		p := make([]byte, media.FrameSize)
		for _, a := range allSources() {
			for _, n := range []int{0, 1, 7, 1000} {
				a.Frame(n, p)
				used := media.Encode(a, n, dst)
				Expect(used).To(Equal(base64.StdEncoding.EncodedLen(media.FrameSize)))
				Expect(used).To(Equal(media.EncodedFrameSize))
				Expect(string(dst[:used])).To(Equal(base64.StdEncoding.EncodeToString(p)), "%s frame %d", a, n)
			}
		}
	})

	It("panics on a buffer too short for a frame, like base64.Encode", func() {
		Expect(func() { media.Encode(media.Silence(), 0, make([]byte, 100)) }).To(PanicWith(ContainSubstring("need 216")))
	})
})

var _ = Describe("the per-frame hot path", func() {
	It("does not allocate in Frame or Encode", func() {
		p := make([]byte, media.FrameSize)
		dst := make([]byte, media.EncodedFrameSize)
		for _, a := range allSources() {
			n := 0
			Expect(testing.AllocsPerRun(200, func() { a.Frame(n, p); n++ })).To(BeZero(), "Frame of %s", a)
			Expect(testing.AllocsPerRun(200, func() { media.Encode(a, n, dst); n++ })).To(BeZero(), "Encode of %s", a)
		}
	})
})
