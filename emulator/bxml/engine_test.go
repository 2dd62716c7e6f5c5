package bxml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
)

var _ = Describe("Engine", func() {
	var (
		app  *apptest.Hooks
		cons *consumer.Server
		em   *emulator.Emulator
		en   *bxml.Engine
	)

	BeforeEach(func() {
		app = newBXMLApp()
		cons = apptest.NewConsumer(nil)
		em = apptest.NewEmulator(nil)
		en = &bxml.Engine{Emulator: em}
	})

	// startWith starts an outbound call whose answerUrl is path on the app.
	startWith := func(ctx context.Context, path string, edit func(*bxml.CallOptions)) *bxml.Run {
		o := bxml.CallOptions{URL: app.URL(path),
			Call: emulator.CallSpec{Direction: protocol.DirectionOutbound, DisconnectURL: app.URL("/events")}}
		if edit != nil {
			edit(&o)
		}
		run, err := en.Start(ctx, o)
		Expect(err).NotTo(HaveOccurred())
		return run
	}
	start := func(ctx context.Context, path string) *bxml.Run { return startWith(ctx, path, nil) }
	finished := func(ctx context.Context, run *bxml.Run) {
		GinkgoHelper()
		Eventually(ctx, run.Done()).WithTimeout(10 * time.Second).Should(BeClosed())
	}
	// verbStarted waits until the verb has started executing.
	verbStarted := func(ctx context.Context, verb string) {
		GinkgoHelper()
		Eventually(ctx, func() []emulator.Entry { return entries(em, verbEntry(verb)) }).
			WithTimeout(5 * time.Second).ShouldNot(BeEmpty())
	}

	Describe("fetching BXML", func() {
		It("posts the answer webhook and journals the exchange", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Hangup/></Response>`)
			run := startWith(ctx, "/answer", func(o *bxml.CallOptions) { o.Call.Tag = "t-0" })
			finished(ctx, run)

			reqs := app.RequestsTo("/answer")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Method).To(Equal(http.MethodPost))
			Expect(reqs[0].Header.Get("Content-Type")).To(Equal("application/json"))
			ev := reqs[0].Event
			Expect(ev.EventType).To(Equal(bxml.EventAnswer))
			Expect(ev.CallID).To(Equal(run.Call.ID))
			Expect(ev.CallURL).To(Equal(run.Call.URL()))
			Expect(ev.AccountID).To(Equal(run.Call.AccountID))
			Expect(ev.ApplicationID).To(Equal(run.Call.ApplicationID))
			Expect(ev.Direction).To(Equal(protocol.DirectionOutbound))
			Expect(ev.From).To(Equal(emulator.DefaultFrom))
			Expect(ev.To).To(Equal(emulator.DefaultTo))
			Expect(ev.Tag).To(Equal("t-0"))
			Expect(ev.AnswerTime).NotTo(BeNil())
			Expect(ev.EventTime.IsZero()).To(BeFalse())

			fetch := one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindWebhook && e.Event == bxml.EventAnswer })
			Expect(fetch.Code).To(Equal(http.StatusOK))
			Expect(fetch.Latency).To(BeNumerically(">", 0))
			Expect(fetch.CallID).To(Equal(run.Call.ID))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It("can GET with Basic credentials, and never journals the password", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Hangup/></Response>`)
			run := startWith(ctx, "/answer", func(o *bxml.CallOptions) {
				o.Method, o.Username, o.Password = "GET", "app", "pw-0ff-limits"
			})
			finished(ctx, run)
			reqs := app.RequestsTo("/answer")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Method).To(Equal(http.MethodGet))
			Expect(reqs[0].Query.Get("eventType")).To(Equal(bxml.EventAnswer))
			Expect(reqs[0].Query.Get("callId")).To(Equal(run.Call.ID))
			Expect(reqs[0].Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("app:pw-0ff-limits"))))
			var buf bytes.Buffer
			Expect(em.Journal().WriteJSONLines(&buf)).To(Succeed())
			Expect(buf.String()).NotTo(ContainSubstring("pw-0ff-limits"))
		}, SpecTimeout(10*time.Second))

		It("sends initiate for an inbound call, which is initiated until its BXML runs", func(ctx SpecContext) {
			hold := make(chan struct{})
			app.Route("/initiate", apptest.Reply{Body: `<Response><Pause duration="30"/></Response>`, Hold: hold})
			run, err := en.Start(ctx, bxml.CallOptions{URL: app.URL("/initiate"), Call: emulator.CallSpec{DisconnectURL: app.URL("/events")}})
			Expect(err).NotTo(HaveOccurred())
			Eventually(ctx, func() []apptest.Request { return app.RequestsTo("/initiate") }).Should(HaveLen(1))
			Expect(run.State()).To(Equal(bxml.StateInitiated))
			ev := app.RequestsTo("/initiate")[0].Event
			Expect(ev.EventType).To(Equal(bxml.EventInitiate))
			Expect(ev.Direction).To(Equal(protocol.DirectionInbound))
			Expect(ev.AnswerTime).To(BeNil())

			close(hold)
			Eventually(ctx, run.State).Should(Equal(bxml.StateAnswered))
			Expect(run.Hangup(ctx)).To(Succeed())
			Expect(run.State()).To(Equal(bxml.StateDisconnected))
		}, SpecTimeout(10*time.Second))

		It("ends the call with invalid-bxml when the document does not parse", func(ctx SpecContext) {
			app.Serve("/answer", "<Response>\n  <Pause duration=\"abc\"/>\n</Response>")
			run := start(ctx, "/answer")
			finished(ctx, run)
			dc := app.Only(protocol.EventDisconnect).Event
			Expect(dc.Cause).To(Equal(protocol.DisconnectInvalidBXML))
			Expect(dc.ErrorMessage).To(SatisfyAll(ContainSubstring("line 2"), ContainSubstring(`duration "abc"`)))
			Expect(run.Err()).To(syntaxError(2, "abc"))
		}, SpecTimeout(10*time.Second))

		Describe("a failed fetch ends the call with callback-error", func() {
			check := func(ctx context.Context, run *bxml.Run, status int, msg string) {
				GinkgoHelper()
				finished(ctx, run)
				dc := app.Only(protocol.EventDisconnect).Event
				Expect(dc.Cause).To(Equal(bxml.CauseCallbackError))
				Expect(dc.ErrorMessage).To(ContainSubstring(msg))
				var fe *bxml.FetchError
				Expect(run.Err()).To(BeAssignableToTypeOf(fe))
				Expect(run.Err().(*bxml.FetchError).Status).To(Equal(status))
				Expect(run.Err().Error()).To(ContainSubstring(msg))
			}
			It("on an error status", func(ctx SpecContext) {
				app.Route("/answer", apptest.Reply{Status: http.StatusInternalServerError, Body: "boom"})
				check(ctx, start(ctx, "/answer"), 500, "the app answered 500 Internal Server Error")
				Expect(one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindWebhook && e.Event == bxml.EventAnswer }).Code).To(Equal(500))
			}, SpecTimeout(10*time.Second))
			It("when nothing listens", func(ctx SpecContext) {
				gone := "http://" + apptest.RefusedAddr() + "/answer"
				run := startWith(ctx, "/answer", func(o *bxml.CallOptions) { o.URL = gone })
				check(ctx, run, 0, "connection refused")
			}, SpecTimeout(10*time.Second))
			It("when the answer takes longer than the callback timeout", func(ctx SpecContext) {
				app.Route("/answer", apptest.Reply{Hang: true})
				run := startWith(ctx, "/answer", func(o *bxml.CallOptions) { o.Call.CallbackTimeout = 200 * time.Millisecond })
				check(ctx, run, 0, "no answer within the callback timeout of 200ms")
			}, SpecTimeout(10*time.Second))
		})
	})

	Describe("verbs", func() {
		It("runs Pause for its duration, then hangs up when the verbs run out", func(ctx SpecContext) {
			app.Serve("/answer", `<Response>
  <Pause duration="0.3"/>
</Response>`)
			began := time.Now()
			run := start(ctx, "/answer")
			finished(ctx, run)
			Expect(time.Since(began)).To(BeNumerically(">=", 300*time.Millisecond))
			pause := one(em, verbEntry("Pause"))
			Expect(pause.Message).To(ContainSubstring(`<Pause duration="0.3"/> (line 2)`))
			Expect(one(em, callEnded).Time.Sub(pause.Time)).To(BeNumerically(">=", 300*time.Millisecond))
			Expect(entries(em, func(e emulator.Entry) bool {
				return e.Kind == bxml.KindBXML && strings.Contains(e.Message, "implicit hangup")
			})).To(HaveLen(1))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(run.State()).To(Equal(bxml.StateDisconnected))
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		DescribeTable("waits as long as each verb takes",
			func(ctx SpecContext, verbs, verb string, least time.Duration) {
				en.SpeechRate = 50 * time.Millisecond
				app.Route("/prompt.wav", apptest.Reply{Body: string(wav(250 * time.Millisecond)), ContentType: "audio/wav"})
				app.Serve("/answer", "<Response>"+verbs+"</Response>")
				run := start(ctx, "/answer")
				finished(ctx, run)
				Expect(one(em, callEnded).Time.Sub(one(em, verbEntry(verb)).Time)).To(BeNumerically(">=", least))
				Expect(run.Err()).NotTo(HaveOccurred())
				Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
			},
			Entry("Ring", SpecTimeout(10*time.Second), `<Ring duration="0.2"/>`, "Ring", 200*time.Millisecond),
			Entry("SpeakSentence: words × SpeechRate", SpecTimeout(10*time.Second),
				`<SpeakSentence voice="julie">one two <break time="1s"/>three four</SpeakSentence>`, "SpeakSentence", 200*time.Millisecond),
			Entry("PlayAudio of a WAV file: its length", SpecTimeout(10*time.Second), `<PlayAudio>/prompt.wav</PlayAudio>`, "PlayAudio", 250*time.Millisecond),
		)

		It("plays speech to the caller, heard on the outbound track", func(ctx SpecContext) {
			ws := apptest.NewWS()
			en.SpeechRate = 60 * time.Millisecond
			app.Serve("/answer", fmt.Sprintf(`<Response>
  <StartStream name="out" tracks="outbound" destination=%q/>
  <SpeakSentence>one two three four five</SpeakSentence>
  <Pause duration="0.2"/>
</Response>`, ws.URL()))
			run := start(ctx, "/answer")
			finished(ctx, run)
			media := ws.First().MediaOn(protocol.TrackOutbound)
			Expect(audible(media)).To(BeNumerically(">", 5), "frames of speech")
			Expect(len(media)-audible(media)).To(BeNumerically(">", 0), "silent frames after the speech")
		}, SpecTimeout(10*time.Second))

		It("plays a 1 s tone for audio it cannot decode, and fetches it with the verb's credentials", func(ctx SpecContext) {
			app.Route("/prompt.mp3", apptest.Reply{Body: "ID3 not a wav", ContentType: "audio/mpeg"})
			app.Serve("/answer", `<Response><PlayAudio username="au" password="ap">prompt.mp3</PlayAudio></Response>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			reqs := app.RequestsTo("/prompt.mp3")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("au:ap"))))
			why := one(em, func(e emulator.Entry) bool {
				return e.Kind == bxml.KindBXML && strings.Contains(e.Message, "tone instead")
			})
			Expect(why.Message).To(SatisfyAll(ContainSubstring("not a WAV file"), ContainSubstring("1s tone")))
			Expect(one(em, callEnded).Time.Sub(one(em, verbEntry("PlayAudio")).Time)).To(BeNumerically(">=", bxml.FallbackAudioDuration))
		}, SpecTimeout(10*time.Second))

		It("hangs up at <Hangup>, skipping what follows", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Pause duration="0.1"/><Hangup/><Pause duration="30"/></Response>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			Expect(entries(em, verbEntry("Pause"))).To(HaveLen(1))
			Expect(entries(em, verbEntry("Hangup"))).To(HaveLen(1))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It("journals warnings before the document runs, and skips unsupported verbs", func(ctx SpecContext) {
			app.Serve("/answer", "<Response>\n<Gather/>\n<Pause duration=\"0.1\"/>\n</Response>")
			run := start(ctx, "/answer")
			finished(ctx, run)
			warning := one(em, func(e emulator.Entry) bool { return e.Kind == bxml.KindWarning })
			Expect(warning.Event).To(Equal("Gather"))
			Expect(warning.By).To(Equal(emulator.ByEmulator))
			Expect(warning.Message).To(ContainSubstring("line 2: <Gather>"))
			Expect(warning.Seq).To(BeNumerically("<", one(em, verbEntry("Pause")).Seq))
		}, SpecTimeout(10*time.Second))
	})

	Describe("StartStream and StopStream", func() {
		streamDoc := func(verbs string) string {
			return "<Response>" + strings.NewReplacer("WS", cons.WebSocketURL(), "EVENTS", cons.EventsURL()).Replace(verbs) + "</Response>"
		}

		It("closes the stream almost at once when StartStream is the last verb (the classic pitfall)", func(ctx SpecContext) {
			app.Serve("/answer", streamDoc(`<StartStream name="agent" destination="WS" streamEventUrl="EVENTS"/>`))
			run := startWith(ctx, "/answer", func(o *bxml.CallOptions) { o.Call.DisconnectURL = cons.EventsURL() })
			finished(ctx, run)

			streams := run.Call.Streams()
			Expect(streams).To(HaveLen(1))
			res := streams[0].Result()
			Expect(res.Connected).To(BeTrue())
			Expect(res.Ending).To(Equal(emulator.EndHangup))
			Expect(res.Event).To(Equal(protocol.EventMediaStreamStopped))
			Expect(res.Cause).To(Equal(protocol.CauseClosed))
			Expect(res.Messages).To(BeNumerically("<", 5), "hardly any media before the implicit hangup")

			rec, err := cons.WaitStreamClosed(ctx, streams[0].ID)
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.StopSeen).To(BeTrue())
			var order []string
			for _, ev := range cons.Events() {
				order = append(order, ev.Event.EventType+"/"+ev.Event.Cause)
			}
			Expect(order).To(Equal([]string{"mediaStreamStarted/", "mediaStreamStopped/closed", "disconnect/hangup"}))
		}, SpecTimeout(10*time.Second))

		It("goes on after a rejected StartStream", func(ctx SpecContext) {
			app.Serve("/answer", streamDoc(`<StartStream name="a" destination="WS"/><StartStream name="a" destination="WS"/><Pause duration="0.1"/>`))
			run := start(ctx, "/answer")
			finished(ctx, run)
			Expect(run.Call.Streams()).To(HaveLen(1), "a rejected stream is not admitted")
			rejected := one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindRejected })
			Expect(rejected.Cause).To(Equal(protocol.CauseDuplicate))
			Expect(entries(em, verbEntry("Pause"))).To(HaveLen(1))
			Expect(run.Err()).NotTo(HaveOccurred())
		}, SpecTimeout(10*time.Second))

		It("frees a stopped stream's name for a StartStream that follows", func(ctx SpecContext) {
			app.Serve("/answer", streamDoc(`<StartStream name="a" destination="WS"/><StopStream name="a"/><StartStream name="a" destination="WS"/><Pause duration="0.1"/>`))
			run := start(ctx, "/answer")
			finished(ctx, run)
			streams := run.Call.Streams()
			Expect(streams).To(HaveLen(2))
			Expect(streams[0].Result().Ending).To(Equal(emulator.EndStopStream))
			Expect(streams[1].Result().Ending).To(Equal(emulator.EndHangup))
			Expect(entries(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindRejected })).To(BeEmpty())
		}, SpecTimeout(10*time.Second))

		It("does nothing for a StopStream of an unknown name", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><StopStream name="ghost"/><StopStream name="ghost" wait="true"/><Pause duration="0.1"/></Response>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			Expect(entries(em, func(e emulator.Entry) bool { return strings.Contains(e.Message, `no live stream named "ghost"`) })).To(HaveLen(2))
			Expect(entries(em, verbEntry("Pause"))).To(HaveLen(1))
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It(`releases StopStream wait="true" when the app closes the socket`, func(ctx SpecContext) {
			ws := apptest.NewWS(apptest.Close(websocket.CloseNormalClosure, "done talking"))
			en.StopStreamWaitTimeout = time.Minute // longer than the spec may take
			app.Serve("/answer", fmt.Sprintf(`<Response>
  <StartStream name="bot" mode="bidirectional" destination=%q/>
  <StopStream name="bot" wait="true"/>
  <Pause duration="0.2"/>
</Response>`, ws.URL()))
			run := start(ctx, "/answer")
			finished(ctx, run)
			res := run.Call.Streams()[0].Result()
			Expect(res.Ending).To(Equal(emulator.EndAppClose))
			Expect(res.CloseReceived).To(Equal(1000))
			Expect(res.Cause).To(Equal(protocol.CauseClosed))
			ending := one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindEnding && e.StreamName == "bot" })
			Expect(one(em, verbEntry("Pause")).Seq).To(BeNumerically(">", ending.Seq))
			Expect(entries(em, func(e emulator.Entry) bool { return strings.Contains(e.Message, "the wait is over") })).To(HaveLen(1))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It(`stops the stream after the timeout of StopStream wait="true" when the app keeps it open`, func(ctx SpecContext) {
			en.StopStreamWaitTimeout = 300 * time.Millisecond
			app.Serve("/answer", streamDoc(`<StartStream name="bot" destination="WS" streamEventUrl="EVENTS"/><StopStream name="bot" wait="true"/>`))
			run := start(ctx, "/answer")
			finished(ctx, run)
			res := run.Call.Streams()[0].Result()
			Expect(res.Ending).To(Equal(emulator.EndStopStream))
			Expect(res.Cause).To(Equal(protocol.CauseClosed))
			ending := one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindEnding && e.StreamName == "bot" })
			Expect(ending.Time.Sub(one(em, verbEntry("StopStream")).Time)).To(BeNumerically(">=", 300*time.Millisecond))
			Expect(entries(em, func(e emulator.Entry) bool { return strings.Contains(e.Message, "wait timeout of 300ms") })).To(HaveLen(1))
			stopped, err := cons.WaitEvent(ctx, func(r consumer.EventRecord) bool { return r.Event.EventType == protocol.EventMediaStreamStopped })
			Expect(err).NotTo(HaveOccurred())
			Expect(stopped.Event.Cause).To(Equal(protocol.CauseClosed))
		}, SpecTimeout(10*time.Second))

		It("resolves a relative streamEventUrl against the URL that served the BXML", func(ctx SpecContext) {
			app.Route("/calls/events", apptest.Reply{})
			app.Route("/v2/events", apptest.Reply{})
			app.Serve("/calls/answer", streamDoc(`<StartStream name="a" destination="WS" streamEventUrl="events"/><Redirect redirectUrl="/v2/next"/>`))
			app.Serve("/v2/next", streamDoc(`<StartStream name="b" destination="WS" streamEventUrl="events"/><Pause duration="0.2"/>`))
			run := start(ctx, "/calls/answer")
			finished(ctx, run)
			names := func(path string) []string {
				var out []string
				for _, q := range app.RequestsTo(path) {
					out = append(out, q.Event.MediaStream.Name+"/"+q.Event.EventType)
				}
				return out
			}
			Expect(names("/calls/events")).To(Equal([]string{"a/mediaStreamStarted", "a/mediaStreamStopped"}))
			Expect(names("/v2/events")).To(Equal([]string{"b/mediaStreamStarted", "b/mediaStreamStopped"}))
		}, SpecTimeout(10*time.Second))

		It("warns about snake_case destination credentials, which never reach the app", func(ctx SpecContext) {
			legacy, current := apptest.NewWS(), apptest.NewWS()
			app.Serve("/answer", fmt.Sprintf(`<Response>
  <StartStream name="legacy" destination=%q destination_username="user" destination_password="s3cr3t-pw"/>
  <StartStream name="current" destination=%q destinationUsername="user" destinationPassword="s3cr3t-pw"/>
  <Pause duration="0.2"/>
</Response>`, legacy.URL(), current.URL()))
			run := start(ctx, "/answer")
			finished(ctx, run)

			warnings := entries(em, func(e emulator.Entry) bool { return e.Kind == bxml.KindWarning })
			Expect(warnings).To(HaveLen(2))
			Expect(warnings[0].Message).To(SatisfyAll(ContainSubstring("line 2: <StartStream>"), ContainSubstring("destination_username"),
				ContainSubstring("never be sent"), ContainSubstring("destinationUsername")))
			Expect(warnings[1].Seq).To(BeNumerically("<", entries(em, verbEntry("StartStream"))[0].Seq))

			Expect(legacy.Streams()).To(HaveLen(1))
			Expect(legacy.First().Header.Get("Authorization")).To(BeEmpty())
			Expect(current.Streams()).To(HaveLen(1))
			Expect(current.First().Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("user:s3cr3t-pw"))))

			var buf bytes.Buffer
			Expect(em.Journal().WriteJSONLines(&buf)).To(Succeed())
			Expect(buf.String()).NotTo(ContainSubstring("s3cr3t-pw"))
			// Nor what reports show of the app's answers.
			exchanges, err := json.Marshal(em.Exchanges())
			Expect(err).NotTo(HaveOccurred())
			Expect(string(exchanges)).To(ContainSubstring(`destinationPassword=\"[redacted]\"`))
			Expect(string(exchanges)).NotTo(ContainSubstring("s3cr3t-pw"))
		}, SpecTimeout(10*time.Second))
	})

	Describe("redirects", func() {
		It("follows <Redirect> with its tag, leaving the rest of the document", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Redirect redirectUrl="next" tag="t-1"/><Pause duration="30"/></Response>`)
			app.Serve("/next", `<Bxml><Pause duration="0.1"/></Bxml>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			reqs := app.RequestsTo("/next")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Method).To(Equal(http.MethodPost))
			ev := reqs[0].Event
			Expect(ev.EventType).To(Equal(bxml.EventRedirect))
			Expect(ev.Tag).To(Equal("t-1"))
			Expect(ev.CallID).To(Equal(run.Call.ID))
			Expect(ev.AnswerTime).NotTo(BeNil())
			pauses := entries(em, verbEntry("Pause"))
			Expect(pauses).To(HaveLen(1))
			Expect(pauses[0].Message).To(ContainSubstring(`duration="0.1"`))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It("tries redirectFallbackUrl when redirectUrl fails", func(ctx SpecContext) {
			app.Route("/broken", apptest.Reply{Status: http.StatusServiceUnavailable})
			app.Serve("/answer", `<Response><Redirect redirectUrl="/broken" redirectFallbackUrl="/next" redirectFallbackMethod="GET" fallbackUsername="fu" fallbackPassword="fp"/></Response>`)
			app.Serve("/next", `<Response><Hangup/></Response>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			Expect(app.RequestsTo("/broken")).To(HaveLen(1))
			reqs := app.RequestsTo("/next")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Method).To(Equal(http.MethodGet))
			Expect(reqs[0].Query.Get("eventType")).To(Equal(bxml.EventRedirect))
			Expect(reqs[0].Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("fu:fp"))))
			Expect(run.Err()).NotTo(HaveOccurred())
		}, SpecTimeout(10*time.Second))

		It("ends the call with callback-error when a <Redirect> fails", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Redirect redirectUrl="/missing"/></Response>`)
			run := start(ctx, "/answer")
			finished(ctx, run)
			dc := app.Only(protocol.EventDisconnect).Event
			Expect(dc.Cause).To(Equal(bxml.CauseCallbackError))
			Expect(dc.ErrorMessage).To(ContainSubstring("404 Not Found"))
		}, SpecTimeout(10*time.Second))

		It("abandons the current BXML on Run.Redirect", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Pause duration="30"/></Response>`)
			app.Serve("/next", `<Response><Pause duration="0.1"/></Response>`)
			run := start(ctx, "/answer")
			verbStarted(ctx, "Pause")
			Expect(run.State()).To(Equal(bxml.StateAnswered))
			Expect(run.Redirect(ctx, "/next", "GET")).To(Succeed())
			finished(ctx, run)
			reqs := app.RequestsTo("/next")
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Method).To(Equal(http.MethodGet))
			Expect(reqs[0].Query.Get("eventType")).To(Equal(bxml.EventRedirect))
			Expect(entries(em, verbEntry("Pause"))).To(HaveLen(2))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))
	})

	Describe("updates from outside", func() {
		It("replaces the BXML, stopping the named stream with cause closed", func(ctx SpecContext) {
			app.Serve("/answer", fmt.Sprintf(`<Response>
  <StartStream name="agent" destination=%q streamEventUrl=%q/>
  <Pause duration="30"/>
</Response>`, cons.WebSocketURL(), cons.EventsURL()))
			run := start(ctx, "/answer")
			rec, err := cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamName == "agent" })
			Expect(err).NotTo(HaveOccurred())
			verbStarted(ctx, "Pause")

			Expect(run.Replace(ctx, []byte(`<Bxml><Pause duration="x"/></Bxml>`))).To(syntaxError(1, "duration"))
			Expect(run.Call.Ended()).To(BeFalse(), "invalid BXML in an update leaves the call as it was")

			Expect(run.Replace(ctx, []byte(`<Bxml><StopStream name="agent"/></Bxml>`))).To(Succeed())
			finished(ctx, run)
			res := run.Call.Streams()[0].Result()
			Expect(res.Ending).To(Equal(emulator.EndStopStream))
			Expect(res.Event).To(Equal(protocol.EventMediaStreamStopped))
			Expect(res.Cause).To(Equal(protocol.CauseClosed))
			closed, err := cons.WaitStreamClosed(ctx, rec.StreamID)
			Expect(err).NotTo(HaveOccurred())
			Expect(closed.StopSeen).To(BeTrue())
			stopped, err := cons.WaitEvent(ctx, func(r consumer.EventRecord) bool { return r.Event.EventType == protocol.EventMediaStreamStopped })
			Expect(err).NotTo(HaveOccurred())
			Expect(stopped.Event.Cause).To(Equal(protocol.CauseClosed))
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(10*time.Second))

		It("hangs up on Run.Hangup, and refuses updates afterwards", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Pause duration="30"/></Response>`)
			run := start(ctx, "/answer")
			verbStarted(ctx, "Pause")
			Expect(run.Hangup(ctx)).To(Succeed())
			Expect(run.Done()).To(BeClosed())
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(run.State()).To(Equal(bxml.StateDisconnected))
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
			hangup := one(em, func(e emulator.Entry) bool {
				return e.Kind == bxml.KindBXML && strings.HasPrefix(e.Message, "hangup requested")
			})
			Expect(hangup.Message).NotTo(ContainSubstring("Voice API"), "no Voice API asked for it")
			Expect(run.Hangup(ctx)).To(MatchError(bxml.ErrCallEnded))
			Expect(run.Replace(ctx, []byte(`<Bxml/>`))).To(MatchError(bxml.ErrCallEnded))
			Expect(run.Redirect(ctx, "/next", "")).To(MatchError(bxml.ErrCallEnded))
		}, SpecTimeout(10*time.Second))

		It("hangs up while the first BXML is still being fetched", func(ctx SpecContext) {
			app.Route("/answer", apptest.Reply{Hang: true})
			run := start(ctx, "/answer")
			Eventually(ctx, func() []apptest.Request { return app.RequestsTo("/answer") }).Should(HaveLen(1))
			Expect(run.Hangup(ctx)).To(Succeed())
			Expect(run.Err()).NotTo(HaveOccurred())
			Expect(app.Only(protocol.EventDisconnect).Event.Cause).To(Equal(protocol.DisconnectHangup))
			fetch := one(em, func(e emulator.Entry) bool { return e.Kind == emulator.KindWebhook && e.Event == bxml.EventAnswer })
			Expect(fetch).To(And(HaveField("Error", "cancelled"), HaveField("NoAnswer", emulator.NoAnswerInterrupted), HaveField("Method", "POST")))
		}, SpecTimeout(10*time.Second))

		It("stops when the emulator closes", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Pause duration="30"/></Response>`)
			run := start(ctx, "/answer")
			verbStarted(ctx, "Pause")
			Expect(em.Close()).To(Succeed())
			finished(ctx, run)
			Expect(run.Err()).To(MatchError(bxml.ErrCallEnded))
		}, SpecTimeout(10*time.Second))

		It("stops when its context is done, leaving the call as it is", func(ctx SpecContext) {
			app.Serve("/answer", `<Response><Pause duration="30"/></Response>`)
			cctx, cancel := context.WithCancel(ctx)
			run := start(cctx, "/answer")
			verbStarted(ctx, "Pause")
			cancel()
			finished(ctx, run)
			Expect(run.Err()).To(MatchError(context.Canceled))
			Expect(run.Call.Ended()).To(BeFalse())
		}, SpecTimeout(10*time.Second))
	})

	It("refuses bad call options", func(ctx SpecContext) {
		_, err := en.Start(ctx, bxml.CallOptions{URL: "ftp://x/answer"})
		Expect(err).To(MatchError(ContainSubstring("not an http")))
		_, err = en.Start(ctx, bxml.CallOptions{URL: app.URL("/a"), Method: "PUT"})
		Expect(err).To(MatchError(ContainSubstring("want POST or GET")))
		_, err = en.Start(ctx, bxml.CallOptions{URL: app.URL("/a"), EventType: "redirect"})
		Expect(err).To(MatchError(ContainSubstring("want answer or initiate")))
		_, err = (&bxml.Engine{}).Start(ctx, bxml.CallOptions{URL: app.URL("/a")})
		Expect(err).To(MatchError(ContainSubstring("Emulator is nil")))
	})
})
