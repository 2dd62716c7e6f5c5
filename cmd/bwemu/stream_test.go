package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
)

// timeout bounds every spec; a healthy one takes well under a second.
var timeout = SpecTimeout(20 * time.Second)

// entry is a table Entry with the spec timeout (a table itself takes none).
func entry(description string, args ...any) TableEntry {
	return Entry(description, append(args, timeout)...)
}

const pass = "PASS: the stream ran as asked and every webhook was answered 204"
const fail = "FAIL: the app misbehaved"

// webhookLine matches one line of the "webhooks (the app's answers)" table.
func webhookLine(what, method string, status int, verdict string) string {
	return `(?m)^    ` + regexp.QuoteMeta(what) + ` +` + method + ` +` + itoa(status) + ` in .*` + regexp.QuoteMeta(verdict)
}

// streamPasses runs `bwemu stream` with args, expects it to pass, and
// returns what it printed.
func streamPasses(ctx context.Context, args ...string) string {
	GinkgoHelper()
	out := stream(ctx, args...)
	Expect(out.code).To(Equal(exitPass))
	Expect(out.stdout).To(HaveSuffix(pass + "\n"))
	return out.stdout
}

var _ = Describe("bwemu stream against the built-in reference consumer", func() {
	DescribeTable("passes for every ending",
		func(ctx SpecContext, end, ended, closeLine, cause string) {
			out := stream(ctx, "--end", end)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stderr).To(BeEmpty())
			Expect(out.stdout).To(ContainSubstring("(the built-in reference consumer)"))
			Expect(out.stdout).To(ContainSubstring("connected    handshake answered 101"))
			Expect(out.stdout).To(ContainSubstring("media        50 frames on inbound (1s of PCMU)"))
			Expect(out.stdout).To(ContainSubstring("ended        " + ended))
			Expect(out.stdout).To(ContainSubstring("close        " + closeLine))
			Expect(out.stdout).To(ContainSubstring("webhook      mediaStreamStopped, cause " + cause))
			Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 204, "ok")))
			Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStopped ("+cause+")", "POST", 204, "ok")))
			Expect(out.stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "POST", 204, "ok")))
			Expect(out.stdout).To(HaveSuffix(pass + "\n"))
		},
		entry("stop", "stop", "stop-stream: stop message, close 1000", "handshake complete: emulator sent 1000, got 1000 back", "closed"),
		entry("hangup", "hangup", "hangup: stop message, close 1000", "handshake complete: emulator sent 1000, got 1000 back", "closed"),
		entry("reset", "reset", "reset: TCP reset", "no close frames", "connection-error"),
		entry("drop", "drop", "drop: all traffic stops", "no close frames", "connection-error"),
		entry("error", "error", "error: close 1011", "handshake complete: emulator sent 1011, got 1011 back", "error"),
	)

	It("passes with --tracks both, streaming each track", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--tracks", "both")
		Expect(stdout).To(ContainSubstring("tracks both"))
		Expect(stdout).To(ContainSubstring("media        50 frames on inbound (1s of PCMU)"))
		Expect(stdout).To(ContainSubstring("media        50 frames on outbound (1s of PCMU)"))
		Expect(stdout).To(ContainSubstring("mediaStreamStopped (closed)"))
	}, timeout)

	It("passes with --mode bidirectional, the consumer echoing audio back", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--mode", "bidirectional")
		Expect(stdout).To(ContainSubstring("bidirectional"))
		Expect(stdout).To(MatchRegexp(`from the app [1-9]\d* playAudio \(\d+ bytes\), 0 clear`))
		Expect(stdout).NotTo(ContainSubstring("violations"))
	}, timeout)

	It("passes with stream params and shows them", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--param", "a=1", "--param", "b=2")
		Expect(stdout).To(ContainSubstring("  params   a=1, b=2\n"))
	}, timeout)

	It("passes with --event-method GET", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--event-method", "GET")
		Expect(stdout).To(MatchRegexp(`webhooks GET http://127\.0\.0\.1:\d+/events`))
		Expect(stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "GET", 204, "ok")))
		Expect(stdout).To(MatchRegexp(webhookLine("mediaStreamStopped (closed)", "GET", 204, "ok")))
		// disconnectMethod is the call's own setting: still POST.
		Expect(stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "POST", 204, "ok")))
	}, timeout)

	It("passes with --duplicate-webhooks, delivering each webhook twice", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--duplicate-webhooks")
		for _, what := range []string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"} {
			Expect(stdout).To(MatchRegexp(webhookLine(what, "POST", 204, "ok")))
			Expect(stdout).To(MatchRegexp(webhookLine(what+" copy 2", "POST", 204, "ok")))
		}
	}, timeout)

	DescribeTable("passes with every kind of --audio",
		func(ctx SpecContext, spec func() string, shown string) {
			stdout := streamPasses(ctx, "--audio", spec())
			Expect(stdout).To(ContainSubstring("audio " + shown + "\n"))
			Expect(stdout).To(ContainSubstring("media        50 frames on inbound (1s of PCMU)"))
		},
		entry("silence", func() string { return "silence" }, "silence"),
		entry("tone:300", func() string { return "tone:300" }, "tone:300Hz"),
		entry("a WAV file (shorter than --for: padded with silence)",
			func() string { return writeWAV("greeting.wav", 440, 0.5) }, "greeting.wav (500ms)"),
	)

	It("passes with Basic auth the consumer demands on the socket and the webhooks", func(ctx SpecContext) {
		stdout := streamPasses(ctx, "--ws-user", "wsu", "--ws-password", "wsp", "--event-user", "evu", "--event-password", "evp")
		Expect(stdout).NotTo(ContainSubstring("wsp"))
		Expect(stdout).NotTo(ContainSubstring("evp"))
	}, timeout)
})

var _ = Describe("bwemu stream against an app given as DESTINATION", func() {
	It("streams what it says to the app's socket and webhooks", func(ctx SpecContext) {
		app := apptest.NewWS()
		dest := app.URL() + "?tenant=acme" // the query goes to the app as given
		events := apptest.NewHooks()
		disconnect := apptest.NewHooks()

		// DESTINATION after a flag: flags and the positional interleave.
		out := stream(ctx, "--for", "1s", dest, "--events", events.EventsURL(), "--disconnect", disconnect.DisconnectURL(),
			"--name", "agent", "--param", "a=1", "--param", "b=2")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stderr).To(BeEmpty())
		Expect(out.stdout).To(ContainSubstring("bwemu stream → " + dest + " (your app)"))
		Expect(out.stdout).To(ContainSubstring("webhooks POST " + events.EventsURL()))
		Expect(out.stdout).To(ContainSubstring("disconnect POST " + disconnect.DisconnectURL()))
		Expect(out.stdout).To(ContainSubstring("media        50 frames on inbound (1s of PCMU)"))
		Expect(out.stdout).To(ContainSubstring("close        handshake complete: emulator sent 1000, got 1000 back"))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 204, "ok")))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStopped (closed)", "POST", 204, "ok")))
		Expect(out.stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "POST", 204, "ok")))
		Expect(out.stdout).To(HaveSuffix(pass + "\n"))

		By("the socket: start, 50 media frames, stop, close 1000")
		Expect(app.Handshakes()).To(Equal(1))
		_, _, hasAuth := app.First().BasicAuth()
		Expect(hasAuth).To(BeFalse())
		types := app.First().EventTypes
		Expect(types).To(HaveLen(52))
		Expect(types[0]).To(Equal("start"))
		Expect(types[1:51]).To(HaveEach("media"))
		Expect(types[51]).To(Equal("stop"))
		Expect(app.First().Frames()).To(Equal(map[string]int{"inbound": 50}))
		Expect(app.First().Media).To(HaveEach(HaveField("SequenceNumber", Not(BeEmpty()))))
		Expect(app.First().CloseCode).To(Equal(websocket.CloseNormalClosure))

		start := app.First().StartJSON
		Expect(start).To(HaveKeyWithValue("streamParams", map[string]any{"a": "1", "b": "2"}))
		Expect(start).To(HaveKeyWithValue("metadata", And(
			HaveKeyWithValue("streamName", "agent"),
			HaveKeyWithValue("accountId", "9901234"),
			HaveKeyWithValue("callId", MatchRegexp(`^c-[0-9a-f]{8}-[0-9a-f]{8}-`)),
			HaveKeyWithValue("streamId", MatchRegexp(`^s-[0-9a-f]{8}-[0-9a-f]{8}-`)),
			HaveKeyWithValue("tracks", ConsistOf(map[string]any{
				"name": "inbound", "mediaFormat": map[string]any{"encoding": "PCMU", "sampleRate": float64(8000)},
			})),
		)))

		By("the webhooks: started and stopped (closed) to --events, disconnect to --disconnect, as JSON POSTs")
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)"}))
		Expect(disconnect.Whats()).To(Equal([]string{"disconnect (hangup)"}))
		hooks := append(events.Requests(), disconnect.Requests()...)
		for _, h := range hooks {
			Expect(h.Method).To(Equal(http.MethodPost))
			Expect(h.Header.Get("Content-Type")).To(HavePrefix("application/json"))
			Expect(h.Header.Get("Authorization")).To(BeEmpty())
		}
		Expect(hooks[0].JSON()).To(HaveKeyWithValue("mediaStream", HaveKeyWithValue("name", "agent")))
		Expect(hooks[0].JSON()).To(HaveKeyWithValue("mediaStream", HaveKeyWithValue("destination", dest)))
		Expect(hooks[1].JSON()).To(HaveKeyWithValue("cause", "closed"))
		Expect(hooks[1].JSON()).NotTo(HaveKey("errorMessage"))
		Expect(hooks[1].JSON()).To(HaveKeyWithValue("mediaStream", HaveKeyWithValue("duration", MatchRegexp(`^PT`))))
		Expect(hooks[0].JSON()["callId"]).To(Equal(start["metadata"].(map[string]any)["callId"]))
	}, timeout)

	It("streams both tracks to the app", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--tracks", "both", "--end", "stop")
		Expect(out.code).To(Equal(exitPass))
		Expect(app.First().Frames()).To(Equal(map[string]int{"inbound": 50, "outbound": 50}))
		Expect(app.First().StartJSON).NotTo(HaveKey("streamParams"))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("sends webhooks as GET with query parameters under --event-method GET", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--event-method", "GET")
		Expect(out.code).To(Equal(exitPass))
		hooks := events.Requests()
		Expect(hooks).To(HaveLen(3))
		Expect(hooks[0].Method).To(Equal(http.MethodGet))
		Expect(hooks[1].Method).To(Equal(http.MethodGet))
		Expect(hooks[2].Method).To(Equal(http.MethodPost), "disconnect follows --disconnect-method, not --event-method")
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("accepts a valid playAudio from a bidirectional app", func(ctx SpecContext) {
		payload := base64.StdEncoding.EncodeToString(make([]byte, 160))
		app := apptest.NewWS(apptest.Send(
			`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"`+payload+`"}}`,
			`{"eventType":"clear"}`,
		))
		events := apptest.NewHooks()
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL(), "--mode", "bidirectional")
		Expect(stdout).To(ContainSubstring("from the app 1 playAudio (160 bytes), 1 clear"))
	}, timeout)

	It("sends exactly --for of media in real time, then ends: 20 ms frames, no extra one", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL(), "--for", "400ms", "--pace", "realtime", "--end", "stop")
		Expect(stdout).To(ContainSubstring("media        20 frames on inbound (400ms of PCMU)"))
		Expect(stdout).To(ContainSubstring("stream id    " + app.First().Start.Metadata.StreamID + "\n"))
		Expect(app.First().Frames()).To(Equal(map[string]int{"inbound": 20}))
	}, timeout)

	It("times a voice agent's reply with --say and records what the caller heard and said with --record", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		hello := filepath.Join(dir, "hello.wav")
		Expect(media.WriteWAV(hello, media.Render(apptest.Speech(), apptest.Speech().Duration()))).To(Succeed())
		// The speech ends at frame 35 or a little later; the app answers after frame 40.
		app := apptest.NewWS(apptest.After(40, apptest.Send(apptest.PlayTone(440, 500*time.Millisecond))))
		events := apptest.NewHooks()
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL(), "--mode", "bidirectional",
			"--say", hello, "--for", "1s", "--pace", "realtime", "--record", filepath.Join(dir, "rec"))
		Expect(stdout).To(MatchRegexp(`turn 1 +the caller spoke [\d.]+m?s–[\d.]+m?s; the app replied after [\d.]+m?s and played 500ms`))
		Expect(stdout).To(ContainSubstring("playback     played 500ms, cleared 0s"))
		Expect(stdout).To(MatchRegexp(`recording    heard .*rec/.*-heard\.wav`))
		heard, err := filepath.Glob(filepath.Join(dir, "rec", "*-heard.wav"))
		Expect(err).NotTo(HaveOccurred())
		Expect(heard).To(HaveLen(1))
		a, err := media.LoadWAV(heard[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(media.ToneDuration(media.Render(a, a.Duration()), 440)).To(BeNumerically("~", 500*time.Millisecond, 50*time.Millisecond))
	}, timeout)

	It("passes an app that plays audio on a unidirectional stream, saying what Bandwidth leaves undocumented", func(ctx SpecContext) {
		payload := base64.StdEncoding.EncodeToString(make([]byte, 160))
		app := apptest.NewWS(apptest.Send(`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"` + payload + `"}}`))
		events := apptest.NewHooks()
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL())
		Expect(stdout).To(ContainSubstring("undocumented 1 messages Bandwidth documents nothing about (not held against the app)"))
		Expect(stdout).To(ContainSubstring("the app sent playAudio on a unidirectional stream"))
		Expect(stdout).To(ContainSubstring("stream with --mode bidirectional"))
	}, timeout)

	Describe("credentials", func() {
		const (
			wsUser, wsPassword       = "ws-user", "ws-s3cret"
			eventUser, eventPassword = "hook-user", "hook-s3cret"
		)

		It("sends them as Basic auth and keeps them out of the output and the journal", func(ctx SpecContext) {
			app := apptest.NewWS()
			events := apptest.NewHooks()
			journal := filepath.Join(GinkgoT().TempDir(), "run.jsonl")
			out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(),
				"--ws-user", wsUser, "--ws-password", wsPassword,
				"--event-user", eventUser, "--event-password", eventPassword,
				"--journal", journal)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stdout).To(MatchRegexp(`journal      ` + regexp.QuoteMeta(journal) + ` \(\d+ entries\)`))

			By("the WebSocket handshake carries the destination credentials")
			user, pass, ok := app.First().BasicAuth()
			Expect(ok).To(BeTrue())
			Expect(user).To(Equal(wsUser))
			Expect(pass).To(Equal(wsPassword))

			By("every webhook carries the event credentials")
			hooks := events.Requests()
			Expect(hooks).To(HaveLen(3))
			for _, h := range hooks {
				user, pass, ok := h.BasicAuth()
				Expect(ok).To(BeTrue())
				Expect(user).To(Equal(eventUser))
				Expect(pass).To(Equal(eventPassword))
			}

			By("the journal is JSON Lines without any secret")
			raw, err := os.ReadFile(journal)
			Expect(err).NotTo(HaveOccurred())
			secrets := []string{
				wsPassword, eventPassword,
				base64.StdEncoding.EncodeToString([]byte(wsUser + ":" + wsPassword)),
				base64.StdEncoding.EncodeToString([]byte(eventUser + ":" + eventPassword)),
			}
			for _, s := range secrets {
				Expect(string(raw)).NotTo(ContainSubstring(s))
				Expect(out.stdout + out.stderr).NotTo(ContainSubstring(s))
			}
			kinds := map[string]int{}
			sc := bufio.NewScanner(strings.NewReader(string(raw)))
			sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
			n := 0
			for sc.Scan() {
				n++
				var e map[string]any
				Expect(json.Unmarshal(sc.Bytes(), &e)).To(Succeed(), "journal line %d: %s", n, sc.Text())
				Expect(e).To(HaveKeyWithValue("seq", BeNumerically("==", n)))
				Expect(e).To(HaveKey("kind"))
				kinds[e["kind"].(string)]++
			}
			Expect(sc.Err()).NotTo(HaveOccurred())
			Expect(n).To(BeNumerically(">", 3))
			Expect(out.stdout).To(ContainSubstring("(" + itoa(n) + " entries)"))
			Expect(kinds).To(HaveKey("handshake"))
			Expect(kinds).To(HaveKeyWithValue("webhook", BeNumerically(">=", 3)))
			Expect(kinds).To(HaveKey("ending"))
		}, timeout)
	})
})

var _ = Describe("bwemu stream when the app misbehaves", func() {
	It("fails when the webhooks are answered 200, not 204", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Status: http.StatusOK})
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 200, "FAIL want 204")))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStopped (closed)", "POST", 200, "FAIL want 204")))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(ContainSubstring("  - mediaStreamStarted was answered 200, not 204\n"))
		Expect(out.stdout).To(ContainSubstring("  - mediaStreamStopped was answered 200, not 204\n"))
		Expect(out.stdout).To(ContainSubstring("  - disconnect was answered 200, not 204\n"))
		Expect(out.stdout).NotTo(ContainSubstring("PASS"))
		// An error status is not retried.
		Expect(events.Requests()).To(HaveLen(3))
	}, timeout)

	It("passes webhooks answered 200 under --lenient, saying they are non-strict, but never a 500", func(ctx SpecContext) {
		app := apptest.NewWS()
		ok200 := apptest.NewHooks(apptest.Reply{Status: http.StatusOK})
		out := stream(ctx, app.URL(), "--events", ok200.EventsURL(), "--disconnect", ok200.EventsURL(), "--lenient")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 200, "NON-STRICT want 204 (passed under --lenient)")))
		Expect(out.stdout).To(ContainSubstring("PASS (lenient): the stream ran as asked; 3 webhooks were answered 2xx but not 204"))

		failing := apptest.NewHooks(apptest.Reply{Status: http.StatusInternalServerError})
		out = stream(ctx, app.URL(), "--events", failing.EventsURL(), "--lenient")
		Expect(out.code).To(Equal(exitFail))
	}, timeout)

	It("fails when the webhooks are answered 500, and shows the body", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Status: http.StatusInternalServerError, Body: "boom"})
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 500, `FAIL want 204 (body "boom")`)))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(ContainSubstring("  - mediaStreamStarted was answered 500, not 204\n"))
		Expect(events.Requests()).To(HaveLen(3))
	}, timeout)

	It("writes the verdict, the stream's result and every webhook to --json", func(ctx SpecContext) {
		path := filepath.Join(GinkgoT().TempDir(), "stream.json")
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Status: http.StatusOK})
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--json", path)
		Expect(out.code).To(Equal(exitFail))
		data, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		var got struct {
			Verdict  string
			ExitCode int
			Problems []string
			StreamID string
			Stream   struct {
				Ending   string
				Messages int
			}
			Webhooks []struct {
				Event    struct{ EventType string }
				Attempts []struct{ Status int }
			}
		}
		Expect(json.Unmarshal(data, &got)).To(Succeed())
		Expect(got.Verdict).To(Equal("fail"))
		Expect(got.ExitCode).To(Equal(exitFail))
		Expect(got.Problems).To(ContainElement("mediaStreamStarted was answered 200, not 204"))
		Expect(got.StreamID).To(Equal(app.First().Start.Metadata.StreamID))
		Expect(got.Stream.Ending).To(Equal("hangup"))
		Expect(got.Stream.Messages).To(Equal(50))
		Expect(got.Webhooks).To(HaveLen(2))
		Expect(got.Webhooks[0].Event.EventType).To(Equal("mediaStreamStarted"))
		Expect(got.Webhooks[0].Attempts[0].Status).To(Equal(http.StatusOK))
		Expect(string(data)).NotTo(ContainSubstring("Authorization"))

		bad := stream(ctx, app.URL(), "--json", filepath.Join(GinkgoT().TempDir(), "no", "such", "dir.json"))
		Expect(bad.code).To(Equal(exitUsage))
		Expect(bad.stderr).To(ContainSubstring("--json: open "))
	}, timeout)

	It("fails when nothing listens at the --events URL, saying there was no answer", func(ctx SpecContext) {
		app := apptest.NewWS()
		out := stream(ctx, app.URL(), "--events", "http://127.0.0.1:9/events")
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(`(?m)^    mediaStreamStarted +POST no answer \(connection refused\) after a retry: FAIL `))
		Expect(out.stdout).NotTo(MatchRegexp(`POST +0 in`))
	}, timeout)

	It("fails when a webhook takes longer than --callback-timeout", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Hang: true})
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(`(?m)^    mediaStreamStarted +POST no answer \(timed out\)(?: after a retry)?: FAIL `))
		Expect(out.stdout).NotTo(ContainSubstring("POST   0"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - mediaStreamStarted was not delivered: .+`))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - mediaStreamStopped was not delivered: .+`))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - disconnect was not delivered: .+`))
		// The stream itself was fine.
		Expect(out.stdout).To(ContainSubstring("media        50 frames on inbound"))
		Expect(app.First().Frames()).To(Equal(map[string]int{"inbound": 50}))
	}, timeout)

	It("passes webhooks answered slowly inside the callbackTimeout, advising a prompt answer", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Delay: conformance.WebhookLatencyLimit + 100*time.Millisecond})
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--callback-timeout", "5s")
		Expect(out.code).To(Equal(exitPass), out.stdout)
		Expect(out.stdout).To(MatchRegexp(`(?m)^    mediaStreamStarted +POST 204 in 2\.\d+s +ok, but slow: answer within 2s, then do the work$`))
	}, timeout)

	It("fails when nothing listens at the destination", func(ctx SpecContext) {
		dest := apptest.RefusedURL()
		events := apptest.NewHooks()
		out := stream(ctx, dest, "--events", events.EventsURL(), "--disconnect", events.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring("  not connected\n"))
		Expect(out.stdout).To(ContainSubstring("close        none (never connected)"))
		Expect(out.stdout).To(ContainSubstring("webhook      mediaStreamStopped, cause connection-error"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - the stream was to end by hangup but ended by connect-refused: could not connect to the websocket destination: connection refused \(nothing listens at 127\.0\.0\.1:\d+\)$`))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStopped (connection-error)", "disconnect (hangup)"}))
	}, timeout)

	It("fails when the WebSocket server answers 403", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Refuse(http.StatusForbidden))
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(app.Handshakes()).To(Equal(1))
		Expect(out.stdout).To(ContainSubstring("  not connected\n"))
		Expect(out.stdout).To(ContainSubstring("webhook      mediaStreamStopped, cause connection-error"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - the stream was to end by hangup but ended by handshake-status: .*the destination answered HTTP 403 Forbidden instead of 101 Switching Protocols$`))
		hooks := events.Requests()
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStopped (connection-error)", "disconnect (hangup)"}))
		Expect(hooks[0].JSON()).To(HaveKeyWithValue("errorMessage", ContainSubstring("403")))
	}, timeout)

	It("fails when the app drops the connection without a close frame", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.After(3, apptest.HangUp()))
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--for", "20s")
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring("connected    handshake answered 101"))
		Expect(out.stdout).To(ContainSubstring("close        no close frames (app ended the connection)"))
		Expect(out.stdout).To(ContainSubstring("webhook      mediaStreamStopped, cause connection-error"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - the stream was to end by hangup but ended by .+`))
		Expect(app.First().CloseCode).To(BeZero())
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (connection-error)", "disconnect (hangup)"}))
	}, timeout)

	It("fails when the app never answers the close frame after a StopStream", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.IgnoreClose())
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--end", "stop")
		Expect(out.code).To(Equal(exitFail))
		Expect(app.First().CloseCode).To(Equal(websocket.CloseNormalClosure))
		Expect(app.First().EventTypes).To(HaveLen(52))
		Expect(out.stdout).To(ContainSubstring("close        emulator sent 1000, the app never answered"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(ContainSubstring("ended        close-handshake-timeout:"))
		// Stopped on purpose, so the webhook still says closed.
		Expect(out.stdout).To(ContainSubstring("webhook      mediaStreamStopped, cause closed"))
		Expect(out.stdout).To(ContainSubstring("  - the stream was to end by stop-stream but ended by close-handshake-timeout\n"))
	}, timeout)

	It("fails and lists the violations when a bidirectional app sends invalid messages", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Send(
			`{"eventType":"playAudio","media":{"contentType":"audio/mp3","payload":"AAAA"}}`,
			`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"not base64!"}}`,
			`{"eventType":"playAudio"}`,
		))
		events := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--mode", "bidirectional")
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring("violations   3 protocol violations by the app:"))
		Expect(out.stdout).To(ContainSubstring(`unsupported playAudio contentType "audio/mp3"`))
		Expect(out.stdout).To(ContainSubstring("playAudio payload is not valid base64"))
		Expect(out.stdout).To(ContainSubstring("playAudio without media"))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(ContainSubstring("  - the app sent 3 invalid messages\n"))
		// The stream went on regardless.
		Expect(app.First().Frames()).To(Equal(map[string]int{"inbound": 50}))
	}, timeout)
})

var _ = Describe("bwemu usage errors", func() {
	// usageErr checks the shape of every usage complaint: a one-line
	// complaint and a usage line on stderr, never the flag list, nothing on
	// stdout.
	usageErr := func(out outcome, complaint string) {
		GinkgoHelper()
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		ls := lines(out.stderr)
		Expect(ls[0]).To(HavePrefix("bwemu: "))
		Expect(ls[0]).To(ContainSubstring(complaint))
		Expect(ls).To(ContainElement(HavePrefix("usage: ")))
		Expect(len(ls)).To(BeNumerically("<=", 3), "a short complaint, not a manual")
		Expect(out.stderr).NotTo(ContainSubstring("-handshake-timeout"))
		Expect(out.stderr).NotTo(ContainSubstring("flags:"))
	}

	DescribeTable("bwemu stream exits 2 with a one-line complaint",
		func(ctx SpecContext, args func() []string, complaint string) {
			usageErr(stream(ctx, args()...), complaint)
		},
		entry("an unknown flag", func() []string { return []string{"--bogus"} }, "flag provided but not defined: -bogus"),
		entry("a bad --tracks value", func() []string { return []string{"--tracks", "sideways"} },
			`invalid value "sideways" for flag -tracks: want one of inbound, outbound, both`),
		entry("two destinations", func() []string { return []string{"ws://127.0.0.1:1/a", "ws://127.0.0.1:1/b"} },
			"one DESTINATION at most, got 2"),
		entry("an http:// destination", func() []string { return []string{"http://127.0.0.1:1/media"} },
			`DESTINATION: "http://127.0.0.1:1/media" is not a ws:// or wss:// URL`),
		entry("a bad --events URL", func() []string { return []string{"--events", "ftp://example.com/x"} },
			`--events: "ftp://example.com/x" is not an http:// or https:// URL`),
		entry("a relative --events URL", func() []string { return []string{"--events", "/events"} },
			`--events: "/events" is not an http:// or https:// URL`),
		entry("--audio foo.mp3", func() []string { return []string{"--audio", "foo.mp3"} }, `--audio: audio spec "foo.mp3" not understood`),
		entry("--audio of a missing WAV", func() []string {
			return []string{"--audio", filepath.Join(GinkgoT().TempDir(), "missing.wav")}
		}, "--audio: audio file: open "),
		entry("--for -1s", func() []string { return []string{"--for", "-1s"} }, "--for must not be negative"),
		entry("--speed 0", func() []string { return []string{"--speed", "0"} }, "--speed must be positive"),
		entry("--playback-buffer -1s", func() []string { return []string{"--playback-buffer", "-1s"} }, "--playback-buffer must not be negative"),
		entry("--close-timeout -1s", func() []string { return []string{"--close-timeout", "-1s"} }, "--close-timeout must be positive, got -1s"),
		entry("a --ws-user no client could send", func() []string { return []string{"--ws-user", "a:b"} }, `--ws-user: a Basic auth user cannot contain ':' (RFC 7617), got "a:b"`),
		entry("--dead-peer-timeout 0", func() []string { return []string{"--dead-peer-timeout", "0"} }, "--dead-peer-timeout must be positive, got 0s"),
		entry("--say tone:440", func() []string { return []string{"--say", "tone:440"} }, "--say: want a .wav or .pcmu file the caller says"),
		entry("--say of a silent file", func() []string {
			p := filepath.Join(GinkgoT().TempDir(), "quiet.wav")
			Expect(media.WriteWAV(p, bytes.Repeat([]byte{media.SilenceByte}, 8000))).To(Succeed())
			return []string{"--say", p}
		}, "holds no speech"),
		entry("--say with --pace fast", func() []string {
			p := filepath.Join(GinkgoT().TempDir(), "hello.wav")
			Expect(media.WriteWAV(p, media.Render(apptest.Speech(), apptest.Speech().Duration()))).To(Succeed())
			return []string{"--say", p, "--pace", "fast"}
		}, "--say needs --pace realtime"),
	)

	It("exits 2 for an unknown command, without the flag list", func(ctx SpecContext) {
		out := bwemu(ctx, "frobnicate")
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		Expect(lines(out.stderr)[0]).To(Equal(`bwemu: unknown command "frobnicate"`))
		Expect(out.stderr).To(ContainSubstring("usage:"))
		Expect(out.stderr).NotTo(ContainSubstring("-handshake-timeout"))
	}, timeout)

	It("exits 2 with no arguments, showing the usage on stderr", func(ctx SpecContext) {
		out := bwemu(ctx)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		Expect(lines(out.stderr)[0]).To(HavePrefix("bwemu: "))
		Expect(out.stderr).To(ContainSubstring("usage:"))
		Expect(out.stderr).To(ContainSubstring("bwemu stream [DESTINATION]"))
		Expect(out.stderr).NotTo(ContainSubstring("-handshake-timeout"))
	}, timeout)

	It("exits 2 when bwemu consumer gets an argument", func(ctx SpecContext) {
		usageErr(bwemu(ctx, "consumer", "extra"), `unexpected argument "extra"`)
	}, timeout)

	It("exits 2 when bwemu consumer gets a --listen that is no HOST:PORT, or a user no client could send", func(ctx SpecContext) {
		usageErr(bwemu(ctx, "consumer", "--listen", ""), `--listen: want HOST:PORT such as 127.0.0.1:8080 (port 0 picks a free one), got ""`)
		usageErr(bwemu(ctx, "consumer", "--listen", "8080"), `--listen: want HOST:PORT`)
		usageErr(bwemu(ctx, "consumer", "--event-user", "a:b"), `--event-user: a Basic auth user cannot contain ':' (RFC 7617), got "a:b"`)
	}, timeout)
})

var _ = Describe("bwemu help and version", func() {
	DescribeTable("--help exits 0 and lists every flag on stdout",
		func(ctx SpecContext, args ...string) {
			out := bwemu(ctx, args...)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stderr).To(BeEmpty())
			Expect(out.stdout).To(HavePrefix("usage: bwemu stream [DESTINATION]"))
			for _, f := range []string{"-events", "-event-method", "-tracks", "-mode", "-param", "-audio", "-for", "-end", "-pace",
				"-journal", "-ws-user", "-ws-password", "-event-user", "-event-password", "-callback-timeout",
				"-close-timeout", "-dead-peer-timeout", "-handshake-timeout", "-duplicate-webhooks"} {
				Expect(out.stdout).To(MatchRegexp(`(?m)^  ` + regexp.QuoteMeta(f) + `\b`))
			}
		},
		entry("stream --help", "stream", "--help"),
		entry("stream -h", "stream", "-h"),
		entry("help stream", "help", "stream"),
	)

	It("prints the general usage for --help", func(ctx SpecContext) {
		out := bwemu(ctx, "--help")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stderr).To(BeEmpty())
		Expect(out.stdout).To(ContainSubstring("bwemu stream [DESTINATION]"))
		Expect(out.stdout).To(ContainSubstring("exit codes: 0 the app passed, 1 the app failed, 2 bad usage or input,\n  130 interrupted"))
	}, timeout)

	It("prints consumer's flags for consumer --help", func(ctx SpecContext) {
		out := bwemu(ctx, "consumer", "--help")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(HavePrefix("usage: bwemu consumer"))
		Expect(out.stdout).To(ContainSubstring("-listen"))
	}, timeout)

	DescribeTable("prints the version",
		func(ctx SpecContext, arg string) {
			out := bwemu(ctx, arg)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stderr).To(BeEmpty())
			Expect(out.stdout).To(Equal(versionLine() + "\n"))
			Expect(out.stdout).To(MatchRegexp(`^bwemu \S+`))
		},
		entry("version", "version"),
		entry("--version", "--version"),
	)
})

var _ = Describe("bwemu consumer", func() {
	It("serves until its context is cancelled, then exits 0", func(ctx SpecContext) {
		b := inBackground(ctx, "consumer", "--listen", "127.0.0.1:0")

		Eventually(b.stdout).WithContext(ctx).Should(gbytes.Say(`reference consumer listening`))
		health := regexp.MustCompile(`health\s+(http://127\.0\.0\.1:\d+/\S*)`)
		var healthURL string
		Eventually(func() []string { return health.FindStringSubmatch(string(b.stdout.Contents())) }).
			WithContext(ctx).Should(HaveLen(2))
		healthURL = health.FindStringSubmatch(string(b.stdout.Contents()))[1]
		Expect(string(b.stdout.Contents())).To(MatchRegexp(`websocket\s+ws://127\.0\.0\.1:\d+/media`))
		Expect(string(b.stdout.Contents())).To(MatchRegexp(`disconnect http://127\.0\.0\.1:\d+/disconnect\n`))
		Consistently(b.done).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())

		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := apptest.NewClient().Do(req)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Body.Close()).To(Succeed())
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		By("streaming to it from another bwemu")
		wsURL := regexp.MustCompile(`websocket\s+(ws://\S+)`).FindStringSubmatch(string(b.stdout.Contents()))[1]
		eventsURL := regexp.MustCompile(`events\s+(http://\S+)`).FindStringSubmatch(string(b.stdout.Contents()))[1]
		disconnectURL := regexp.MustCompile(`disconnect (http://\S+)`).FindStringSubmatch(string(b.stdout.Contents()))[1]
		streamPasses(ctx, wsURL, "--events", eventsURL, "--disconnect", disconnectURL)

		b.interrupt()
		Eventually(b.done).WithContext(ctx).Should(Receive(Equal(exitPass)))
		Expect(b.stderr.Contents()).To(BeEmpty())
	}, timeout)

	It("exits 2 when it cannot listen", func(ctx SpecContext) {
		out := bwemu(ctx, "consumer", "--listen", "256.0.0.1:bogus")
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(HavePrefix("bwemu: cannot listen on 256.0.0.1:bogus"))
	}, timeout)
})

var _ = Describe("bwemu stream edge cases", func() {
	// thirteenParams is one --param over the limit of twelve.
	thirteenParams := func() []string {
		var args []string
		for i := range 13 {
			args = append(args, "--param", "p"+itoa(i)+"=v")
		}
		return args
	}

	It("exits 2 for more than 12 --param (found by the emulator's spec check)", func(ctx SpecContext) {
		out := stream(ctx, thirteenParams()...)
		Expect(out.code).To(Equal(exitUsage))
		Expect(lines(out.stderr)[0]).To(Equal("bwemu: StartStream StreamParam: 13 parameters: at most 12 are allowed"))
		Expect(lines(out.stderr)[1]).To(HavePrefix("usage: bwemu stream"))
		Expect(out.stdout).NotTo(ContainSubstring("PASS"))
	}, timeout)

	// BUG (stream.go): the header is printed before StartStream validates
	// the spec, so a usage error leaves a stream header on stdout.
	It("prints no stream header for a usage error found by the emulator", func(ctx SpecContext) {
		out := stream(ctx, thirteenParams()...)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
	}, timeout)

	// BUG (stream.go): an unwritable --journal is found only after the
	// stream ran; the account is never printed and exit 1 turns into 2.
	It("refuses an unwritable --journal before streaming", func(ctx SpecContext) {
		app := apptest.NewWS()
		out := stream(ctx, app.URL(), "--journal", filepath.Join(GinkgoT().TempDir(), "no", "such", "dir", "j.jsonl"))
		Expect(out.code).To(Equal(exitUsage))
		Expect(lines(out.stderr)[0]).To(HavePrefix("bwemu: --journal: "))
		Expect(app.Handshakes()).To(BeZero())
	}, timeout)

	It("streams with no webhooks when an app is given without --events", func(ctx SpecContext) {
		app := apptest.NewWS()
		stdout := streamPasses(ctx, app.URL())
		Expect(stdout).To(ContainSubstring("webhooks none (no --events URL)"))
		Expect(stdout).NotTo(ContainSubstring("webhooks (the app's answers)"))
	}, timeout)

	It("sends the disconnect webhook to --disconnect", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		disconnect := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", disconnect.DisconnectURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)"}))
		Expect(disconnect.Whats()).To(Equal([]string{"disconnect (hangup)"}))
	}, timeout)

	It("still ends the call properly when interrupted, and exits 130 without a verdict", func(ctx SpecContext) {
		started, proceed := make(chan struct{}), make(chan struct{})
		app := apptest.NewWS(apptest.Do(func() {
			close(started)
			// Stop reading, so the emulator cannot race through the media.
			select {
			case <-proceed:
			case <-time.After(10 * time.Second):
			}
		}))
		events := apptest.NewHooks()
		b := inBackground(ctx, append(append([]string{"stream"}, fastFlags...), app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--for", "1h")...)
		Eventually(started).WithContext(ctx).Should(BeClosed())
		b.interrupt()
		close(proceed)
		var code int
		Eventually(b.done).WithContext(ctx).WithTimeout(10 * time.Second).Should(Receive(&code))
		b.report("interrupted bwemu stream", code)
		Expect(code).To(Equal(exitInterrupted))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("bwemu: interrupted\n"))
		Expect(string(b.stdout.Contents())).To(MatchRegexp(`(?m)^INTERRUPTED after \d[\d.]*m?s \(.+ of media\): no verdict on the app$`))
		Expect(string(b.stdout.Contents())).NotTo(ContainSubstring("FAIL"))
		Expect(string(b.stdout.Contents())).NotTo(ContainSubstring("misbehaved"))
		// The app still saw a proper end of the call.
		Expect(app.First().CloseCode).To(Equal(websocket.CloseNormalClosure))
		Expect(app.First()).To(apptest.HaveStartMediaStop())
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
		Expect(string(b.stdout.Contents())).To(ContainSubstring("mediaStreamStopped (closed)"))
	}, timeout)
})

var _ = Describe("bwemu stream interrupted while the call ends", func() {
	It("stops waiting for a slow app, cuts its webhooks off within the grace and exits 130", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Hang: true})
		b := inBackground(ctx, "stream", app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(),
			"--pace", "fast", "--for", "100ms", "--callback-timeout", "20s")
		// The media is over and the ending waits for mediaStreamStarted,
		// which the app never answers.
		Eventually(ctx, func() []string { return app.First().EventTypes }).Should(ContainElement("stop"))
		Eventually(ctx, events.Whats).Should(ContainElement("mediaStreamStarted"))
		began := time.Now()
		b.interrupt()
		var code int
		Eventually(b.done).WithContext(ctx).WithTimeout(grace).Should(Receive(&code))
		Expect(time.Since(began)).To(BeNumerically("<", grace))
		b.report("interrupted bwemu stream", code)
		Expect(code).To(Equal(exitInterrupted))
		Expect(string(b.stdout.Contents())).To(MatchRegexp(`(?m)^    mediaStreamStarted +POST no answer in \S+: cut off by the interrupt$`))
		Expect(string(b.stdout.Contents())).To(ContainSubstring("INTERRUPTED after"))
		Expect(string(b.stdout.Contents())).NotTo(ContainSubstring("FAIL"))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("bwemu: the calls took longer than 2s to end: 3 webhooks still waiting for the app cut off\n"))
	}, timeout)
})

var _ = Describe("bwemu stream webhook routing", func() {
	It("sends no disconnect webhook without --disconnect: the events URL gets stream events only", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL())
		Expect(stdout).To(ContainSubstring("  disconnect none (no --disconnect URL)\n"))
		Expect(stdout).NotTo(ContainSubstring("disconnect (hangup)"))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)"}))
	}, timeout)

	It("passes an app whose events URL answers 400 to anything but stream events", func(ctx SpecContext) {
		cons := apptest.NewConsumer(&consumer.Options{StrictEvents: true})
		streamPasses(ctx, cons.WebSocketURL(), "--events", cons.EventsURL())
		Expect(cons.Events()).To(HaveExactElements(
			HaveField("Event.EventType", "mediaStreamStarted"), HaveField("Event.EventType", "mediaStreamStopped")))
	}, timeout)

	It("sends disconnect to the built-in consumer's own disconnect URL when it is the target", func(ctx SpecContext) {
		out := stream(ctx)
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  webhooks POST http://127\.0\.0\.1:\d+/events$`))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  disconnect POST http://127\.0\.0\.1:\d+/disconnect$`))
		Expect(out.stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "POST", 204, "ok")))
		Expect(out.stdout).To(HaveSuffix(pass + "\n"))
	}, timeout)

	It("sends disconnect as GET under --disconnect-method GET, stream events staying POST", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		disconnect := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", disconnect.DisconnectURL(), "--disconnect-method", "GET")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(ContainSubstring("  disconnect GET " + disconnect.DisconnectURL() + "\n"))
		Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 204, "ok")))
		Expect(out.stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "GET", 204, "ok")))
		Expect(events.Requests()).To(HaveEach(HaveField("Method", http.MethodPost)))
		Expect(disconnect.Requests()).To(ConsistOf(HaveField("Method", http.MethodGet)))
		Expect(disconnect.Whats()).To(Equal([]string{"disconnect (hangup)"}))
	}, timeout)

	It("sends disconnect as POST under --event-method GET: the two methods are separate settings", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		disconnect := apptest.NewHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--event-method", "GET", "--disconnect", disconnect.DisconnectURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(events.Requests()).To(HaveEach(HaveField("Method", http.MethodGet)))
		Expect(disconnect.Requests()).To(ConsistOf(HaveField("Method", http.MethodPost)))
	}, timeout)

	It("exits 2 for a bad --disconnect-method", func(ctx SpecContext) {
		out := stream(ctx, "--disconnect-method", "PUT")
		Expect(out.code).To(Equal(exitUsage))
		Expect(lines(out.stderr)[0]).To(Equal(`bwemu: invalid value "PUT" for flag -disconnect-method: want one of POST, GET`))
	}, timeout)
})

var _ = Describe("bwemu stream verdicts against correct apps that differ", func() {
	// strictApp is a correct app unlike the default consumer: it closes
	// the socket itself the moment it reads stop, answers GET webhooks 405
	// and takes only its own event types on each URL.
	strictApp := func() *consumer.Server {
		GinkgoHelper()
		return apptest.NewConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
	}

	DescribeTable("passes, every time",
		func(ctx SpecContext, end string) {
			cons := strictApp()
			out := stream(ctx, cons.WebSocketURL(), "--events", cons.EventsURL(), "--disconnect", cons.DisconnectURL(), "--end", end)
			Expect(out.code).To(Equal(exitPass))
			Expect(out.stderr).To(BeEmpty())
			Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 204, "ok")))
			Expect(out.stdout).To(MatchRegexp(webhookLine("mediaStreamStopped (closed)", "POST", 204, "ok")))
			Expect(out.stdout).To(MatchRegexp(webhookLine("disconnect (hangup)", "POST", 204, "ok")))
			Expect(out.stdout).To(HaveSuffix(pass + "\n"))
		},
		entry("--end stop", "stop", MustPassRepeatedly(5)),
		entry("--end hangup", "hangup", MustPassRepeatedly(5)),
	)

	DescribeTable("fails (exit 1) when nothing listens at the destination, whatever the ending asked",
		func(ctx SpecContext, end string) {
			events := apptest.NewHooks()
			out := stream(ctx, apptest.RefusedURL(), "--events", events.EventsURL(), "--end", end)
			Expect(out.code).To(Equal(exitFail))
			Expect(out.stdout).To(ContainSubstring(fail + "\n"))
			Expect(out.stdout).To(MatchRegexp(`(?m)^  - the stream was to end by \S+ but ended by connect-refused: could not connect`))
			Expect(out.stdout).NotTo(ContainSubstring("PASS"))
		},
		entry("stop", "stop"), entry("hangup", "hangup"), entry("reset", "reset"), entry("drop", "drop"), entry("error", "error"),
	)
})

var _ = Describe("bwemu stream to https:// webhooks", func() {
	It("trusts the --ca for https:// webhooks too", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewTLSHooks()
		ca := events.CAFile()
		// A TLS handshake under -race on a loaded machine can take longer
		// than fastFlags' 300ms.
		stdout := streamPasses(ctx, app.URL(), "--events", events.EventsURL(), "--disconnect", events.EventsURL(), "--ca", ca, "--callback-timeout", "5s")
		Expect(stdout).To(MatchRegexp(webhookLine("mediaStreamStarted", "POST", 204, "ok")))
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("without it, fails with the certificate problem first and what to do about it", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewTLSHooks()
		out := stream(ctx, app.URL(), "--events", events.EventsURL(), "--callback-timeout", "5s")
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring(fail + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  - mediaStreamStarted was not delivered: [^\n]*x509: certificate signed by unknown authority \(to trust the app's certificate, pass its CA with --ca FILE\)$`))
		Expect(events.Requests()).To(BeEmpty())
	}, timeout)
})

var _ = Describe("bwemu stream messages", func() {
	// goType matches a Go type name such as *matchers.WithTransformMatcher
	// or emulator.StreamResult.
	goType := regexp.MustCompile(`\*?\b[a-z]+\.[A-Z][A-Za-z]+\b`)

	It("speak the user's language: no Go type names, the real time taken", func(ctx SpecContext) {
		for _, args := range [][]string{
			{apptest.RefusedURL()},
			{apptest.NewWS(apptest.Refuse(http.StatusForbidden)).URL()},
			{apptest.NewWS().URL(), "--events", apptest.NewHooks(apptest.Reply{Hang: true}).EventsURL()},
		} {
			out := stream(ctx, args...)
			Expect(out.code).To(Equal(exitFail))
			Expect(out.stdout + out.stderr).NotTo(MatchRegexp(goType.String()))
			Expect(out.stdout + out.stderr).NotTo(ContainSubstring("context deadline exceeded"))
			Expect(out.stdout).To(MatchRegexp(`(?m)^  took         \d[\d.]*m?s$`))
		}
	}, timeout)
})

var _ = Describe("bwemu consumer's live log", func() {
	// consuming runs `bwemu consumer` with args in the background and
	// returns it with its URLs once it listens (its banner is on stderr
	// with the JSON log).
	consuming := func(ctx context.Context, args ...string) (b background, ws, events, disconnect string) {
		GinkgoHelper()
		b = inBackground(ctx, append([]string{"consumer", "--listen", "127.0.0.1:0"}, args...)...)
		banner := func() string { return string(b.stdout.Contents()) + string(b.stderr.Contents()) }
		Eventually(banner).WithContext(ctx).Should(ContainSubstring("(Ctrl-C to stop)"))
		find := func(re string) string { return regexp.MustCompile(re).FindStringSubmatch(banner())[1] }
		return b, find(`websocket\s+(ws://\S+)`), find(`events\s+(http://\S+)`), find(`disconnect (http://\S+)`)
	}
	// stopped interrupts the consumer and returns its stdout once it exited 0.
	stopped := func(ctx context.Context, b background) string {
		GinkgoHelper()
		b.interrupt()
		var code int
		Eventually(b.done).WithContext(ctx).Should(Receive(&code))
		b.report("bwemu consumer", code)
		Expect(code).To(Equal(exitPass))
		return string(b.stdout.Contents())
	}
	credentials := []string{"--ws-user", "ws-user", "--ws-password", "ws-s3cret", "--event-user", "ev-user", "--event-password", "ev-s3cret"}
	// streamTo streams once to the consumer with the credentials, a
	// StreamParam holding a token, and the stream named agent.
	streamTo := func(ctx context.Context, ws, events, disconnect string) {
		GinkgoHelper()
		streamPasses(ctx, append([]string{ws, "--events", events, "--disconnect", disconnect, "--name", "agent",
			"--param", "token=t0k3n-s3cret"}, credentials...)...)
	}
	noSecrets := func(out string) {
		GinkgoHelper()
		Expect(out).NotTo(ContainSubstring("s3cret"))
		Expect(out).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte("ev-user:ev-s3cret"))))
	}

	It("prints a line per stream start, stop, frame summary, close and webhook as they happen, with no secret", func(ctx SpecContext) {
		b, ws, events, disconnect := consuming(ctx, credentials...)
		streamTo(ctx, ws, events, disconnect)
		// The stream's last lines come before the refused handshake's.
		Eventually(b.stdout).WithContext(ctx).Should(gbytes.Say(logLine("stream ", streamSubject, `closed by the (?:peer|consumer) 1000`)))
		By("a handshake and a webhook without the credentials")
		_, resp, err := websocket.DefaultDialer.DialContext(ctx, ws, nil)
		Expect(err).To(MatchError(websocket.ErrBadHandshake))
		Expect(resp.Body.Close()).To(Succeed())
		status, _ := httpDo(ctx, apptest.NewClient(), http.MethodPost, events, "application/json", `{}`)
		Expect(status).To(Equal(http.StatusUnauthorized))
		Eventually(b.stdout).WithContext(ctx).Should(gbytes.Say(logLine("webhook", "-", `POST → 401 in \S+: bad or missing credentials`)))
		out := stopped(ctx, b)

		Expect(out).To(MatchRegexp(`(?s)` + strings.Join([]string{
			logLine("stream ", streamSubject, `started: call `+callSubject+`, inbound\n`),
			logLine("stream ", streamSubject, `stop received\n`),
			logLine("stream ", streamSubject, `50 frames inbound, 0 bad\n`),
			logLine("stream ", streamSubject, `closed by the (?:peer|consumer) 1000\n`),
			logLine("stream ", "-", `handshake refused with 401: bad or missing credentials\n`),
		}, ".*")))
		// The webhooks come on their own connections, in no set order
		// with the socket's lines.
		Expect(out).To(MatchRegexp(logLine("webhook", callSubject, `disconnect \(hangup\) → 204 in \S+$`)))
		Expect(out).To(MatchRegexp(logLine("webhook", streamSubject, `mediaStreamStarted → 204 in \S+$`)))
		Expect(out).To(MatchRegexp(logLine("webhook", streamSubject, `mediaStreamStopped \(closed\) → 204 in \S+$`)))
		Expect(out).NotTo(ContainSubstring(ansi), "no colour off a terminal")
		noSecrets(out + string(b.stderr.Contents()))
	}, timeout)

	It("--log-format json prints one JSON object per line, alone on stdout", func(ctx SpecContext) {
		b, ws, events, disconnect := consuming(ctx, append([]string{"--log-format", "json"}, credentials...)...)
		Expect(string(b.stderr.Contents())).To(ContainSubstring("reference consumer listening"))
		streamTo(ctx, ws, events, disconnect)
		Eventually(b.stdout).WithContext(ctx).Should(gbytes.Say(`"event":"disconnect"`))
		out := stopped(ctx, b)

		var whats []string
		for _, l := range lines(out) {
			m := decodeJSON([]byte(l))
			Expect(m).To(And(HaveKey("time"), HaveKey("level"), HaveKey("kind"), HaveKey("what"), HaveKey("message")))
			whats = append(whats, fmt.Sprintf("%s %s", m["kind"], m["what"]))
			if m["what"] == "frames" {
				Expect(m).To(And(HaveKeyWithValue("frames", map[string]any{"inbound": 50.0}), HaveKeyWithValue("streamName", "agent")))
			}
			if m["what"] == "closed" {
				// The consumer's shutdown may find the socket still
				// finishing its close, and count it as its own: the log
				// line's fields are what this spec is about.
				Expect(m).To(And(HaveKeyWithValue("closedBy", Or(Equal("peer"), Equal("consumer"))), HaveKeyWithValue("closeCode", 1000.0)))
			}
		}
		Expect(whats).To(ContainElements("stream started", "stream stopped", "stream frames", "stream closed", "webhook answered"))
		Expect(out).NotTo(ContainSubstring(ansi))
		noSecrets(out + string(b.stderr.Contents()))
	}, timeout)

	It("--quiet prints no log", func(ctx SpecContext) {
		b, ws, events, disconnect := consuming(ctx, append([]string{"--quiet"}, credentials...)...)
		banner := string(b.stdout.Contents())
		streamTo(ctx, ws, events, disconnect)
		Expect(stopped(ctx, b)).To(Equal(banner))
	}, timeout)
})

var _ = Describe("bwemu stream's progress while the end waits for the app", func() {
	It("names the webhook the app does not answer, and how long it has waited of the callback timeout", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks(apptest.Reply{Hang: true}, apptest.Reply{})
		b := inBackground(ctx, "stream", app.URL(), "--events", events.EventsURL(), "--pace", "fast", "--for", "100ms", "--callback-timeout", "3s")
		Eventually(b.stderr).WithContext(ctx).WithTimeout(10 * time.Second).
			Should(gbytes.Say(`(?m)^  waiting for the app's answer to mediaStreamStarted \(\d+s of 3s\)$`))
		var code int
		Eventually(b.done).WithContext(ctx).WithTimeout(10 * time.Second).Should(Receive(&code))
		b.report("bwemu stream", code)
		Expect(code).To(Equal(exitFail), "mediaStreamStarted went unanswered")
		Expect(string(b.stderr.Contents())).NotTo(ContainSubstring("mediaStreamStopped"), "answered at once: no wait to show")
		Expect(string(b.stderr.Contents())).NotTo(ContainSubstring("\r"), "plain lines off a terminal")
		Expect(string(b.stdout.Contents())).NotTo(ContainSubstring("waiting for"), "progress goes to stderr, the account to stdout")
	}, timeout)

	It("says it waits for the stream's end while the app does not answer the close", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.IgnoreClose())
		b := inBackground(ctx, "stream", app.URL(), "--pace", "fast", "--for", "100ms", "--end", "stop", "--close-timeout", "3s")
		Eventually(b.stderr).WithContext(ctx).WithTimeout(10 * time.Second).
			Should(gbytes.Say(`(?m)^  waiting for the stream to end \(\d+s\)$`))
		var code int
		Eventually(b.done).WithContext(ctx).WithTimeout(10 * time.Second).Should(Receive(&code))
		b.report("bwemu stream", code)
		Expect(code).To(Equal(exitFail), "the close was never answered")
	}, timeout)
})
