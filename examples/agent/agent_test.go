package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/examples/agent"
	"github.com/bwemu/bwemu/suite"
	"github.com/bwemu/bwemu/suite/specs"
)

// The agent's timing, as the specs rely on it (speech.go, speaker.go).
const (
	// speechStartAfter is how long the caller must be loud for the agent
	// to hear them begin (and, while it talks, to stop for them).
	speechStartAfter = 60 * time.Millisecond
	// endOfSpeech is how long the caller must be quiet for the agent to
	// take its turn; it then waits its reply delay. The two make its
	// response latency: 500 ms, by design.
	endOfSpeech = 300 * time.Millisecond
	replyDelay  = agent.DefaultReplyDelay
	replyLength = agent.DefaultReplyLength
	// playAhead is how far ahead of playback the agent sends its reply.
	playAhead = 200 * time.Millisecond
	// frame is one 20 ms frame: the unit of media time, and of the
	// emulator's measures.
	frame = media.FrameDuration
)

// app is the agent under test, served on 127.0.0.1:0 for one spec.
type app struct {
	*agent.Agent
	base, ws string
}

// startAgent runs an agent with opts for the current spec; its log goes
// to GinkgoWriter, shown when a spec fails.
func startAgent(opts agent.Options) *app {
	GinkgoHelper()
	opts.Logger = slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := agent.New(opts)
	Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewServer(a)
	DeferCleanup(func() {
		srv.Close()
		Expect(a.Close()).To(Succeed())
	})
	return &app{Agent: a, base: srv.URL, ws: "ws" + strings.TrimPrefix(srv.URL, "http") + "/media"}
}

// dial starts a call on an emulator with opts, with one bidirectional
// stream to the agent the way the agent's BXML asks for it; spec gives the
// rest (Pace, Audio, Record). In real time (the default pace) the caller
// is quiet unless a spec has it Say something.
func (a *app) dial(ctx context.Context, opts *emulator.Options, spec emulator.StreamSpec) (*emulator.Emulator, *emulator.Call, *emulator.Stream) {
	GinkgoHelper()
	e := specs.Emulator(opts)
	call := specs.Call(e, &emulator.CallSpec{DisconnectURL: a.base + "/disconnect"})
	spec.Name, spec.Mode, spec.Destination, spec.StreamEventURL = "agent", protocol.ModeBidirectional, a.ws, a.base+"/events"
	return e, call, specs.Stream(ctx, call, spec)
}

// call starts a call to the agent with the caller's audio streamed at pace.
func (a *app) call(ctx context.Context, pace emulator.Pace, audio media.Audio) (*emulator.Emulator, *emulator.Call, *emulator.Stream) {
	GinkgoHelper()
	return a.dial(ctx, nil, emulator.StreamSpec{Pace: pace, Audio: audio})
}

// utterance is what the caller says: 200 ms of quiet, then 500 ms of a
// 300 Hz tone standing in for a voice. At -9 dBFS it is far above the
// agent's speech level (about -30 dBFS), and long past its 60 ms.
func utterance() media.Audio {
	GinkgoHelper()
	pcmu := append(media.Render(media.Silence(), 200*time.Millisecond), media.Render(specs.Tone(300), 500*time.Millisecond)...)
	return media.PCMU(pcmu, "the caller's utterance")
}

// skipped is the media time the emulator skipped because realtime pacing
// fell behind (a loaded machine): the caller's clock jumped ahead of the
// agent's, so what the emulator measures may be that much shorter.
func skipped(res *emulator.StreamResult) time.Duration { return time.Duration(res.Skipped) * frame }

// hangUp hangs the call up and returns the stream's result.
func hangUp(ctx context.Context, call *emulator.Call, s *emulator.Stream) *emulator.StreamResult {
	GinkgoHelper()
	Expect(call.Hangup(ctx)).To(Succeed())
	res, err := s.Wait(ctx)
	Expect(err).NotTo(HaveOccurred())
	return res
}

// stop ends the stream with StopStream.
func stop(ctx context.Context, s *emulator.Stream) *emulator.StreamResult {
	GinkgoHelper()
	res, err := s.Stop(ctx)
	Expect(err).NotTo(HaveOccurred())
	return res
}

// inject ends the stream with a fault.
func inject(f emulator.Fault) func(context.Context, *emulator.Stream) *emulator.StreamResult {
	return func(ctx context.Context, s *emulator.Stream) *emulator.StreamResult {
		GinkgoHelper()
		res, err := s.Inject(ctx, f)
		Expect(err).NotTo(HaveOccurred())
		return res
	}
}

// metrics reads the agent's /metrics page.
func metrics(a *app) string {
	GinkgoHelper()
	resp, err := http.Get(a.base + "/metrics")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return string(body)
}

// post sends a webhook body straight to the agent and returns its status.
func post(url, body string) int {
	GinkgoHelper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

var _ = Describe("answering the caller", func() {
	// The agent answers 500 ms after the caller stops, by design (300 ms
	// to be sure they have, then its reply delay): 600 ms leaves a few
	// frames for jitter.
	It("answers the caller's turn with its tone within 600ms", func(ctx SpecContext) {
		a := startAgent(agent.Options{ToneHz: 440, ReplyLength: time.Second})
		s := specs.Stream(ctx, specs.Call(specs.Emulator(nil), nil), emulator.StreamSpec{
			Destination: a.ws, Mode: protocol.ModeBidirectional, Record: true})

		Expect(s.Say(ctx, utterance())).To(Succeed())       // the caller speaks,
		Expect(s.Silence(ctx, 2*time.Second)).To(Succeed()) // then listens
		_, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())

		Expect(s).To(suite.HaveReplied(600*time.Millisecond, 900*time.Millisecond))
		Expect(s).To(suite.HavePlayedTone(440, 900*time.Millisecond))
	}, SpecTimeout(10*time.Second))

	It("answers turn after turn, each with its whole reply, paced just ahead of playback", func(ctx SpecContext) {
		a := startAgent(agent.Options{})
		e, call, s := a.dial(ctx, nil, emulator.StreamSpec{Record: true})
		for range 2 {
			Expect(s.Say(ctx, utterance())).To(Succeed())
			Expect(s.Silence(ctx, 2*time.Second)).To(Succeed())
		}
		res := hangUp(ctx, call, s)
		AddReportEntry("response latencies", suite.Latencies(res))

		Expect(s).To(suite.HaveReplied(600*time.Millisecond, replyLength-frame))
		Expect(res.Turns).To(HaveLen(2))
		for i, t := range res.Turns {
			// Never sooner than the agent can: once the caller has been
			// quiet for 300 ms, and its delay after that (less a frame:
			// the agent's timer and the caller's frames are not in step).
			Expect(t.Latency).To(BeNumerically(">=", endOfSpeech+replyDelay-frame-skipped(res)), "turn %d", i+1)
			Expect(t.Played).To(BeNumerically("~", replyLength, frame), "turn %d", i+1)
			Expect(t.BargeIn).To(BeFalse(), "turn %d", i+1)
		}

		// Each reply went as 50 playAudio of 20 ms; the caller heard both
		// whole, without a gap, and the agent never ran more than its
		// lead (plus some jitter) ahead of playback.
		Expect(res.PlayAudio).To(Equal(100))
		Expect(s).To(suite.HavePlayed(2*replyLength - frame))
		Expect(res.Playback.Underruns).To(BeZero())
		Expect(res.Playback.MaxQueued).To(BeNumerically("<=", 2*playAhead))
		Expect(res.Clears).To(BeZero())
		Expect(a.Stats()).To(And(HaveField("Replies", int64(2)), HaveField("BargeIns", int64(0))))

		// And it kept Bandwidth's protocol.
		Expect(s).To(suite.HaveNoAppFault())
		Expect(s).To(suite.HaveNoViolations())
		Expect(s).To(suite.HaveStopped("closed"))
		Expect(s).To(suite.HaveCompletedCloseHandshake())
		Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.HaveWebhook("disconnect", suite.HaveCause("hangup"), suite.BeAnsweredWith(204)))
	}, SpecTimeout(15*time.Second))

	It("plays the tone it is configured with, and no other", func(ctx SpecContext) {
		a := startAgent(agent.Options{ToneHz: 880})
		_, call, s := a.dial(ctx, nil, emulator.StreamSpec{Record: true})
		Expect(s.Say(ctx, utterance())).To(Succeed())
		Expect(s.Silence(ctx, 2*time.Second)).To(Succeed())
		hangUp(ctx, call, s)

		Expect(s).To(suite.HavePlayedSound(replyLength - frame))
		Expect(s).To(suite.HavePlayedTone(880, replyLength-2*frame))
		Expect(s).NotTo(suite.HavePlayedTone(agent.DefaultToneHz))
		Expect(s).NotTo(suite.HavePlayedTone(300), "the caller does not hear itself")
	}, SpecTimeout(10*time.Second))

	It("can be heard afterwards: with RecordDir the call is written as WAV files", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		a := startAgent(agent.Options{})
		_, call, s := a.dial(ctx, &emulator.Options{RecordDir: dir}, emulator.StreamSpec{})
		Expect(s.Say(ctx, utterance())).To(Succeed())
		Expect(s.Silence(ctx, 2*time.Second)).To(Succeed())
		rec := hangUp(ctx, call, s).Recording

		Expect(rec).NotTo(BeNil())
		Expect(rec.Error).To(BeEmpty())
		Expect(filepath.Dir(rec.HeardFile)).To(Equal(dir))
		heard, err := media.LoadWAV(rec.HeardFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(media.ToneDuration(media.Render(heard, heard.Duration()), agent.DefaultToneHz)).To(BeNumerically("~", replyLength, 50*time.Millisecond))
		said, err := media.LoadWAV(rec.SaidFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(media.ToneDuration(media.Render(said, said.Duration()), 300)).To(BeNumerically("~", 500*time.Millisecond, 50*time.Millisecond))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("a slow agent (-slow)", func() {
	It("answers too late, and HaveReplied says how late", func(ctx SpecContext) {
		const slow = time.Second
		a := startAgent(agent.Options{ReplyDelay: slow})
		_, call, s := a.dial(ctx, nil, emulator.StreamSpec{Record: true})
		Expect(s.Say(ctx, utterance())).To(Succeed())
		Expect(s.Silence(ctx, 3*time.Second)).To(Succeed())
		res := hangUp(ctx, call, s)

		Expect(res.Turns).To(HaveLen(1))
		Expect(res.Turns[0].Latency).To(BeNumerically(">=", endOfSpeech+slow-frame-skipped(res)))
		Expect(s).To(suite.HaveReplied(2*time.Second, replyLength-frame), "it does answer, in full")
		Expect(InterceptGomegaFailure(func() {
			Expect(s).To(suite.HaveReplied(500*time.Millisecond, 0))
		})).To(MatchError(MatchRegexp(`to have been answered within 500ms of each turn, but turn 1 was answered after 1\.\d+s`)))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("barge-in", func() {
	// The reply is long here (3 s), so that an agent that talks on is
	// still talking when the stream ends.
	const longReply = 3 * time.Second

	// interrupt has the caller speak and then speak again 400 ms into the
	// agent's answer (which begins 500 ms after the caller stops; the
	// second utterance starts 200 ms into its clip), then listen 1.5 s.
	interrupt := func(ctx context.Context, a *app) (*emulator.Stream, *emulator.StreamResult) {
		GinkgoHelper()
		_, call, s := a.dial(ctx, nil, emulator.StreamSpec{Record: true})
		Expect(s.Say(ctx, utterance())).To(Succeed())
		Expect(s.Silence(ctx, 700*time.Millisecond)).To(Succeed())
		Expect(s.Say(ctx, utterance())).To(Succeed())
		Expect(s.Silence(ctx, 1500*time.Millisecond)).To(Succeed())
		res := hangUp(ctx, call, s)
		Expect(s).To(suite.HaveNoViolations())
		Expect(res.Turns).To(HaveLen(2))
		Expect(res.Turns[1].BargeIn).To(BeTrue(), "the caller spoke while the agent was talking")
		return s, res
	}

	It("stops talking as soon as it hears the caller, then answers them", func(ctx SpecContext) {
		a := startAgent(agent.Options{ReplyLength: longReply})
		s, res := interrupt(ctx, a)

		Expect(s).To(suite.HaveStoppedTalkingWithin(200 * time.Millisecond))
		Expect(res.Turns[1].StoppedAfter).To(BeNumerically(">=", speechStartAfter-skipped(res)), "not before it could hear the caller")
		Expect(s).To(suite.HaveReplied(600*time.Millisecond, 0))
		Expect(res.Turns[1].Played).To(BeNumerically(">=", time.Second-frame), "the second answer plays until the call ends")

		// It sent clear, which dropped what was queued: its lead, no more.
		Expect(res.Clears).To(Equal(1))
		Expect(res.Playback.Cleared).To(BeNumerically(">", 0))
		Expect(res.Playback.Cleared).To(BeNumerically("<=", 2*playAhead))
		Expect(a.Stats()).To(And(HaveField("Replies", int64(2)), HaveField("BargeIns", int64(1))))
	}, SpecTimeout(10*time.Second))

	It("with -ignore-barge-in talks on over the caller, which HaveStoppedTalkingWithin catches", func(ctx SpecContext) {
		a := startAgent(agent.Options{ReplyLength: longReply, IgnoreBargeIn: true})
		s, res := interrupt(ctx, a)

		Expect(InterceptGomegaFailure(func() {
			Expect(s).To(suite.HaveStoppedTalkingWithin(200 * time.Millisecond))
		})).To(MatchError(MatchRegexp(`but at turn 2 the app talked on for the [\d.]+m?s until the stream ended`)))
		Expect(res.Turns[1].Stopped).To(BeFalse())
		Expect(res.Turns[1].Replied).To(BeFalse(), "the caller never got an answer of its own")
		Expect(res.Clears).To(BeZero())
		Expect(res.Playback.Cleared).To(BeZero())
		Expect(a.Stats()).To(HaveField("BargeIns", int64(0)))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("backend sessions", func() {
	// Each call opens a backend session on start; how the socket ends
	// decides whether it is closed.
	DescribeTable("closes the call's backend session",
		func(ctx SpecContext, leak bool, end func(context.Context, *emulator.Stream) *emulator.StreamResult, cause string, open int) {
			a := startAgent(agent.Options{LeakSessions: leak})
			_, call, s := a.call(ctx, emulator.Fast, media.Silence())
			Eventually(a.Stats).WithTimeout(2 * time.Second).Should(HaveField("BackendSessions", 1))
			Expect(s.Media(ctx, 200*time.Millisecond)).To(Succeed())

			res := end(ctx, s)
			Expect(res).To(suite.HaveStopped(cause))
			// Once the agent has let go of the stream, its sessions are final.
			Eventually(a.Stats).WithTimeout(2 * time.Second).Should(HaveField("Streams", 0))
			Eventually(a.Stats).WithTimeout(2 * time.Second).Should(HaveField("BackendSessions", open))
			Expect(metrics(a)).To(ContainSubstring(fmt.Sprintf("\nagent_backend_sessions %d\n", open)))
			Expect(call.Hangup(ctx)).To(Succeed())
		},
		Entry("after stop (StopStream)", false, stop, "closed", 0, SpecTimeout(10*time.Second)),
		Entry("after a TCP reset", false, inject(emulator.FaultReset), "connection-error", 0, SpecTimeout(10*time.Second)),
		Entry("after a 1011 close", false, inject(emulator.FaultError), "error", 0, SpecTimeout(10*time.Second)),
		Entry("after stop, even with -leak", true, stop, "closed", 0, SpecTimeout(10*time.Second)),
		Entry("but with -leak not after a TCP reset", true, inject(emulator.FaultReset), "connection-error", 1, SpecTimeout(10*time.Second)),
		Entry("but with -leak not after a 1011 close", true, inject(emulator.FaultError), "error", 1, SpecTimeout(10*time.Second)),
	)
})

var _ = Describe("webhooks", func() {
	It("answers Bandwidth's webhooks with 204, and what it does not expect with 400", func(ctx SpecContext) {
		a := startAgent(agent.Options{})
		e, call, s := a.call(ctx, emulator.Fast, media.Silence())
		Expect(s.Media(ctx, 200*time.Millisecond)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())

		Expect(s).To(suite.HaveWebhook("mediaStreamStarted", suite.BeAnsweredWith(204)))
		Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.HaveCause("closed"), suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.HaveWebhook("disconnect", suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.BeAnsweredWithin(time.Second))

		Expect(post(a.base+"/events", `{"eventType":"mediaStreamPaused"}`)).To(Equal(http.StatusBadRequest))
		Expect(post(a.base+"/events", `{"eventType":"disconnect"}`)).To(Equal(http.StatusBadRequest))
		Expect(post(a.base+"/disconnect", `{"eventType":"mediaStreamStopped"}`)).To(Equal(http.StatusBadRequest))
		Expect(post(a.base+"/events", `not json`)).To(Equal(http.StatusBadRequest))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("shutdown", func() {
	It("closes live streams with 1001 when it shuts down, and their sessions with them", func(ctx SpecContext) {
		a := startAgent(agent.Options{})
		_, _, s := a.call(ctx, emulator.Fast, media.Silence())
		Eventually(a.Stats).WithTimeout(2 * time.Second).Should(HaveField("BackendSessions", 1))

		Expect(a.Shutdown(ctx)).To(Succeed())
		res, err := s.Wait(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(suite.HaveClosed(emulator.ByApp, 1001))
		Expect(res).To(suite.HaveStopped("closed"))
		Expect(res).To(suite.HaveCompletedCloseHandshake())
		Expect(a.Stats()).To(And(HaveField("Streams", 0), HaveField("BackendSessions", 0)))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("options", func() {
	It("refuses options it cannot honour", func() {
		for _, opts := range []agent.Options{
			{ToneHz: 4000}, {ToneHz: -1}, {ReplyLength: -time.Second}, {ReplyLength: time.Hour}, {ReplyDelay: -time.Millisecond},
		} {
			a, err := agent.New(opts)
			Expect(err).To(HaveOccurred(), "%+v", opts)
			Expect(a).To(BeNil())
		}
	})
})
