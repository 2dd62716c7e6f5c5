package suite_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite"
	"github.com/bwemu/bwemu/suite/specs"
)

// converse has the caller say apptest.Speech() on a recorded, real-time
// bidirectional stream to an app that acts as told, listen for listen,
// then stops the stream.
func converse(ctx context.Context, listen time.Duration, bs ...apptest.Behaviour) *emulator.Stream {
	app := apptest.NewWS(bs...)
	e := newEmulator(nil)
	s := specs.Stream(ctx, specs.Call(e, nil), emulator.StreamSpec{Name: "agent", Destination: app.URL(),
		Mode: protocol.ModeBidirectional, Record: true})
	Expect(s.Say(ctx, apptest.Speech())).To(Succeed())
	Expect(s.Silence(ctx, listen)).To(Succeed())
	_, err := s.Stop(ctx)
	Expect(err).NotTo(HaveOccurred())
	return s
}

var _ = Describe("voice agent matchers", func() {
	// The speech ends at frame 35 of the stream, or a little later.
	It("pass an agent that answers at once with a tone, and say what it played", func(ctx SpecContext) {
		s := converse(ctx, time.Second, apptest.After(40, apptest.Send(apptest.PlayTone(440, 500*time.Millisecond))))
		Expect(s).To(suite.HaveReplied(time.Second, 400*time.Millisecond))
		Expect(s).To(suite.HavePlayed(500 * time.Millisecond))
		Expect(s).To(suite.HavePlayedSound(400 * time.Millisecond))
		Expect(s).To(suite.HavePlayedTone(440, 400*time.Millisecond))
		Expect(s).NotTo(suite.HavePlayedTone(1000))
		Expect(suite.Latencies(s.Result())).To(HaveLen(1))

		msg := failureOf(suite.HavePlayedTone(1000), s)
		Expect(msg).To(ContainSubstring(`Expected stream "agent"`))
		Expect(msg).To(MatchRegexp(`to have played a 1000 Hz tone for at least 100ms, but the caller heard 0s of it in 1\.\d+s of audio \(5\d0ms of sound\)`))
	})

	It("fail a late reply with the latency measured", func(ctx SpecContext) {
		s := converse(ctx, 2*time.Second, apptest.After(90, apptest.Send(apptest.PlayTone(440, 300*time.Millisecond))))
		msg := failureOf(suite.HaveReplied(500*time.Millisecond, 0), s)
		Expect(msg).To(MatchRegexp(`to have been answered within 500ms of each turn, but turn 1 was answered after 1\.\d+s`))
		Expect(msg).To(MatchRegexp(`1\. the caller spoke [\d.]+m?s–[\d.]+m?s; the app replied after 1\.\d+s and played 300ms`))
		Expect(failureOf(suite.HaveReplied(3*time.Second, time.Second), s)).To(ContainSubstring("turn 1's reply played 300ms"))
	})

	It("fail an agent that stays silent, and a stream where nobody spoke", func(ctx SpecContext) {
		s := converse(ctx, 500*time.Millisecond)
		Expect(failureOf(suite.HaveReplied(time.Second, 0), s)).To(MatchRegexp(`turn 1 got no reply in the \d+ms the caller listened`))
		Expect(failureOf(suite.HavePlayedSound(), s)).To(ContainSubstring("the caller heard 0s of sound"))
		Expect(failureOf(suite.HavePlayed(20*time.Millisecond), s)).To(ContainSubstring("it played 0s"))

		app := apptest.NewWS(apptest.Send(apptest.PlayTone(440, 100*time.Millisecond)))
		mute := stopped(ctx, startStream(ctx, newEmulator(nil), emulator.StreamSpec{Destination: app.URL(), Mode: protocol.ModeBidirectional}))
		Expect(failureOf(suite.HaveReplied(time.Second, 0), mute)).To(ContainSubstring("the caller said nothing"))
		Expect(failureOf(suite.HaveStoppedTalkingWithin(time.Second), mute)).To(ContainSubstring("no barge-in to judge"))
		ok, err := suite.HavePlayedTone(440).Match(mute)
		Expect(ok).To(BeFalse())
		Expect(err).To(MatchError(ContainSubstring("was not recorded: start it with StreamSpec.Record")))
	})

	It("judge barge-in: an agent that clears passes, one that talks on fails", func(ctx SpecContext) {
		interrupt := func(bs ...apptest.Behaviour) *emulator.Stream {
			app := apptest.NewWS(append([]apptest.Behaviour{apptest.After(40, apptest.Send(apptest.PlayTone(440, 3*time.Second)))}, bs...)...)
			s := specs.Stream(ctx, specs.Call(newEmulator(nil), nil), emulator.StreamSpec{Name: "agent", Destination: app.URL(), Mode: protocol.ModeBidirectional})
			Expect(s.Say(ctx, apptest.Speech())).To(Succeed())
			Expect(s.Silence(ctx, 600*time.Millisecond)).To(Succeed())
			Expect(s.Say(ctx, apptest.Speech())).To(Succeed())
			Expect(s.Silence(ctx, 400*time.Millisecond)).To(Succeed())
			_, err := s.Stop(ctx)
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		polite := interrupt(apptest.After(85, apptest.Send(apptest.Clear)))
		Expect(polite).To(suite.HaveStoppedTalkingWithin(time.Second))
		rude := interrupt()
		Expect(failureOf(suite.HaveStoppedTalkingWithin(time.Second), rude)).To(MatchRegexp(`at turn 2 the app talked on for the [\d.]+m?s until the stream ended`))
	})

	It("refuse arguments that would judge nothing", func() {
		for _, m := range []any{suite.HaveReplied(0, 0), suite.HaveStoppedTalkingWithin(0), suite.HavePlayed(0)} {
			_, err := m.(interface{ Match(any) (bool, error) }).Match(&emulator.StreamResult{})
			Expect(err).To(MatchError(MatchRegexp(`must be above 0`)))
		}
	})
})
