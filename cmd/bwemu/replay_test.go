package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

// recordStream runs `bwemu stream` (fastFlags, then args) against an app
// with --journal, expects it to exit as want, and returns the journal.
// Its bounds on the handshake, the close and the webhooks are roomier
// than fastFlags': the recording must not fail on a loaded machine, and
// a replay takes them from the journal.
func recordStream(ctx context.Context, want int, args ...string) string {
	GinkgoHelper()
	journal := filepath.Join(GinkgoT().TempDir(), "recorded.jsonl")
	out := stream(ctx, append(args, "--journal", journal,
		"--handshake-timeout", "5s", "--close-timeout", "5s", "--callback-timeout", "5s")...)
	Expect(out.code).To(Equal(want), "recording the journal")
	return journal
}

// replayCmd runs `bwemu replay args...`.
func replayCmd(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append([]string{"replay"}, args...)...)
}

// diffRow matches a row of the replay's table: what, then, now, verdict.
func diffRow(what, then, now, verdict string) string {
	return `(?m)^  ` + regexp.QuoteMeta(what) + ` {2,}` + regexp.QuoteMeta(then) + ` {2,}` + regexp.QuoteMeta(now) + ` {2,}` + regexp.QuoteMeta(verdict) + `$`
}

// rewriteLines applies edit to every line of the journal at path (line
// numbers from 1) and writes the result to a new file, whose path it
// returns.
func rewriteLines(path string, edit func(n int, line []byte) []byte) string {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var out bytes.Buffer
	for i, line := range bytes.Split(bytes.TrimRight(raw, "\n"), []byte("\n")) {
		out.Write(edit(i+1, line))
		out.WriteByte('\n')
	}
	edited := filepath.Join(GinkgoT().TempDir(), "edited.jsonl")
	Expect(os.WriteFile(edited, out.Bytes(), 0o644)).To(Succeed())
	return edited
}

const same = "SAME: the app did what it did then\n"

var _ = Describe("bwemu replay", func() {
	var (
		app     *apptest.WS
		events  *apptest.Hooks
		journal string
	)
	// A clean stream: both tracks, StreamParams, a name, every webhook.
	BeforeEach(func(ctx SpecContext) {
		app, events = apptest.NewWS(), apptest.NewHooks()
		journal = recordStream(ctx, exitPass, app.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL(),
			"--name", "agent", "--tracks", "both", "--param", "tenant=acme", "--param", "lang=fr", "--for", "200ms")
	})

	It("replays a clean stream against the same app, reports every row the same and exits 0", func(ctx SpecContext) {
		out := replayCmd(ctx, journal, "--ws", app.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stderr).To(BeEmpty())
		Expect(out.stdout).To(HavePrefix("bwemu replay " + journal + " → " + app.URL() + "\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  recorded   stream s-\S+ on call c-\S+ \(journal format v1\)$`))
		Expect(out.stdout).To(ContainSubstring("  start      name agent, tracks both, unidirectional, params tenant=acme, lang=fr\n"))
		Expect(out.stdout).To(ContainSubstring("  media      200ms, fast pace, audio tone:440Hz\n"))
		Expect(out.stdout).To(ContainSubstring("  ending     hangup after 200ms of media\n"))
		Expect(out.stdout).To(MatchRegexp(`(?m)^  replayed   as stream s-\S+ on call c-\S+ \(new ids\), in \S+$`))
		for _, row := range [][3]string{
			{"handshake", "101", "101"}, {"media inbound", "200ms (10 frames)", "200ms (10 frames)"},
			{"media outbound", "200ms (10 frames)", "200ms (10 frames)"}, {"closed first", "emulator", "emulator"},
			{"close sent", "1000", "1000"}, {"close received", "1000", "1000"}, {"ending", "hangup", "hangup"},
			{"ending webhook", "mediaStreamStopped (closed)", "mediaStreamStopped (closed)"},
			{"mediaStreamStarted", "204", "204"}, {"mediaStreamStopped", "204", "204"}, {"disconnect", "204", "204"},
			{"playAudio", "0", "0"}, {"clear", "0", "0"}, {"violations", "0", "0"}, {"undocumented", "0", "0"},
		} {
			Expect(out.stdout).To(MatchRegexp(diffRow(row[0], row[1], row[2], "same")))
		}
		Expect(out.stdout).NotTo(ContainSubstring("DIFFERENT"))
		Expect(out.stdout).To(HaveSuffix(same))

		By("the app got the same start message, media and webhooks again, under new ids")
		streams := app.Streams()
		Expect(streams).To(HaveLen(2))
		then, now := streams[0], streams[1]
		Expect(now.Start.StreamParams).To(Equal(then.Start.StreamParams))
		Expect(now.Start.Metadata.StreamName).To(Equal("agent"))
		Expect(now.Start.Metadata.Tracks).To(Equal(then.Start.Metadata.Tracks))
		Expect(now.Start.Metadata.StreamID).NotTo(Equal(then.Start.Metadata.StreamID))
		Expect(now.Frames()).To(Equal(then.Frames()))
		Expect(now).To(apptest.HaveStartMediaStop())
		Expect(events.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)",
			"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	}, timeout)

	It("exits 1 and names the difference when the app now closes with 4001", func(ctx SpecContext) {
		closing := apptest.NewWS(apptest.Close(4001, "unauthorized"))
		out := replayCmd(ctx, journal, "--ws", closing.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(diffRow("close received", "1000", "4001", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending", "hangup", "app-close-code", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending webhook", "mediaStreamStopped (closed)", "mediaStreamStopped (connection-error)", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("handshake", "101", "101", "same")))
		Expect(out.stdout).To(MatchRegexp(`(?m)^DIFFERENT: the app did not do what it did then \(.*close received, ending, ending webhook.*\)$`))
		Expect(out.stdout).To(ContainSubstring("  and now it fails:\n  - the stream ended by app-close-code, the app's fault\n"))
	}, timeout)

	It("exits 1 and names the webhooks when the app now answers them 500", func(ctx SpecContext) {
		failing := apptest.NewHooks(apptest.Reply{Status: http.StatusInternalServerError})
		out := replayCmd(ctx, journal, "--ws", app.URL(), "--events", failing.EventsURL(), "--disconnect", failing.DisconnectURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(MatchRegexp(diffRow("mediaStreamStarted", "204", "500", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("mediaStreamStopped", "204", "500", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("disconnect", "204", "500", "DIFFERENT")))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending", "hangup", "hangup", "same")))
		Expect(out.stdout).To(ContainSubstring("DIFFERENT: the app did not do what it did then (mediaStreamStarted, mediaStreamStopped, disconnect)\n"))
		Expect(out.stdout).To(ContainSubstring("  - mediaStreamStarted was answered 500, not 204\n"))
	}, timeout)

	It("without --disconnect sends none, and shows the recorded one without comparing it", func(ctx SpecContext) {
		hooks := apptest.NewHooks()
		out := replayCmd(ctx, journal, "--ws", app.URL(), "--events", hooks.EventsURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(ContainSubstring("  disconnect not sent (no --disconnect URL): the recorded one is not compared\n"))
		Expect(out.stdout).To(MatchRegexp(diffRow("disconnect", "204", "not sent", "not compared (1)")))
		Expect(out.stdout).To(ContainSubstring("  (1) disconnect: no --disconnect URL: the replay sent no disconnect\n"))
		Expect(hooks.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)"}))
	}, timeout)

	It("refuses a journal of a newer format version, with FILE:LINE and exit 2", func(ctx SpecContext) {
		newer := rewriteLines(journal, func(_ int, line []byte) []byte {
			return bytes.Replace(line, []byte(`"v":1,`), []byte(`"v":7,`), 1)
		})
		out := replayCmd(ctx, newer, "--ws", app.URL(), "--events", events.EventsURL())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stdout).To(BeEmpty())
		Expect(out.stderr).To(Equal("bwemu: " + newer + ":1: the journal is in format version 7, newer than this bwemu reads (1 and older): replay it with a bwemu as new as the one that wrote it\n"))
		Expect(app.Streams()).To(HaveLen(1), "nothing was replayed")
	}, timeout)

	It("refuses a malformed line with FILE:LINE and exit 2", func(ctx SpecContext) {
		bad := rewriteLines(journal, func(n int, line []byte) []byte {
			if n == 3 {
				return line[:len(line)/2]
			}
			return line
		})
		out := replayCmd(ctx, bad, "--ws", app.URL(), "--events", events.EventsURL())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(MatchRegexp(`^bwemu: ` + regexp.QuoteMeta(bad) + `:3: not a journal entry \(a JSON object per line\): .+\n$`))
		Expect(app.Streams()).To(HaveLen(1), "nothing was replayed")
	}, timeout)

	It("reads a journal written before format versions, and says what it had to assume", func(ctx SpecContext) {
		old := rewriteLines(journal, func(_ int, line []byte) []byte {
			var m map[string]any
			Expect(json.Unmarshal(line, &m)).To(Succeed())
			delete(m, "v")
			delete(m, "setup")
			delete(m, "ending")
			b, err := json.Marshal(m)
			Expect(err).NotTo(HaveOccurred())
			return b
		})
		out := replayCmd(ctx, old, "--ws", app.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(ContainSubstring("(journal format v0)"))
		Expect(out.stdout).To(ContainSubstring("  media      200ms, realtime pace, audio tone:440Hz\n"), "realtime: the journal does not say fast")
		Expect(out.stdout).To(ContainSubstring("  note       the journal predates format versions"))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending", "hangup", "hangup", "same")))
		Expect(out.stdout).To(HaveSuffix(same))
	}, timeout)

	It("needs --ws, --events when the recorded stream sent webhooks, and timeouts of zero or more: exit 2 with the usage line", func(ctx SpecContext) {
		out := replayCmd(ctx, journal, "--events", events.EventsURL())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(ContainSubstring("bwemu: --ws URL is required"))
		Expect(out.stderr).To(ContainSubstring("usage: " + replaySynopsis))

		out = replayCmd(ctx, journal, "--ws", app.URL())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(HavePrefix("bwemu: --events URL is required: the recorded stream sent its webhooks (mediaStreamStarted, mediaStreamStopped) to a streamEventUrl\n"))

		out = replayCmd(ctx, "--ws", app.URL())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(ContainSubstring("no JOURNAL given"))

		out = replayCmd(ctx, journal, "--ws", app.URL(), "--events", events.EventsURL(), "--close-timeout", "-1s")
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(HavePrefix("bwemu: --close-timeout must not be negative, got -1s\n"), "0 takes the journal's; below it is no timeout")
		Expect(app.Streams()).To(HaveLen(1), "nothing was replayed")
	}, timeout)

	It("stops at once on an interrupt, hangs the call up with its webhooks, gives no verdict and exits 130", func(ctx SpecContext) {
		hanging := apptest.NewHooks(apptest.Reply{Hang: true})
		b := inBackground(ctx, "replay", journal, "--ws", app.URL(), "--events", hanging.EventsURL(), "--disconnect", hanging.DisconnectURL(),
			"--callback-timeout", "20s")
		Eventually(ctx, hanging.Whats).Should(ContainElement("mediaStreamStarted"))
		began := time.Now()
		b.interrupt()
		var code int
		Eventually(b.done).WithContext(ctx).WithTimeout(grace).Should(Receive(&code))
		Expect(time.Since(began)).To(BeNumerically("<", grace))
		b.report("interrupted bwemu replay", code)
		Expect(code).To(Equal(exitInterrupted))
		stdout := string(b.stdout.Contents())
		Expect(stdout).To(HaveSuffix("INTERRUPTED: the replay was cut short: no verdict on the app\n"))
		Expect(stdout).NotTo(ContainSubstring("DIFFERENT:"))
		Expect(stdout).NotTo(ContainSubstring("SAME:"))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("bwemu: interrupted\n"))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("still waiting for the app cut off"))
		Expect(app.Streams()).To(HaveLen(2))
		Expect(app.Streams()[1]).To(apptest.HaveStartMediaStop(), "the app saw the call end properly")
	}, timeout)
})

var _ = Describe("bwemu replay of endings and journals", func() {
	It("replays a reset ending as a reset", func(ctx SpecContext) {
		app, events := apptest.NewWS(), apptest.NewHooks()
		journal := recordStream(ctx, exitPass, app.URL(), "--events", events.EventsURL(), "--end", "reset", "--for", "100ms")
		out := replayCmd(ctx, journal, "--ws", app.URL(), "--events", events.EventsURL())
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(ContainSubstring("  ending     reset after 100ms of media, then the call hangs up\n"))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending", "reset", "reset", "same")))
		Expect(out.stdout).To(MatchRegexp(diffRow("closed first", "network", "network", "same")))
		Expect(out.stdout).To(MatchRegexp(diffRow("ending webhook", "mediaStreamStopped (connection-error)", "mediaStreamStopped (connection-error)", "same")))
		Expect(out.stdout).To(HaveSuffix(same))
		Eventually(ctx, func() error { return app.Streams()[1].CloseError }).Should(MatchError(ContainSubstring("reset")),
			"the app's side saw a TCP reset again")
	}, timeout)

	It("says which streams a journal holds and replays the one --stream names", func(ctx SpecContext) {
		app, events := apptest.NewWS(), apptest.NewHooks()
		path := scenarioFile("two.yaml", target(app.URL(), events.EventsURL(), events.DisconnectURL())+fastDefaults+`scenarios:
  - name: two streams
    stream: {name: agent}
    streams: [{name: recorder, tracks: outbound}]
    steps: [{media: 100ms}]
`)
		dir := filepath.Join(GinkgoT().TempDir(), "journals")
		Expect(runCmd(ctx, path, "--journal", dir).code).To(Equal(exitPass))
		journals, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		Expect(err).NotTo(HaveOccurred())
		Expect(journals).To(HaveLen(1))

		out := replayCmd(ctx, journals[0], "--ws", app.URL(), "--events", events.EventsURL())
		Expect(out.code).To(Equal(exitUsage))
		// Listed in the order they connected, which the two streams race for.
		Expect(out.stderr).To(HavePrefix("bwemu: " + journals[0] + " holds 2 streams: name the one to replay with --stream ID or NAME:\n"))
		Expect(lines(out.stderr)).To(HaveLen(3))
		Expect(out.stderr).To(MatchRegexp(`(?m)^  s-\S+ "agent" on call c-\S+: hangup$`))
		Expect(out.stderr).To(MatchRegexp(`(?m)^  s-\S+ "recorder" on call c-\S+: hangup$`))

		out = replayCmd(ctx, journals[0], "--ws", app.URL(), "--events", events.EventsURL(), "--disconnect", events.DisconnectURL(), "--stream", "recorder")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(ContainSubstring("  start      name recorder, tracks outbound, unidirectional\n"))
		Expect(out.stdout).To(HaveSuffix(same))
		streams := app.Streams()
		Expect(streams[len(streams)-1].Start.Metadata.StreamName).To(Equal("recorder"))
	}, timeout)

	It("needs the credentials again, which the journals never keep", func(ctx SpecContext) {
		const wsUser, wsPassword = "ws-user", "ws-s3cret"
		app, events := apptest.NewWS(), apptest.NewHooks()
		journal := recordStream(ctx, exitPass, app.URL(), "--events", events.EventsURL(), "--for", "100ms",
			"--ws-user", wsUser, "--ws-password", wsPassword)

		out := replayCmd(ctx, journal, "--ws", app.URL(), "--events", events.EventsURL())
		Expect(out.stdout).To(ContainSubstring("  note       the recorded handshake carried credentials, which a journal never keeps: give them with --ws-user and --ws-password\n"))

		replayed := filepath.Join(GinkgoT().TempDir(), "replayed.jsonl")
		out = replayCmd(ctx, journal, "--ws", app.URL(), "--events", events.EventsURL(), "--ws-user", wsUser, "--ws-password", wsPassword,
			"--journal", replayed)
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).NotTo(ContainSubstring("  note       "))
		Expect(out.stdout).To(ContainSubstring("  journal    " + replayed + " ("))
		user, pass, ok := app.Streams()[2].BasicAuth()
		Expect(ok).To(BeTrue())
		Expect([]string{user, pass}).To(Equal([]string{wsUser, wsPassword}))
		raw, err := os.ReadFile(replayed)
		Expect(err).NotTo(HaveOccurred())
		for _, secret := range []string{wsPassword, base64.StdEncoding.EncodeToString([]byte(wsUser + ":" + wsPassword))} {
			Expect(string(raw)).NotTo(ContainSubstring(secret))
			Expect(out.stdout + out.stderr).NotTo(ContainSubstring(secret))
		}
		By("the replay's journal replays in turn")
		again := replayCmd(ctx, replayed, "--ws", app.URL(), "--events", events.EventsURL(), "--ws-user", wsUser, "--ws-password", wsPassword)
		Expect(again.code).To(Equal(exitPass))
	}, timeout)

	It("is listed in the usage and exits 130 when interrupted, as every command that judges the app", func(ctx SpecContext) {
		Expect(bwemu(ctx, "help").stdout).To(ContainSubstring("bwemu replay JOURNAL.jsonl --ws URL"))
		help := bwemu(ctx, "replay", "--help")
		Expect(help.code).To(Equal(exitPass))
		Expect(help.stdout).To(HavePrefix("usage: " + replaySynopsis + "\n"))
		for _, flag := range []string{"-ws", "-events", "-disconnect", "-stream", "-pace", "-audio", "-ws-user", "-event-password", "-journal", "-ca"} {
			Expect(help.stdout).To(MatchRegexp(`(?m)^  ` + flag + `\b`))
		}
		interrupted, cancel := context.WithCancelCause(context.Background())
		cancel(errInterrupted)
		Expect(exitCode(interrupted, []string{"replay"}, exitFail)).To(Equal(exitInterrupted))
		Expect(exitCode(interrupted, []string{"replay"}, exitUsage)).To(Equal(exitUsage))
		Expect(strings.Count(usage, "replay")).To(BeNumerically(">=", 2))
	}, timeout)
})
