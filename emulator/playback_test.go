package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/zaf/g711"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// playPCMU is a playAudio message of µ-law bytes.
func playPCMU(audio []byte) string {
	return `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + base64.StdEncoding.EncodeToString(audio) + `"}}`
}

// frames is n 20 ms frames, the i-th all of byte first+i.
func frames(first byte, n int) []byte {
	var out []byte
	for i := range n {
		out = append(out, bytes.Repeat([]byte{first + byte(i)}, media.FrameSize)...)
	}
	return out
}

var _ = Describe("the app's playback, as the caller hears it", func() {
	// play streams both tracks bidirectionally in real time to an app that
	// acts as told, for d, and returns the result and what the outbound
	// track carried.
	play := func(ctx SpecContext, d time.Duration, bs ...apptest.Behaviour) (*emulator.Emulator, *emulator.StreamResult, []string) {
		app := apptest.NewWS(bs...)
		e := apptest.NewEmulator(nil)
		s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(),
			Mode: protocol.ModeBidirectional, Tracks: "both"})
		Expect(s.Media(ctx, d)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		var out []string
		for _, m := range app.First().MediaOn(protocol.TrackOutbound) {
			out = append(out, m.Payload)
		}
		return e, res, out
	}
	frameOf := func(b byte) string {
		return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, media.FrameSize))
	}

	It("plays the app's audio in real time, a frame a period, on the outbound track the app receives", func(ctx SpecContext) {
		_, res, outbound := play(ctx, 400*time.Millisecond, apptest.Send(playPCMU(frames(0x10, 3))))
		Expect(outbound).To(ContainElements(frameOf(0x10), frameOf(0x11), frameOf(0x12)))
		i := 0
		for i < len(outbound) && outbound[i] != frameOf(0x10) {
			i++
		}
		Expect(outbound[i:i+3]).To(Equal([]string{frameOf(0x10), frameOf(0x11), frameOf(0x12)}), "in order, one a period")
		Expect(res.Playback.Played).To(Equal(60 * time.Millisecond))
		Expect(res.Playback.Underruns).To(BeZero())
	})

	It("drops what is queued on clear (barge-in) and says how much", func(ctx SpecContext) {
		e, res, outbound := play(ctx, 600*time.Millisecond, apptest.Send(playPCMU(frames(0x20, 100))),
			apptest.After(10, apptest.Send(`{"eventType":"clear"}`)))
		Expect(res.Playback.Cleared).To(BeNumerically(">", time.Second), "most of the 2 s was still queued")
		Expect(res.Playback.Played + res.Playback.Cleared).To(Equal(2 * time.Second))
		Expect(outbound[len(outbound)-1]).NotTo(Equal(frameOf(0x20+99)), "the end of the cleared audio never played")
		Expect(e.Journal().Entries()).To(ContainElement(HaveField("Message", MatchRegexp(`^clear: dropped 1\.\d+s of queued playback$`))))
	})

	It("resamples 16 kHz PCM to 8 kHz µ-law", func(ctx SpecContext) {
		pcm := make([]byte, 2*1600) // 100 ms at 16 kHz, a constant level
		for i := range 1600 {
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(8000)))
		}
		msg := fmt.Sprintf(`{"eventType":"playAudio","media":{"contentType":"audio/pcm;rate=16000;channels=1;bit-depth=16;endian=little;encoding=signed","payload":"%s"}}`,
			base64.StdEncoding.EncodeToString(pcm))
		_, res, outbound := play(ctx, 400*time.Millisecond, apptest.Send(msg))
		Expect(res.Playback.Played).To(Equal(100*time.Millisecond), "800 samples at 8 kHz")
		level := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{g711.EncodeUlawFrame(8000)}, media.FrameSize))
		Expect(outbound).To(ContainElement(level), "a middle frame holds the level, away from the chunk's edges")
	})

	It("counts a gap in the app's speech as an underrun, and says so", func(ctx SpecContext) {
		e, res, _ := play(ctx, 600*time.Millisecond, apptest.Send(playPCMU(frames(0x30, 1))),
			apptest.After(10, apptest.Send(playPCMU(frames(0x40, 1)))))
		Expect(res.Playback.Underruns).To(Equal(1), "the first frame had played out long before the second came")
		Expect(e.Journal().Entries()).To(ContainElement(And(HaveField("Kind", emulator.KindPlayback),
			HaveField("Message", ContainSubstring("playback underrun")))))
	})

	It("measures audio sent faster than real time, and journals it", func(ctx SpecContext) {
		e, res, _ := play(ctx, 200*time.Millisecond, apptest.Send(playPCMU(frames(0, 150))))
		Expect(res.Playback.MaxQueued).To(Equal(3 * time.Second))
		Expect(e.Journal().Entries()).To(ContainElement(HaveField("Message", ContainSubstring("queued ahead: it sends faster than real time"))))
		Expect(res.Failed()).To(BeFalse(), "Bandwidth queues it: not the app's fault")
	})
})
