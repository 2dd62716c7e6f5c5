package scenarios_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/scenarios"
)

// timeout bounds every spec that runs scenarios: a hung run fails rather
// than stalls the suite.
const timeout = SpecTimeout(20 * time.Second)

var _ = Describe("Run", func() {
	Describe("the example file against the built-in reference consumer", func() {
		It("passes every scenario, each with its streams, webhooks and journal", func(ctx SpecContext) {
			f, err := scenarios.Load("../scenarios.example.yaml")
			Expect(err).NotTo(HaveOccurred())
			Expect(f.Target.WebSocket).To(BeEmpty(), "the example names no target")
			results := runFiles(ctx, scenarios.RunOptions{}, f)
			for i, r := range results {
				sc := f.Scenarios[i]
				Expect(r.Name).To(Equal(sc.Name), "results come in file order")
				Expect(r).To(passed(), r.Name)
				Expect(r.Scenario).To(BeIdenticalTo(sc))
				Expect(r.File).To(Equal("../scenarios.example.yaml"))
				Expect(r.Pos).To(Equal(sc.Pos.String()))
				Expect(r.Duration).To(BeNumerically(">", 0))
				Expect(r.Failures).To(BeEmpty())
				Expect(r.Error).To(BeEmpty())
				Expect(r.Streams).NotTo(BeEmpty(), r.Name)
				for _, s := range r.Streams {
					Expect(s.Result).NotTo(BeNil(), "%s: stream %s has a final result", r.Name, s.Name)
					Expect(s.ID).To(HavePrefix("s-"))
				}
				Expect(r.Webhooks).NotTo(BeEmpty(), r.Name)
				for _, d := range r.Webhooks {
					Expect(d.Status()).To(Equal(204), "%s: %s", r.Name, d.Event.EventType)
				}
				Expect(r.Journal).NotTo(BeEmpty(), r.Name)
				Expect(r.Journal[0].Kind).To(Equal(emulator.KindCall))
				Expect(r.JournalFile).To(BeEmpty(), "no JournalDir, no file")
			}

			hangup := named(results, "the caller hangs up")
			Expect(webhooks(hangup)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}))
			Expect(hangup.Streams[0].Result.MediaDuration).To(Equal(2 * time.Second))

			twice := named(results, "webhooks are delivered twice and the app stays idempotent")
			Expect(webhooks(twice)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStarted#2",
				"mediaStreamStopped(closed)", "mediaStreamStopped(closed)#2", "disconnect(hangup)", "disconnect(hangup)#2"}))

			echo := named(results, "a bidirectional stream echoes audio back")
			Expect(echo.Streams[0].Result.PlayAudio).To(BeNumerically(">=", 1))

			dup := named(results, "a second stream with a live name is rejected as a duplicate")
			Expect(endings(dup)).To(Equal([]ending{
				{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"},
				{emulator.EndDuplicate, protocol.EventMediaStreamRejected, "duplicate"},
			}))
			Expect(named(results, "the connection silently drops").Streams[0].Result.Ending).To(Equal(emulator.EndDrop))
		}, timeout)
	})

	Describe("each step kind, against the reference consumer as the file's target", func() {
		var (
			app  *consumer.Server
			file func(scenario string) string
		)
		BeforeEach(func() {
			app = newReference()
			file = func(scenario string) string {
				return fmt.Sprintf("target: {websocket: %q, events: %q, disconnect: %q}\n", app.WebSocketURL(), app.EventsURL(), app.DisconnectURL()) +
					quick + "scenarios:\n" + scenario
			}
		})
		// normal is the webhooks of a call whose one stream was stopped
		// cleanly, by a step or the hangup; lost, of one whose stream was
		// lost to a connection error.
		normal := []string{"mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}
		lost := []string{"mediaStreamStarted", "mediaStreamStopped(connection-error)", "disconnect(hangup)"}

		DescribeTable("a scenario passes with each stream ending as its steps say",
			func(ctx SpecContext, scenario string, want []ending, hooks OmegaMatcher, more func(r *scenarios.Result)) {
				r := runOne(ctx, file(scenario), scenarios.RunOptions{})
				Expect(r).To(passed())
				Expect(endings(r)).To(Equal(want))
				Expect(webhooks(r)).To(hooks)
				more(r)
			},
			Entry("media streams that much audio; the end of the steps hangs up", `
  - name: media
    stream: {name: agent}
    steps:
      - media: 200ms
`, []ending{{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"}}, Equal(normal), func(r *scenarios.Result) {
				Expect(r.Streams).To(HaveLen(1))
				s := r.Streams[0]
				Expect(s.Name).To(Equal("agent"))
				Expect(s.Result.Messages).To(Equal(10))
				Expect(s.Result.FramesByTrack).To(Equal(map[string]int{"inbound": 10}))
				Expect(s.Result.MediaDuration).To(Equal(200 * time.Millisecond))

				seen := app.Streams()
				Expect(seen).To(HaveLen(1))
				Expect(seen[0].StreamID).To(Equal(s.ID))
				Expect(seen[0].StreamName).To(Equal("agent"))
				Expect(seen[0].FramesByTrack).To(Equal(map[string]int{"inbound": 10}))
				Expect(seen[0].StopSeen).To(BeTrue())
			}, timeout),

			// The call still ends with disconnect.
			Entry("stopStream stops the stream with a close handshake; later steps on it do nothing", `
  - name: stop
    stream: {name: agent}
    steps:
      - media: 100ms
      - stopStream
      - media: 100ms
    expect:
      close: {by: emulator, code: 1000, handshake: true}
`, []ending{{emulator.EndStopStream, protocol.EventMediaStreamStopped, "closed"}}, Equal(normal), func(r *scenarios.Result) {
				res := r.Streams[0].Result
				Expect(res.Messages).To(Equal(5), "the media step after the stop streamed nothing")
				Expect(res.ClosedBy).To(Equal(emulator.ByEmulator))
				Expect(res.CloseSent).To(Equal(1000))
				Expect(res.CloseReceived).To(Equal(1000))
				Expect(res.CloseHandshake).To(BeTrue())
			}, timeout),

			Entry("stopStream with wait stops the stream itself when the app does not close in time", `
  - name: wait in vain
    stream: {name: agent}
    steps:
      - media: 60ms
      - stopStream: {name: agent, wait: true, timeout: 150ms}
    expect:
      close: {by: emulator, code: 1000, handshake: true}
`, []ending{{emulator.EndStopStream, protocol.EventMediaStreamStopped, "closed"}}, Equal(normal), func(r *scenarios.Result) {
				Expect(r.Duration).To(BeNumerically(">=", 150*time.Millisecond))
			}, timeout),

			Entry("hangup ends every stream, then the call; later steps do nothing", `
  - name: hangup
    stream: {name: agent}
    streams: [{name: other, tracks: outbound}]
    steps:
      - media: 100ms
      - hangup
      - media: 100ms
      - hangup
    expect:
      disconnect: {cause: hangup}
`, []ending{
				{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"},
				{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"},
			}, ConsistOf("mediaStreamStarted", "mediaStreamStarted",
				"mediaStreamStopped(closed)", "mediaStreamStopped(closed)", "disconnect(hangup)"), func(r *scenarios.Result) {
				Expect(r.Streams[0].Result.Messages).To(Equal(5))
				Expect(webhooks(r)[4]).To(Equal("disconnect(hangup)"), "disconnect comes last, once")
			}, timeout),

			Entry("abort: reset ends the stream with a TCP reset", `
  - name: reset
    stream: {name: agent}
    steps:
      - media: 60ms
      - abort: reset
    expect:
      stopped: {cause: connection-error, errorMessage: was reset}
      close: {by: network}
`, []ending{{emulator.EndReset, protocol.EventMediaStreamStopped, "connection-error"}}, Equal(lost), func(r *scenarios.Result) {
				Expect(r.Streams[0].Result.ClosedBy).To(Equal(emulator.ByNetwork))
				Expect(r.Streams[0].Result.CloseHandshake).To(BeFalse())
			}, timeout),

			Entry("abort: drop goes silent until the dead-peer timeout", `
  - name: drop
    stream: {name: agent}
    steps:
      - media: 60ms
      - abort: {fault: drop, stream: agent}
    expect:
      stopped: {cause: connection-error, errorMessage: went silent}
`, []ending{{emulator.EndDrop, protocol.EventMediaStreamStopped, "connection-error"}}, Equal(lost), func(r *scenarios.Result) {
				Expect(r.Duration).To(BeNumerically(">=", 200*time.Millisecond), "the dead-peer timeout")
			}, timeout),

			Entry("error closes with 1011 and reports cause error", `
  - name: error
    stream: {name: agent}
    steps:
      - media: 60ms
      - error
    expect:
      stopped: {cause: error, errorMessage: internal error}
      close: {by: emulator, code: 1011, handshake: true}
`, []ending{{emulator.EndInternalError, protocol.EventMediaStreamStopped, "error"}},
				Equal([]string{"mediaStreamStarted", "mediaStreamStopped(error)", "disconnect(hangup)"}), func(r *scenarios.Result) {
					Expect(r.Streams[0].Result.CloseSent).To(Equal(1011))
				}, timeout),

			Entry("start with a live name is rejected as a duplicate and leaves the live stream alone", `
  - name: duplicate
    stream: {name: agent}
    steps:
      - media: 60ms
      - start: {name: agent, tracks: outbound}
      - media: 60ms
      - stopStream: agent
    expect:
      rejected: {cause: duplicate, errorMessage: already active}
      stopped: {stream: agent, cause: closed}
`, []ending{
				{emulator.EndStopStream, protocol.EventMediaStreamStopped, "closed"},
				{emulator.EndDuplicate, protocol.EventMediaStreamRejected, "duplicate"},
			}, Equal([]string{"mediaStreamStarted", "mediaStreamRejected(duplicate)", "mediaStreamStopped(closed)", "disconnect(hangup)"}),
				func(r *scenarios.Result) {
					Expect(r.Streams[1].Name).To(Equal("agent"))
					Expect(r.Streams[1].Result.Connected).To(BeFalse())
					Expect(r.Streams[1].Result.Original).NotTo(BeNil())
					Expect(r.Streams[1].Result.Original.ID).To(Equal(r.Streams[0].ID))
					Expect(r.Streams[0].Result.Messages).To(Equal(6), "the steps after the rejection acted on the live stream")
					Expect(app.Streams()).To(HaveLen(1), "the duplicate never connected")
				}, timeout),

			Entry("start past four tracks is rejected for the track limit", `
  - name: track limit
    stream: {name: first, tracks: both}
    streams:
      - {name: second, tracks: both}
    steps:
      - media: 60ms
      - start: {name: third, tracks: inbound}
    expect:
      rejected: {stream: third, cause: track-limit}
`, []ending{
				{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"},
				{emulator.EndHangup, protocol.EventMediaStreamStopped, "closed"},
				{emulator.EndTrackLimit, protocol.EventMediaStreamRejected, "track-limit"},
			}, ContainElement("mediaStreamRejected(track-limit)"), func(r *scenarios.Result) {
				Expect(r.Streams[2].Result.ErrorMessage).To(ContainSubstring("5 tracks"))
				Expect(webhooks(r)).To(HaveLen(6))
				Expect(webhooks(r)[5]).To(Equal("disconnect(hangup)"))
			}, timeout),
		)

		It("silence streams frames too, on every track", func(ctx SpecContext) {
			r := runOne(ctx, file(`
  - name: silence
    stream: {name: agent, tracks: both}
    steps:
      - silence: 100ms
      - media: 60ms
`), scenarios.RunOptions{})
			Expect(r).To(passed())
			res := r.Streams[0].Result
			Expect(res.FramesByTrack).To(Equal(map[string]int{"inbound": 8, "outbound": 8}))
			Expect(res.MediaDuration).To(Equal(160 * time.Millisecond))
			Expect(webhooks(r)).To(Equal(normal))
		}, timeout)

		It("stopStream with wait returns as soon as the app closes the stream", func(ctx SpecContext) {
			closer := apptest.NewWS(apptest.After(5, apptest.Close(1000, "done")))
			r := runOne(ctx, quick+`scenarios:
  - name: wait for the app
    stream: {name: agent}
    steps:
      - media: 100ms
      - stopStream: {name: agent, wait: true, timeout: 10s}
    expect:
      stopped: {cause: closed}
      close: {by: app, code: 1000, handshake: true}
`, against(closer.URL(), app.EventsURL(), app.DisconnectURL()))
			Expect(r).To(passed())
			Expect(endings(r)).To(Equal([]ending{{emulator.EndAppClose, protocol.EventMediaStreamStopped, "closed"}}))
			Expect(r.Streams[0].Result.CloseReason).To(Equal("done"))
			Expect(r.Duration).To(BeNumerically("<", 5*time.Second), "it did not wait for the timeout")
			Expect(webhooks(r)).To(Equal(normal))
		}, timeout)

		It("duplicateWebhooks delivers every webhook twice while it is on", func(ctx SpecContext) {
			results := runInline(ctx, file(`
  - name: on from the start, off mid-call
    duplicateWebhooks: true
    stream: {name: agent}
    steps:
      - media: 60ms
      - duplicateWebhooks: false
      - hangup
  - name: off, then on mid-call
    stream: {name: agent}
    steps:
      - media: 60ms
      - duplicateWebhooks
      - hangup
`), scenarios.RunOptions{Parallel: 1})
			first, second := results[0], results[1]
			Expect(first).To(passed())
			Expect(second).To(passed())
			Expect(webhooks(first)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStarted#2",
				"mediaStreamStopped(closed)", "disconnect(hangup)"}))
			Expect(webhooks(second)).To(Equal([]string{"mediaStreamStarted",
				"mediaStreamStopped(closed)", "mediaStreamStopped(closed)#2", "disconnect(hangup)", "disconnect(hangup)#2"}))
			dups := map[string]int{}
			for _, ev := range app.Events() {
				dups[ev.Event.EventType] += ev.Duplicates
			}
			Expect(dups).To(Equal(map[string]int{"mediaStreamStarted": 1, "mediaStreamStopped": 1, "disconnect": 1}),
				"the consumer recognised each second copy")
		}, timeout)

		It("RunOptions.WebSocket, Events and Disconnect override the file's target", func(ctx SpecContext) {
			other := newReference()
			r := runOne(ctx, file(`
  - name: elsewhere
    stream: {name: agent}
    steps:
      - media: 60ms
`), against(other.WebSocketURL(), other.EventsURL(), other.DisconnectURL()))
			Expect(r).To(passed())
			Expect(app.Streams()).To(BeEmpty())
			Expect(app.Events()).To(BeEmpty())
			Expect(other.Streams()).To(HaveLen(1))
			Expect(other.Events()).To(HaveLen(3))
		}, timeout)
	})

	Describe("faulty apps: the failure says what was seen", func() {
		var ref *consumer.Server
		BeforeEach(func() { ref = newReference() })

		// reported checks what every failure carries: the expectation's
		// place in the file and a journal excerpt.
		reported := func(f scenarios.Failure, line int) {
			GinkgoHelper()
			Expect(f.Pos).To(at(line), "%s at line %d", f.Expectation, line)
			Expect(f.Message).NotTo(BeEmpty())
			Expect(f.Excerpt).NotTo(BeEmpty())
			Expect(f.Excerpt).NotTo(ContainSubstring("no journal entries"))
		}
		// failedOnly checks that r failed the one expectation named, reported
		// at the line of src holding where, and returns that failure.
		failedOnly := func(r *scenarios.Result, expectation, src, where string) scenarios.Failure {
			GinkgoHelper()
			Expect(expectations(r)).To(Equal([]string{expectation}))
			f := failure(r, expectation)
			reported(f, lineOf(src, where))
			return f
		}

		It("a webhook answered 200 fails expect.webhooks.status with the status and the event", func(ctx SpecContext) {
			hooks := answers200()
			src := quick + `scenarios:
  - name: answers 200
    stream: {name: agent}
    steps:
      - media: 60ms
    expect:
      webhooks: {status: 204}
`
			r := runOne(ctx, src, against(ref.WebSocketURL(), hooks.EventsURL(), hooks.EventsURL()))
			f := failedOnly(r, "expect.webhooks.status", src, "webhooks: {status: 204}")
			Expect(f.Message).To(ContainSubstring("to be answered with 204, but 3 of 3 were not"))
			Expect(f.Message).To(ContainSubstring("the mediaStreamStarted webhook was answered 200 OK"))
			Expect(f.Message).To(ContainSubstring(`answer body: "{\"ok\":true}"`))
			Expect(f.Message).To(MatchRegexp(`json: \{.*"eventType":"mediaStreamStarted"`))
			Expect(f.Message).To(MatchRegexp(`json: \{.*"eventType":"disconnect"`))
			Expect(hooks.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped", "disconnect"}))
		}, timeout)

		It("the implicit 204 policy fails the same way, placed at the scenario", func(ctx SpecContext) {
			hooks := answers200()
			src := quick + `scenarios:
  - name: answers 200 unasked
    stream: {name: agent}
    steps:
      - media: 60ms
`
			r := runOne(ctx, src, against(ref.WebSocketURL(), hooks.EventsURL()))
			f := failure(r, "expect.webhooks.status")
			reported(f, lineOf(src, "- name: answers 200 unasked"))
			Expect(f.Message).To(ContainSubstring("answered 200 OK"))
		}, timeout)

		It("a webhook answered 200 passes when the file accepts 2xx", func(ctx SpecContext) {
			hooks := answers200()
			r := runOne(ctx, quick+`scenarios:
  - name: 2xx is fine
    stream: {name: agent}
    steps:
      - media: 60ms
    expect:
      webhooks: {status: 2xx}
`, against(ref.WebSocketURL(), hooks.EventsURL()))
			Expect(r).To(passed())
			for _, d := range r.Webhooks {
				Expect(d.Status()).To(Equal(200))
			}
		}, timeout)

		It("a slow webhook answer fails expect.webhooks.within, a fast one passes", func(ctx SpecContext) {
			hooks := apptest.NewHooks(apptest.Reply{Delay: 150 * time.Millisecond})
			src := quick + `scenarios:
  - name: slow
    stream: {name: agent}
    steps:
      - media: 20ms
    expect:
      webhooks: {within: 50ms}
  - name: slow but within
    stream: {name: agent}
    steps:
      - media: 20ms
    expect:
      webhooks: {within: 1500ms}
`
			results := runInline(ctx, src, against(ref.WebSocketURL(), hooks.EventsURL(), hooks.EventsURL()))
			r := named(results, "slow")
			Expect(expectations(r)).To(Equal([]string{"expect.webhooks.within"}), "the status was right")
			f := failure(r, "expect.webhooks.within")
			reported(f, lineOf(src, "webhooks: {within: 50ms}"))
			Expect(f.Message).To(ContainSubstring("to be answered within 50ms, but 3 of 3 were not"))
			Expect(f.Message).To(ContainSubstring("the mediaStreamStarted webhook was answered 204 No Content in "))
			for _, d := range r.Webhooks {
				Expect(d.Final().Latency).To(BeNumerically(">=", 150*time.Millisecond))
			}
			Expect(named(results, "slow but within")).To(passed())
		}, timeout)

		It("an app that closes with 4001 fails expect.stopped with connection-error and the errorMessage", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.After(3, apptest.Close(4001, "go away")))
			src := quick + `scenarios:
  - name: closes with 4001
    stream: {name: agent}
    steps:
      - media: 60ms
      - stopStream: {name: agent, wait: true, timeout: 5s}
    expect:
      ending: app-close-code # the app's fault, expected: the rest is judged
      stopped: {cause: closed}
`
			r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(r.Error).To(BeEmpty(), "a step on a stream that ended under it is no run error")
			Expect(endings(r)).To(Equal([]ending{{emulator.EndAppCloseCode, protocol.EventMediaStreamStopped, "connection-error"}}))
			f := failedOnly(r, "expect.stopped", src, "stopped: {cause: closed}")
			Expect(f.Message).To(ContainSubstring(`to have stopped with cause closed, but it ended as mediaStreamStopped with cause connection-error`))
			Expect(f.Message).To(ContainSubstring("closed by the destination with code 4001 (go away)"))
			Expect(f.Excerpt).To(ContainSubstring("close frame received: code 4001"))
		}, timeout)

		It("a media step the app's close cuts short is no run error", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.After(3, apptest.Close(4001, "go away")))
			r := runOne(ctx, quick+`scenarios:
  - name: cut short
    pace: realtime
    stream: {name: agent}
    steps:
      - media: 10s
      - media: 10s
    expect:
      ending: app-close-code
      stopped: {cause: connection-error, errorMessage: code 4001}
      close: {by: app, code: 4001}
`, against(app.URL(), ref.EventsURL()))
			Expect(r).To(passed())
			Expect(r.Duration).To(BeNumerically("<", 5*time.Second))
			Expect(r.Streams[0].Result.AppFault).To(BeTrue())
		}, timeout)

		It("an app that never answers the close frame fails expect.close.handshake", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.IgnoreClose())
			src := quick + `scenarios:
  - name: never answers the close
    stream: {name: agent}
    steps:
      - media: 60ms
      - stopStream
    expect:
      ending: close-handshake-timeout
      stopped: {cause: closed}
      close: {by: emulator, handshake: true}
`
			r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(endings(r)).To(Equal([]ending{{emulator.EndCloseHandshakeTimeout, protocol.EventMediaStreamStopped, "closed"}}))
			f := failedOnly(r, "expect.close.handshake", src, "close: {by: emulator, handshake: true}")
			Expect(f.Message).To(ContainSubstring("to have completed the close handshake, but the emulator closed with code 1000 and the app never answered it (close-handshake-timeout)"))
		}, timeout)

		It("a bidirectional app sending invalid playAudio fails expect.violations, listing it", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Send(invalidPlayAudio))
			src := quick + `scenarios:
  - name: bad playAudio
    stream: {name: agent, mode: bidirectional}
    steps:
      - media: 60ms
      - stopStream
`
			r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(r.Streams[0].Result.Violations).To(Equal(1))
			// violations: has no place of its own in the model: the scenario's.
			f := failedOnly(r, "expect.violations", src, "- name: bad playAudio")
			Expect(f.Message).To(ContainSubstring("to have no protocol violations from the app, but the app committed 1 protocol violation"))
			Expect(f.Message).To(MatchRegexp(`violations:\n.*protocol violation: .*audio/mp3`))
			Expect(f.Excerpt).To(ContainSubstring("protocol violation"))
		}, timeout)

		It("violations: N allows up to N violations", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Send(invalidPlayAudio, `not json`))
			// late goes to the reference consumer: it commits none.
			src := quick + `scenarios:
  - name: two allowed
    stream: {name: agent, mode: bidirectional}
    steps:
      - media: 60ms
      - start: {name: late, destination: "` + ref.WebSocketURL() + `"}
      - stopStream: agent
    expect:
      violations: 2
  - name: one allowed
    stream: {name: agent, mode: bidirectional}
    steps:
      - media: 60ms
      - stopStream
    expect:
      violations: 1
`
			results := runInline(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(named(results, "two allowed")).To(passed())
			r := named(results, "one allowed")
			Expect(r.Streams[0].Result.Violations).To(Equal(2))
			f := failure(r, "expect.violations")
			reported(f, lineOf(src, "- name: one allowed"))
		}, timeout)

		// Bandwidth documents nothing about it: never a hard failure.
		It("an app that sends playAudio on a unidirectional stream passes, the message journaled as undocumented", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.Send(validPlayAudio))
			src := quick + `scenarios:
  - name: plays on a unidirectional stream
    stream: {name: agent}
    steps:
      - media: 60ms
      - stopStream
`
			r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(r).To(passed())
			Expect(r.Streams[0].Result.Undocumented).To(Equal(1))
			Expect(r.Streams[0].Result.Violations).To(BeZero())
			Expect(r.Streams[0].Result.PlayAudio).To(BeZero())
			Expect(r.Journal).To(ContainElement(HaveField("Message", ContainSubstring("the app sent playAudio on a unidirectional stream"))))
		}, timeout)

		It("an app that never plays audio back fails expect.playAudio", func(ctx SpecContext) {
			src := quick + `scenarios:
  - name: silent app
    stream: {name: agent, mode: bidirectional}
    steps:
      - media: 60ms
      - stopStream
    expect:
      playAudio: {min: 1, within: 1s}
`
			r := runOne(ctx, src, against(ref.WebSocketURL(), ref.EventsURL())) // no ?echo=1: the consumer stays silent
			f := failedOnly(r, "expect.playAudio", src, "playAudio: {min: 1, within: 1s}")
			Expect(f.Message).To(ContainSubstring("to have received at least 1 valid playAudio message from the app, the first within 1s of the stream's start, but the app sent 0 valid playAudio messages"))
		}, timeout)

		It("an app that refuses new streams after a fault fails expect.acceptsNewStream", func(ctx SpecContext) {
			app := apptest.NewWS(apptest.From(2, apptest.Refuse(http.StatusServiceUnavailable)))
			src := quick + `scenarios:
  - name: refuses the next stream
    stream: {name: agent}
    steps:
      - media: 60ms
      - abort: reset
    expect:
      stopped: {cause: connection-error}
      acceptsNewStream: true
`
			r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
			Expect(app.Handshakes()).To(Equal(2))
			f := failedOnly(r, "expect.acceptsNewStream", src, "- name: refuses the next stream")
			Expect(f.Message).To(ContainSubstring(`Expected the emulator to accept a new stream to ` + app.URL() + `, but step "connect" failed`))
			Expect(f.Message).To(ContainSubstring("503"))
		}, timeout)

		It("an app that keeps taking streams passes expect.acceptsNewStream", func(ctx SpecContext) {
			app := apptest.NewWS()
			r := runOne(ctx, quick+`scenarios:
  - name: takes the next stream
    stream: {name: agent}
    steps:
      - media: 60ms
      - abort: reset
    expect:
      acceptsNewStream: true
`, against(app.URL(), ref.EventsURL()))
			Expect(r).To(passed())
			Expect(app.Handshakes()).To(Equal(2))
		}, timeout)
	})

	Describe("RunOptions", func() {
		var ref *consumer.Server
		BeforeEach(func() { ref = newReference() })

		// mixed has two passing scenarios and two failing ones.
		mixed := quick + `scenarios:
  - name: pass one
    stream: {name: agent}
    steps: [{media: 40ms}]
  - name: fail one
    stream: {name: agent}
    steps: [{media: 40ms}, error]
    expect:
      stopped: {cause: closed}
  - name: pass two
    stream: {name: agent}
    steps: [{media: 40ms}, stopStream]
    expect:
      close: {by: emulator, code: 1000}
  - name: fail two
    stream: {name: agent}
    steps: [{media: 40ms}, {abort: reset}]
    expect:
      close: {by: app}
`

		It("Focus runs only the scenarios whose name matches; the others are skipped", func(ctx SpecContext) {
			var mu sync.Mutex
			var started []string
			results := runInline(ctx, mixed, scenarios.RunOptions{
				WebSocket: ref.WebSocketURL(), Events: ref.EventsURL(),
				Focus: regexp.MustCompile(`^pass`),
				OnStart: func(sc *scenarios.Scenario) {
					mu.Lock()
					defer mu.Unlock()
					started = append(started, sc.Name)
				},
			})
			Expect(statuses(results)).To(Equal(map[string]scenarios.Status{
				"pass one": scenarios.Passed, "fail one": scenarios.Skipped,
				"pass two": scenarios.Passed, "fail two": scenarios.Skipped,
			}))
			Expect(started).To(ConsistOf("pass one", "pass two"))
			for _, r := range results {
				if r.Status == scenarios.Skipped {
					Expect(r.Streams).To(BeEmpty())
					Expect(r.Webhooks).To(BeEmpty())
					Expect(r.Journal).To(BeEmpty())
					Expect(r.Duration).To(BeZero())
				}
			}
			Expect(ref.Streams()).To(HaveLen(2))
		}, timeout)

		It("FailFast skips every scenario not yet started once one fails", func(ctx SpecContext) {
			results := runInline(ctx, mixed, scenarios.RunOptions{
				WebSocket: ref.WebSocketURL(), Events: ref.EventsURL(), Parallel: 1, FailFast: true,
			})
			Expect(statuses(results)).To(Equal(map[string]scenarios.Status{
				"pass one": scenarios.Passed, "fail one": scenarios.Failed,
				"pass two": scenarios.Skipped, "fail two": scenarios.Skipped,
			}))
			Expect(ref.Streams()).To(HaveLen(2))
		}, timeout)

		It("without FailFast every scenario runs", func(ctx SpecContext) {
			results := runInline(ctx, mixed, scenarios.RunOptions{WebSocket: ref.WebSocketURL(), Events: ref.EventsURL(), Parallel: 1})
			Expect(statuses(results)).To(Equal(map[string]scenarios.Status{
				"pass one": scenarios.Passed, "fail one": scenarios.Failed,
				"pass two": scenarios.Passed, "fail two": scenarios.Failed,
			}))
			Expect(expectations(named(results, "fail one"))).To(Equal([]string{"expect.stopped"}))
			Expect(expectations(named(results, "fail two"))).To(Equal([]string{"expect.close"}))
		}, timeout)

		It("Parallel > 1 gives the same results, in file order, as one at a time", func(ctx SpecContext) {
			// summary is what must not depend on the parallelism.
			type summary struct {
				Name     string
				Status   scenarios.Status
				Failed   []string
				Endings  []ending
				Webhooks []string
			}
			summarize := func(results []*scenarios.Result) []summary {
				var out []summary
				for _, r := range results {
					out = append(out, summary{r.Name, r.Status, expectations(r), endings(r), webhooks(r)})
				}
				return out
			}
			f := parseInline(mixed + strings.ReplaceAll(strings.TrimPrefix(mixed, quick+"scenarios:\n"), "name: ", "name: again "))
			Expect(f.Scenarios).To(HaveLen(8))
			opts := against(ref.WebSocketURL(), ref.EventsURL())
			opts.Parallel = 1
			serial := summarize(runFiles(ctx, opts, f))
			opts.Parallel = 8
			parallel := summarize(runFiles(ctx, opts, f))
			Expect(parallel).To(Equal(serial))
			Expect(serial[0].Name).To(Equal("pass one"))
			Expect(serial[7].Name).To(Equal("again fail two"))
			Expect(serial[7].Status).To(Equal(scenarios.Failed))
		}, timeout)

		It("JournalDir receives one valid JSON Lines journal per scenario, under unique names", func(ctx SpecContext) {
			dir := filepath.Join(GinkgoT().TempDir(), "journals")
			// Two files with the same base name and the same scenarios.
			one := parseAs("one/inline.yaml", mixed)
			two := parseAs("two/inline.yaml", mixed)
			opts := against(ref.WebSocketURL(), ref.EventsURL())
			opts.JournalDir = dir
			results := runFiles(ctx, opts, one, two)
			names := map[string]bool{}
			for _, r := range results {
				Expect(r.Status).To(BeElementOf(scenarios.Passed, scenarios.Failed))
				Expect(r.JournalFile).To(HavePrefix(dir + string(filepath.Separator)))
				Expect(r.JournalFile).To(HaveSuffix(".jsonl"))
				Expect(names).NotTo(HaveKey(r.JournalFile), "journal names are unique")
				names[r.JournalFile] = true
				fh, err := os.Open(r.JournalFile)
				Expect(err).NotTo(HaveOccurred())
				entries, err := emulator.ReadJSONLines(fh)
				Expect(fh.Close()).To(Succeed())
				Expect(err).NotTo(HaveOccurred(), r.JournalFile)
				Expect(entries).To(HaveLen(len(r.Journal)), "the file holds the whole journal of %s", r.Name)
				Expect(entries[0].CallID).NotTo(BeEmpty())
				for _, e := range entries {
					Expect(e.CallID).To(Equal(entries[0].CallID), "one scenario's call only")
				}
			}
			listing, err := os.ReadDir(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(listing).To(HaveLen(len(results)))
		}, timeout)

		It("OnStart and OnResult are called once per scenario run, with the results returned", func(ctx SpecContext) {
			var mu sync.Mutex
			startedN := map[string]int{}
			reported := map[*scenarios.Result]int{}
			opts := against(ref.WebSocketURL(), ref.EventsURL())
			opts.Parallel = 3
			opts.Focus = regexp.MustCompile(`one|pass two`)
			opts.OnStart = func(sc *scenarios.Scenario) {
				mu.Lock()
				defer mu.Unlock()
				startedN[sc.Name]++
			}
			opts.OnResult = func(r *scenarios.Result) {
				Expect(r.Status).NotTo(BeEmpty(), "the result is final when reported")
				mu.Lock()
				defer mu.Unlock()
				reported[r]++
			}
			results := runInline(ctx, mixed, opts)
			Expect(startedN).To(Equal(map[string]int{"pass one": 1, "fail one": 1, "pass two": 1}))
			Expect(reported).To(HaveLen(3))
			for _, r := range results {
				if r.Status == scenarios.Skipped {
					Expect(reported).NotTo(HaveKey(r))
				} else {
					Expect(reported).To(HaveKeyWithValue(r, 1))
				}
			}
		}, timeout)

		It("Pace overrides the pace of every scenario", func(ctx SpecContext) {
			opts := against(ref.WebSocketURL(), ref.EventsURL())
			opts.Pace = "fast"
			r := runOne(ctx, quick+`scenarios:
  - name: ten seconds in no time
    pace: realtime
    stream: {name: agent}
    steps: [{media: 10s}]
`, opts)
			Expect(r).To(passed())
			Expect(r.Streams[0].Result.MediaDuration).To(Equal(10 * time.Second))
			Expect(r.Duration).To(BeNumerically("<", 5*time.Second))
		}, timeout)

		It("cancelling the context stops the run at once, leaving nothing behind", func(ctx SpecContext) {
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			// The app cancels the run as soon as the first media frame arrives.
			app := apptest.NewWS(apptest.After(1, apptest.Do(cancel)))
			src := quick + `scenarios:
  - name: long
    pace: realtime
    stream: {name: agent}
    steps:
      - media: 30s
  - name: never started
    stream: {name: agent}
    steps: [{media: 20ms}]
  - name: nor this one
    stream: {name: agent}
    steps: [{media: 20ms}]
`
			began := time.Now()
			results := runFiles(runCtx, scenarios.RunOptions{WebSocket: app.URL(), Events: ref.EventsURL(), Parallel: 1}, parseInline(src))
			Expect(time.Since(began)).To(BeNumerically("<", 10*time.Second))
			// An interrupt is no verdict on the app: neither a failure nor an
			// error of the run.
			long := named(results, "long")
			Expect(long.Status).To(Equal(scenarios.Interrupted))
			Expect(long.Error).To(HavePrefix("interrupted before the scenario finished"))
			Expect(named(results, "never started").Status).To(Equal(scenarios.Interrupted))
			Expect(named(results, "nor this one").Status).To(Equal(scenarios.Interrupted))
			Expect(app.Handshakes()).To(Equal(1))
		}, timeout)

		It("a scenario whose run breaks is an error, not a failure", func(ctx SpecContext) {
			src := quick + `scenarios:
  - name: starts after the hangup
    stream: {name: agent}
    steps:
      - hangup
      - start: {name: late}
`
			r := runOne(ctx, src, against(ref.WebSocketURL(), ref.EventsURL(), ref.DisconnectURL()))
			Expect(r.Status).To(Equal(scenarios.Errored))
			Expect(r.Error).To(HavePrefix(fmt.Sprintf("%s:%d:", inlineName, lineOf(src, "- start: {name: late}"))))
			Expect(r.Error).To(ContainSubstring("call has ended"))
			Expect(r.Failures).To(BeEmpty())
			Expect(webhooks(r)).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped(closed)", "disconnect(hangup)"}))
		}, timeout)
	})
})

var _ = Describe("the built-in consumer", func() {
	It("takes each file's credentials: files requiring different ones both pass", func(ctx SpecContext) {
		file := func(path, user string) *scenarios.File {
			return parseAs(path, quick+`
target:
  wsUser: `+user+`
  wsPassword: pw-`+user+`
  eventUser: hooks-`+user+`
  eventPassword: hook-pw-`+user+`
scenarios:
  - name: a stream for `+user+`
    steps:
      - media: 40ms
`)
		}
		results := runFiles(ctx, scenarios.RunOptions{}, file("a.yaml", "alice"), file("b.yaml", "bob"))
		for _, r := range results {
			Expect(r.Status).To(Equal(scenarios.Passed), scenarios.FailureText(r))
		}
	})
})
