package media_test

import (
	"bytes"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
)

var _ = Describe("Silence", func() {
	It("is endless µ-law silence", func() {
		a := media.Silence()
		Expect(a.String()).To(Equal("silence"))
		Expect(a.Duration()).To(BeZero())
		Expect(frames(a, 3)).To(Equal(bytes.Repeat([]byte{media.SilenceByte}, 3*media.FrameSize)))
	})

	It("has constants that agree with each other", func() {
		Expect(media.FrameSize).To(Equal(int(media.SampleRate * media.FrameDuration / time.Second)))
		Expect(media.SilenceByte).To(BeEquivalentTo(0xFF))
	})
})

var _ = Describe("PCMU", func() {
	// 2.5 frames of counting bytes, so every position is recognisable.
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i)
	}

	It("serves the bytes frame by frame and pads the last partial frame with silence", func() {
		a := media.PCMU(data, "count.ulaw")
		got := frames(a, 4)
		Expect(got[:400]).To(Equal(data))
		Expect(got[400:]).To(Equal(bytes.Repeat([]byte{media.SilenceByte}, 4*media.FrameSize-400)))
	})

	It("reports its duration and name", func() {
		a := media.PCMU(data, "count.ulaw")
		Expect(a.Duration()).To(Equal(50 * time.Millisecond))
		Expect(a.String()).To(Equal("count.ulaw (50ms)"))
		Expect(media.PCMU(data[:160], "").String()).To(Equal("pcmu (20ms)"))
	})

	It("copies the caller's bytes", func() {
		buf := bytes.Clone(data)
		a := media.PCMU(buf, "x")
		buf[0] = 0x42
		p := make([]byte, media.FrameSize)
		a.Frame(0, p)
		Expect(p[0]).To(BeEquivalentTo(0))
	})

	It("is silent before frame 0 and far past the end", func() {
		a := media.PCMU(data, "x")
		silent := bytes.Repeat([]byte{media.SilenceByte}, media.FrameSize)
		p := make([]byte, media.FrameSize)
		for _, n := range []int{-1, -1 << 40, 3, 1 << 40, int(^uint(0) >> 1)} {
			a.Frame(n, p)
			Expect(p).To(Equal(silent), "frame %d", n)
		}
	})

	It("fills buffers of other lengths without panicking", func() {
		a := media.PCMU(data, "x")
		short := make([]byte, 10)
		a.Frame(1, short)
		Expect(short).To(Equal(data[160:170]))
		long := make([]byte, 300)
		a.Frame(1, long)
		Expect(long[:240]).To(Equal(data[160:]))
		Expect(long[240:]).To(HaveEach(BeEquivalentTo(media.SilenceByte)))
	})
})

var _ = Describe("concurrent streams", func() {
	It("serve the same frames to many goroutines at once", func() {
		tone, err := media.Tone(440)
		Expect(err).NotTo(HaveOccurred())
		odd, err := media.Tone(440.123)
		Expect(err).NotTo(HaveOccurred())
		sources := []media.Audio{media.Silence(), tone, odd, media.PCMU(bytes.Repeat([]byte{1, 2, 3}, 1000), "x")}
		for _, a := range sources {
			want := frames(a, 120)
			var wg sync.WaitGroup
			results := make([][]byte, 16)
			for g := range results {
				wg.Go(func() { results[g] = frames(a, 120) })
			}
			wg.Wait()
			for _, got := range results {
				Expect(got).To(Equal(want), a.String())
			}
		}
	})
})
