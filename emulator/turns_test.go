package emulator_test

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

// clip is d of audio from a, as a finite clip the caller can say.
func clip(a media.Audio, d time.Duration) media.Audio {
	return media.PCMU(media.Render(a, d), a.String())
}

func speech() media.Audio { return apptest.Speech() }

// reply is a playAudio of d of a 440 Hz tone.
func reply(d time.Duration) string { return apptest.PlayTone(440, d) }

var _ = Describe("a conversation with a voice agent", func() {
	// converse streams bidirectionally in real time to an app that acts as
	// told: 200 ms of silence, the caller says speech(), then listens for
	// listen.
	converse := func(ctx SpecContext, opts *emulator.Options, listen time.Duration, bs ...apptest.Behaviour) (*emulator.Stream, *emulator.StreamResult) {
		app := apptest.NewWS(bs...)
		e := apptest.NewEmulator(opts)
		s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional, Record: true})
		Expect(s.Silence(ctx, 200*time.Millisecond)).To(Succeed())
		Expect(s.Say(ctx, speech())).To(Succeed())
		Expect(s.Silence(ctx, listen)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		return s, res
	}

	It("times the reply from the end of the caller's speech, and records what the caller heard and said", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		// The speech ends with frame 45 of the stream or a little later (in
		// real time frames flow between two commands too: 10 silent, 10 of
		// the clip's silence, 25 loud); the app answers after frame 50.
		_, res := converse(ctx, &emulator.Options{RecordDir: dir}, 1500*time.Millisecond, apptest.After(50, apptest.Send(reply(time.Second))))

		Expect(res.Turns).To(HaveLen(1))
		t := res.Turns[0]
		Expect(t.SpeechStart).To(BeNumerically(">=", 400*time.Millisecond), "the clip's lead-in silence is not speech")
		Expect(t.SpeechEnd - t.SpeechStart).To(Equal(500 * time.Millisecond))
		Expect(t.Replied).To(BeTrue())
		Expect(t.Latency).To(BeNumerically(">=", 50*media.FrameDuration-t.SpeechEnd), "no earlier than the app could")
		Expect(t.Latency).To(BeNumerically("<", 500*time.Millisecond), "the app answered at once")
		Expect(t.Played).To(Equal(time.Second))
		Expect(res.Latencies()).To(Equal([]time.Duration{t.Latency}))

		rec := res.Recording
		Expect(rec).NotTo(BeNil())
		Expect(rec.Error).To(BeEmpty())
		Expect(rec.HeardTone(440)).To(BeNumerically("~", time.Second, 50*time.Millisecond), "the reply's tone, found at its frequency")
		Expect(rec.HeardTone(300)).To(BeZero(), "the caller does not hear itself")
		Expect(media.ToneDuration(rec.Said, 300)).To(BeNumerically("~", 500*time.Millisecond, 50*time.Millisecond))
		Expect(len(rec.Heard)).To(Equal(len(rec.Said)), "one frame heard per frame said, silence where nothing played")
		Expect(len(rec.Heard)).To(Equal(int(res.MediaDuration / media.FrameDuration * media.FrameSize)))

		Expect(rec.HeardFile).To(HavePrefix(dir + string(filepath.Separator)))
		heard, err := media.LoadWAV(rec.HeardFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(clip(heard, heard.Duration()).Duration()).To(Equal(res.MediaDuration))
		back := make([]byte, len(rec.Heard))
		for i := 0; i < len(back); i += media.FrameSize {
			heard.Frame(i/media.FrameSize, back[i:i+media.FrameSize])
		}
		Expect(back).To(Equal(rec.Heard))
		said, err := media.LoadWAV(rec.SaidFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(said.Duration()).To(Equal(res.MediaDuration))
	})

	It("measures a late reply's latency from the frames the caller sent meanwhile", func(ctx SpecContext) {
		// The app answers only after frame 95: a second after the speech.
		_, res := converse(ctx, nil, 2*time.Second, apptest.After(95, apptest.Send(reply(500*time.Millisecond))))
		Expect(res.Turns).To(HaveLen(1))
		Expect(res.Turns[0].Replied).To(BeTrue())
		Expect(res.Turns[0].Latency).To(BeNumerically(">=", 95*media.FrameDuration-res.Turns[0].SpeechEnd))
		Expect(res.Turns[0].Latency).To(BeNumerically(">=", 900*time.Millisecond))
		Expect(res.Recording.HeardSound()).To(Equal(500 * time.Millisecond))
	})

	It("sees no reply when the app stays silent, after listening the whole time", func(ctx SpecContext) {
		_, res := converse(ctx, nil, 600*time.Millisecond)
		Expect(res.Turns).To(ConsistOf(And(HaveField("Replied", false), HaveField("Listened", BeNumerically(">=", 600*time.Millisecond)))))
		Expect(res.Recording.HeardSound()).To(BeZero())
	})

	It("sees an app stop talking when the caller interrupts it, and one that talks on", func(ctx SpecContext) {
		bargeIn := func(bs ...apptest.Behaviour) emulator.Turn {
			// The speech is frames 10 to 35 (or a little later); the reply
			// comes after frame 40 and would play for 3 s.
			app := apptest.NewWS(append([]apptest.Behaviour{apptest.After(40, apptest.Send(reply(3*time.Second)))}, bs...)...)
			e := apptest.NewEmulator(nil)
			s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
			Expect(s.Say(ctx, speech())).To(Succeed())
			Expect(s.Silence(ctx, 600*time.Millisecond)).To(Succeed()) // the reply plays
			Expect(s.Say(ctx, speech())).To(Succeed())                 // the caller interrupts from frame 75 on
			Expect(s.Silence(ctx, 500*time.Millisecond)).To(Succeed())
			res, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Turns).To(HaveLen(2))
			return res.Turns[1]
		}
		polite := bargeIn(apptest.After(90, apptest.Send(`{"eventType":"clear"}`)))
		Expect(polite.BargeIn).To(BeTrue())
		Expect(polite.Stopped).To(BeTrue())
		Expect(polite.StoppedAfter).To(BeNumerically(">=", 90*media.FrameDuration-polite.SpeechStart), "not before the clear")
		Expect(polite.StoppedAfter).To(BeNumerically("<", time.Second))

		rude := bargeIn()
		Expect(rude.BargeIn).To(BeTrue())
		Expect(rude.Stopped).To(BeFalse(), "it talked on to the end of the stream")
	})

	It("does not count the pause before a new reply as an underrun: the caller spoke in between", func(ctx SpecContext) {
		// A first chunk plays out at once; the caller then speaks (frames
		// 10 to 35, or a little later); the app's next reply comes 0.7 s
		// after the first ran dry, within UnderrunGap.
		app := apptest.NewWS(apptest.Send(apptest.PlayTone(440, 40*time.Millisecond)), apptest.After(40, apptest.Send(reply(200*time.Millisecond))))
		e := apptest.NewEmulator(nil)
		s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
		Eventually(func() int { return len(app.Streams()) }).WithTimeout(5 * time.Second).Should(Equal(1))
		Expect(s.Say(ctx, speech())).To(Succeed())
		Expect(s.Silence(ctx, 400*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Playback.Played).To(Equal(240 * time.Millisecond))
		Expect(res.Playback.Underruns).To(BeZero())
	})

	It("refuses to say what holds no speech", func(ctx SpecContext) {
		app := apptest.NewWS()
		s := specs.Stream(ctx, specs.Call(apptest.NewEmulator(nil), nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
		Expect(s.Say(ctx, clip(media.Silence(), time.Second))).To(MatchError(ContainSubstring("holds no speech")))
		endless, err := media.Tone(300)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Say(ctx, endless)).To(MatchError(ContainSubstring("finite length")))
	})

	It("drops audio past the playback buffer, when one is set, and journals it", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Send(reply(3 * time.Second)))
		e := apptest.NewEmulator(&emulator.Options{PlaybackBuffer: time.Second})
		s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional})
		Eventually(func() int { return len(app.Streams()) }).WithTimeout(5 * time.Second).Should(Equal(1))
		Expect(s.Media(ctx, 1200*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Playback.Overflowed).To(Equal(2 * time.Second))
		Expect(res.Playback.Played).To(Equal(time.Second))
		Expect(e.Journal().Entries()).To(ContainElement(HaveField("Message", ContainSubstring("playback queue full"))))
	})
})
