package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// The agent's timing, as the specs rely on it: the caller's utterance
// ends after 300 ms of quiet, then the agent waits its reply delay.
const (
	endOfSpeech = 300 * time.Millisecond
	replyLength = agent.DefaultReplyLength
	replyDelay  = agent.DefaultReplyDelay
	// playAhead is how far ahead of playback the agent sends its reply.
	playAhead = 200 * time.Millisecond
	// frame is one 20 ms frame: the playback model's unit.
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

// call starts a call with one bidirectional stream to the agent, the way
// the agent's BXML asks for it, with the caller saying audio.
func (a *app) call(ctx context.Context, pace emulator.Pace, audio media.Audio) (*emulator.Emulator, *emulator.Call, *emulator.Stream) {
	GinkgoHelper()
	e := specs.Emulator(nil)
	call := specs.Call(e, &emulator.CallSpec{DisconnectURL: a.base + "/disconnect"})
	s := specs.Stream(ctx, call, emulator.StreamSpec{
		Name: "agent", Mode: protocol.ModeBidirectional, Destination: a.ws, StreamEventURL: a.base + "/events",
		Audio: audio, Pace: pace,
	})
	return e, call, s
}

// A turn of the caller's script: speaking (a 300 Hz tone stands in for a
// voice) or quiet, for a while.
type turn struct {
	speaking bool
	length   time.Duration
}

func speak(d time.Duration) turn { return turn{speaking: true, length: d} }
func pause(d time.Duration) turn { return turn{length: d} }

// caller renders the caller's script as the stream's audio; after the
// script the caller stays quiet.
func caller(script ...turn) media.Audio {
	GinkgoHelper()
	voice := specs.Tone(300)
	var pcmu []byte
	var parts []string
	for _, t := range script {
		sound, what := media.Silence(), "quiet"
		if t.speaking {
			sound, what = voice, "speaks"
		}
		f := make([]byte, media.FrameSize)
		for range int(t.length / frame) {
			sound.Frame(len(pcmu)/media.FrameSize, f)
			pcmu = append(pcmu, f...)
		}
		parts = append(parts, what+" "+t.length.String())
	}
	return media.PCMU(pcmu, "caller: "+strings.Join(parts, ", "))
}

// letPlayOut streams enough media for the reply begun last to play out at
// Bandwidth: the reply, and a margin for its last chunk to arrive.
func letPlayOut(ctx context.Context, s *emulator.Stream) {
	GinkgoHelper()
	Expect(s.Media(ctx, replyLength+2*playAhead)).To(Succeed())
}

// hangUp hangs the call up and returns the stream's result.
func hangUp(ctx context.Context, call *emulator.Call, s *emulator.Stream) *emulator.StreamResult {
	GinkgoHelper()
	Expect(call.Hangup(ctx)).To(Succeed())
	res, err := s.Wait(ctx)
	Expect(err).NotTo(HaveOccurred())
	return res
}

var _ = Describe("the voice agent", func() {
	It("answers an utterance with its whole reply, paced just ahead of playback", func(ctx SpecContext) {
		a := startAgent(agent.Options{})
		e, call, s := a.call(ctx, emulator.Realtime, caller(speak(600*time.Millisecond)))

		Eventually(a.Stats).WithTimeout(3 * time.Second).Should(HaveField("Replies", int64(1)))
		letPlayOut(ctx, s)
		res := hangUp(ctx, call, s)

		Expect(s).To(suite.HaveNoAppFault())
		Expect(s).To(suite.HaveNoViolations())
		Expect(s).To(suite.HaveStopped("closed"))
		Expect(s).To(suite.HaveCompletedCloseHandshake())
		Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.HaveWebhook("disconnect", suite.HaveCause("hangup"), suite.BeAnsweredWith(204)))

		// One reply of 1 s in 20 ms chunks, begun once the caller had
		// finished (600 ms of speech, 300 ms of quiet, the reply delay)
		// and within 2 s of the start.
		Expect(s).To(suite.HaveSentPlayAudio(50, 2*time.Second))
		Expect(res.PlayAudio).To(Equal(50))
		Expect(res.FirstPlayAudio).To(BeNumerically(">=", 600*time.Millisecond+endOfSpeech+replyDelay-2*frame))

		// The caller heard all of it, without a gap, and the agent never
		// ran more than its lead (plus some jitter) ahead of playback.
		Expect(res.Playback.Played).To(BeNumerically("~", replyLength, frame))
		Expect(res.Playback.Underruns).To(BeZero())
		Expect(res.Playback.MaxQueued).To(BeNumerically("<=", 2*playAhead))
		Expect(res.Playback.Cleared).To(BeZero())
		Expect(res.Clears).To(BeZero())
		Expect(a.Stats()).To(And(HaveField("Replies", int64(1)), HaveField("BargeIns", int64(0))))
	}, SpecTimeout(15*time.Second))

	It("answers late with -slow, which an expectation of a reply within 2 s catches", func(ctx SpecContext) {
		const slow = 1500 * time.Millisecond
		a := startAgent(agent.Options{ReplyDelay: slow})
		_, call, s := a.call(ctx, emulator.Realtime, caller(speak(600*time.Millisecond)))

		Eventually(a.Stats).WithTimeout(5 * time.Second).Should(HaveField("Replies", int64(1)))
		res := hangUp(ctx, call, s)

		Expect(s).To(suite.HaveNoAppFault())
		Expect(res.FirstPlayAudio).To(BeNumerically(">=", 600*time.Millisecond+endOfSpeech+slow-2*frame))
		Expect(s).To(suite.HaveSentPlayAudio(1, 0))
		Expect(s).NotTo(suite.HaveSentPlayAudio(1, 2*time.Second))
	}, SpecTimeout(15*time.Second))

	// The caller speaks, the agent answers, and 400 ms into the answer the
	// caller speaks again; when they finish, the agent answers that too.
	DescribeTable("when the caller talks over it",
		func(ctx SpecContext, ignoreBargeIn bool, check func(*emulator.StreamResult, agent.Stats)) {
			a := startAgent(agent.Options{IgnoreBargeIn: ignoreBargeIn})
			script := caller(speak(600*time.Millisecond), pause(900*time.Millisecond), speak(600*time.Millisecond))
			_, call, s := a.call(ctx, emulator.Realtime, script)

			Eventually(a.Stats).WithTimeout(6 * time.Second).Should(HaveField("Replies", int64(2)))
			letPlayOut(ctx, s)
			res := hangUp(ctx, call, s)

			Expect(s).To(suite.HaveNoAppFault())
			Expect(s).To(suite.HaveNoViolations())
			Expect(s).To(suite.HaveStopped("closed"))
			check(res, a.Stats())
		},
		Entry("the agent stops talking and sends clear", false, func(res *emulator.StreamResult, st agent.Stats) {
			Expect(res.Clears).To(Equal(1))
			// clear dropped what was queued: the agent's lead, no more.
			Expect(res.Playback.Cleared).To(BeNumerically(">", 0))
			Expect(res.Playback.Cleared).To(BeNumerically("<=", 2*playAhead))
			// The caller heard part of the first reply and all of the second.
			Expect(res.Playback.Played).To(BeNumerically("<", 2*replyLength-playAhead))
			Expect(res.Playback.Played).To(BeNumerically(">", replyLength))
			Expect(st.BargeIns).To(Equal(int64(1)))
		}, SpecTimeout(15*time.Second)),
		Entry("with -ignore-barge-in it talks over the caller and never sends clear", true, func(res *emulator.StreamResult, st agent.Stats) {
			Expect(res.Clears).To(BeZero())
			Expect(res.Playback.Cleared).To(BeZero())
			Expect(res.Playback.Played).To(BeNumerically("~", 2*replyLength, frame))
			Expect(st.BargeIns).To(BeZero())
		}, SpecTimeout(15*time.Second)),
	)

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

func stop(ctx context.Context, s *emulator.Stream) *emulator.StreamResult {
	GinkgoHelper()
	res, err := s.Stop(ctx)
	Expect(err).NotTo(HaveOccurred())
	return res
}

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
