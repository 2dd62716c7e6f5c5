package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/replay"
	"github.com/bwemu/bwemu/suite/specs"
)

// fastTimeouts keep a dropped stream short and leave everything else room
// on a loaded machine.
var fastTimeouts = emulator.Timeouts{Handshake: 5 * time.Second, Write: 5 * time.Second, CloseHandshake: 5 * time.Second,
	Callback: 5 * time.Second, DeadPeer: 200 * time.Millisecond}

// record streams 100ms of fast media to app, ends the stream how, hangs
// up, and returns the journal's path.
func record(ctx context.Context, app *apptest.WS, hooks *apptest.Hooks, how emulator.Ending) string {
	GinkgoHelper()
	return recordAt(ctx, app, hooks, how, emulator.Fast, 100*time.Millisecond)
}

// recordAt is record at a pace, for d of media.
func recordAt(ctx context.Context, app *apptest.WS, hooks *apptest.Hooks, how emulator.Ending, pace emulator.Pace, d time.Duration) string {
	GinkgoHelper()
	e := apptest.NewEmulator(&emulator.Options{Timeouts: fastTimeouts})
	call := specs.Call(e, &emulator.CallSpec{DisconnectURL: hooks.DisconnectURL(), Tag: "t-1"})
	tone, err := media.Parse("tone:440")
	Expect(err).NotTo(HaveOccurred())
	s := specs.Stream(ctx, call, emulator.StreamSpec{Name: "agent", Destination: app.URL(), StreamEventURL: hooks.EventsURL(),
		Pace: pace, Tracks: protocol.TracksBoth, Audio: tone,
		Params: []protocol.StreamParam{{Name: "tenant", Value: "acme"}, {Name: "a", Value: "1"}}})
	_, err = s.EndAt(ctx, d, how)
	Expect(err).NotTo(HaveOccurred())
	Expect(call.Hangup(ctx)).To(Succeed())
	path := filepath.Join(GinkgoT().TempDir(), "recorded.jsonl")
	Expect(e.Journal().WriteFile(path)).To(Succeed())
	return path
}

// planOf reads the journal at path and plans the replay of its only stream.
func planOf(path string) *replay.Plan {
	GinkgoHelper()
	j, err := replay.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	s, err := j.Select("")
	Expect(err).NotTo(HaveOccurred())
	p, err := j.Plan(s)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// targetOf aims a replay at app and hooks.
func targetOf(app *apptest.WS, hooks *apptest.Hooks) replay.Target {
	return replay.Target{WS: app.URL(), Events: hooks.EventsURL(), Disconnect: hooks.DisconnectURL()}
}

// readJournal reads lines as a journal file named j.jsonl.
func readJournal(lines ...string) (*replay.Journal, error) {
	return replay.Read(strings.NewReader(strings.Join(lines, "\n")), "j.jsonl")
}

// entriesFile writes entries as a journal and returns its path.
func entriesFile(entries ...emulator.Entry) string {
	GinkgoHelper()
	var buf bytes.Buffer
	for i := range entries {
		entries[i].Seq = int64(i + 1)
	}
	Expect(emulator.WriteEntries(&buf, entries)).To(Succeed())
	path := filepath.Join(GinkgoT().TempDir(), "j.jsonl")
	Expect(os.WriteFile(path, buf.Bytes(), 0o644)).To(Succeed())
	return path
}

const callLine = `{"v":1,"seq":1,"time":"2026-01-01T00:00:00Z","kind":"call","by":"emulator","callId":"c-1","message":"call"}`

var _ = Describe("reading a journal", func() {
	DescribeTable("refuses what is no journal of a version it knows, at FILE:LINE",
		func(want string, lines ...string) {
			_, err := readJournal(lines...)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(HavePrefix(want))
			var je *replay.Error
			Expect(err).To(BeAssignableToTypeOf(je))
		},
		Entry("a line that is not JSON", "j.jsonl:3: not a journal entry (a JSON object per line): ",
			callLine, callLine, `not json`),
		Entry("a line that is JSON but no object", "j.jsonl:2: not a journal entry (a JSON object per line): ",
			callLine, `[1, 2]`),
		Entry("a field of the wrong type", `j.jsonl:1: not a journal entry: "seq": a JSON string where int64 is wanted`,
			`{"v":1,"seq":"one","kind":"call","message":""}`),
		Entry("an entry without a kind", `j.jsonl:1: not a journal entry: it has no "kind"`,
			`{"v":1,"seq":1,"message":""}`),
		Entry("an entry without a seq", `j.jsonl:1: not a journal entry: "seq" is missing or not positive`,
			`{"v":1,"kind":"call","message":""}`),
		Entry("a newer version", "j.jsonl:1: the journal is in format version 2, newer than this bwemu reads (1 and older): replay it with a bwemu as new as the one that wrote it",
			`{"v":2,"seq":1,"kind":"call","message":"","shape":"of the future"}`),
		Entry("a version that is no version", `j.jsonl:1: "v": "one" is not a journal format version (a whole number from 1)`,
			`{"v":"one","seq":1,"kind":"call","message":""}`),
		Entry("versions mixed", "j.jsonl:2: format version 0, but the lines before it are version 1: a journal is written in one version",
			callLine, `{"seq":2,"kind":"call","message":""}`),
		Entry("an empty file", "j.jsonl: no journal entries: the file is empty", ``, ``),
	)

	It("reads a journal older than versions, blank lines and all", func() {
		j, err := readJournal(`{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"call","message":"call"}`, ``,
			`{"seq":2,"time":"2026-01-01T00:00:00Z","kind":"call","message":"call ended"}`, ``)
		Expect(err).NotTo(HaveOccurred())
		Expect(j.Version).To(Equal(0))
		Expect(j.Entries).To(HaveLen(2))
	})

	It("says a file it cannot open is bad input, naming the file", func() {
		_, err := replay.ReadFile(filepath.Join(GinkgoT().TempDir(), "missing.jsonl"))
		Expect(err).To(MatchError(HaveSuffix("missing.jsonl: cannot read the journal: no such file or directory")))
	})
})

var _ = Describe("choosing the stream to replay", func() {
	stream := func(call, id, name string, end emulator.Ending) []emulator.Entry {
		return []emulator.Entry{
			{Kind: emulator.KindHandshake, CallID: call, StreamID: id, StreamName: name, Code: 101, Message: "GET"},
			{Kind: emulator.KindEnding, CallID: call, StreamID: id, StreamName: name, Ending: end, Message: "ended"},
		}
	}
	var j *replay.Journal
	BeforeEach(func() {
		entries := append(stream("c-1", "s-1", "agent", emulator.EndHangup), stream("c-1", "s-2", "recorder", emulator.EndReset)...)
		entries = append(entries, stream("c-2", "s-3", "agent", emulator.EndAppCloseCode)...)
		entries = append(entries, emulator.Entry{Kind: emulator.KindRejected, CallID: "c-2", StreamID: "s-4", StreamName: "agent2",
			Ending: emulator.EndDuplicate, Cause: "duplicate", Message: "rejected"})
		var err error
		j, err = replay.ReadFile(entriesFile(entries...))
		Expect(err).NotTo(HaveOccurred())
	})

	It("lists every stream with its call and ending when none is named", func() {
		_, err := j.Select("")
		Expect(err).To(MatchError(HaveSuffix("j.jsonl holds 4 streams: name the one to replay with --stream ID or NAME:\n" +
			`  s-1 "agent" on call c-1: hangup` + "\n" +
			`  s-2 "recorder" on call c-1: reset` + "\n" +
			`  s-3 "agent" on call c-2: app-close-code` + "\n" +
			`  s-4 "agent2" on call c-2: rejected (duplicate)`)))
	})

	It("takes a stream by id or by a name no other bears", func() {
		Expect(j.Select("s-3")).To(HaveField("ID", "s-3"))
		Expect(j.Select("recorder")).To(HaveField("ID", "s-2"))
	})

	It("asks for the id when several streams share the name", func() {
		_, err := j.Select("agent")
		Expect(err).To(MatchError(HaveSuffix(`j.jsonl: 2 streams are named "agent": name one by its id with --stream ID:` + "\n" +
			`  s-1 "agent" on call c-1: hangup` + "\n" + `  s-3 "agent" on call c-2: app-close-code`)))
	})

	It("takes the name of a stream rejected as a duplicate to mean the stream it collided with", func() {
		entries := append(stream("c-1", "s-1", "agent", emulator.EndHangup), emulator.Entry{Kind: emulator.KindRejected, CallID: "c-1",
			StreamID: "s-2", StreamName: "agent", Ending: emulator.EndDuplicate, Cause: "duplicate", Message: "rejected"})
		j, err := replay.ReadFile(entriesFile(entries...))
		Expect(err).NotTo(HaveOccurred())
		Expect(j.Select("agent")).To(HaveField("ID", "s-1"))
	})

	It("lists the streams there are when the name matches none", func() {
		_, err := j.Select("nobody")
		Expect(err).To(MatchError(ContainSubstring("j.jsonl: --stream nobody matches none of its 4 streams:\n  s-1")))
	})

	It("refuses to replay a stream the emulator rejected: it never reached the app", func() {
		s, err := j.Select("s-4")
		Expect(err).NotTo(HaveOccurred())
		_, err = j.Plan(s)
		Expect(err).To(MatchError(MatchRegexp(`j\.jsonl:7: stream s-4 was rejected by the emulator \(duplicate\): it never reached the app`)))
	})
})

var _ = Describe("a replay", func() {
	It("of a clean stream against the same app comes out the same, row by row", func(ctx SpecContext) {
		app, hooks := apptest.NewWS(), apptest.NewHooks()
		p := planOf(record(ctx, app, hooks, emulator.EndHangup))
		Expect(p.Version).To(Equal(emulator.JournalVersion))
		Expect(p.Notes).To(BeEmpty())
		Expect(p.Spec.Name).To(Equal("agent"))
		Expect(p.Spec.Tracks).To(Equal(protocol.TracksBoth))
		Expect(p.Spec.Pace).To(Equal(emulator.Fast))
		Expect(p.Spec.Audio.String()).To(Equal("tone:440Hz"))
		Expect(p.Call.Tag).To(Equal("t-1"))
		Expect(p.Options.Timeouts).To(Equal(fastTimeouts))
		Expect(p.Media).To(Equal(100 * time.Millisecond))
		Expect(p.End).To(Equal(emulator.EndHangup))

		r, err := replay.Run(ctx, p, targetOf(app, hooks))
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Interrupted).To(BeFalse())
		Expect(r.StreamID).NotTo(Equal(p.Recorded.ID), "a replay has ids of its own")
		rows := replay.Compare(p.Then, r.Now, true)
		Expect(replay.Differences(rows)).To(BeEmpty())
		Expect(rows).To(ContainElement(replay.Row{What: "media inbound", Then: "100ms (5 frames)", Now: "100ms (5 frames)", Verdict: replay.Same}))
		Expect(rows).To(ContainElement(replay.Row{What: "disconnect", Then: "204", Now: "204", Verdict: replay.Same}))
		Expect(r.Now.Failures()).To(BeEmpty())

		By("the app got the same start message twice, and the same webhooks")
		streams := app.Streams()
		Expect(streams).To(HaveLen(2))
		Expect(streams[1].Start.StreamParams).To(Equal(streams[0].Start.StreamParams))
		Expect(streams[1].Start.Metadata.StreamName).To(Equal("agent"))
		Expect(streams[1].Frames()).To(Equal(streams[0].Frames()))
		Expect(hooks.Whats()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)",
			"mediaStreamStarted", "mediaStreamStopped (closed)", "disconnect (hangup)"}))
	})

	It("names what an app that now closes with 4001 does differently", func(ctx SpecContext) {
		hooks := apptest.NewHooks()
		p := planOf(record(ctx, apptest.NewWS(), hooks, emulator.EndHangup))
		r, err := replay.Run(ctx, p, targetOf(apptest.NewWS(apptest.Close(4001, "unauthorized")), hooks))
		Expect(err).NotTo(HaveOccurred())
		diff := replay.Differences(replay.Compare(p.Then, r.Now, true))
		// Who closed first is not asked for: at the fast pace the stop
		// message may go out before the app's close frame is read.
		Expect(diff).To(ContainElements(
			replay.Row{What: "close received", Then: "1000", Now: "4001", Verdict: replay.Different},
			replay.Row{What: "ending", Then: "hangup", Now: "app-close-code", Verdict: replay.Different},
			replay.Row{What: "ending webhook", Then: "mediaStreamStopped (closed)", Now: "mediaStreamStopped (connection-error)", Verdict: replay.Different},
		))
		Expect(r.Now.Failures()).To(ContainElement("the stream ended by app-close-code, the app's fault"))
	})

	It("replays a reset as a reset", func(ctx SpecContext) {
		app, hooks := apptest.NewWS(), apptest.NewHooks()
		p := planOf(record(ctx, app, hooks, emulator.EndReset))
		Expect(p.End).To(Equal(emulator.EndReset))
		r, err := replay.Run(ctx, p, targetOf(app, hooks))
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Now.Ending).To(Equal(emulator.EndReset))
		Expect(replay.Differences(replay.Compare(p.Then, r.Now, true))).To(BeEmpty())
		Eventually(ctx, func() error { return app.Streams()[1].CloseError }).Should(MatchError(ContainSubstring("reset")))
	})

	It("gives an app that ended the stream itself the chance to end it again, and does not judge the media then", func(ctx SpecContext) {
		hooks := apptest.NewHooks()
		closing := apptest.NewWS(apptest.After(2, apptest.Close(4001, "unauthorized")))
		// Real time, so the app's close (after 2 frames) comes long before
		// the emulator would have hung up.
		p := planOf(recordAt(ctx, closing, hooks, emulator.EndHangup, emulator.Realtime, time.Second))
		Expect(p.Then.Ending).To(Equal(emulator.EndAppCloseCode))
		Expect(p.AwaitApp).To(BeTrue())
		r, err := replay.Run(ctx, p, targetOf(closing, hooks))
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Now.Ending).To(Equal(emulator.EndAppCloseCode))
		rows := replay.Compare(p.Then, r.Now, true)
		Expect(replay.Differences(rows)).To(BeEmpty())
		for _, row := range rows {
			if strings.HasPrefix(row.What, "media ") && row.Verdict != replay.Same {
				Expect(row.Verdict).To(Equal(replay.NotCompared))
				Expect(row.Why).To(ContainSubstring("depends on timing"))
			}
		}
	})

	It("reads a journal older than versions: the ending from its words, the rest from its payloads, and says what it guessed", func(ctx SpecContext) {
		app, hooks := apptest.NewWS(), apptest.NewHooks()
		path := record(ctx, app, hooks, emulator.EndStopStream)
		raw, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		var old bytes.Buffer
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			var m map[string]any
			Expect(json.Unmarshal(line, &m)).To(Succeed())
			delete(m, "v")
			delete(m, "ending")
			delete(m, "setup")
			b, err := json.Marshal(m)
			Expect(err).NotTo(HaveOccurred())
			old.Write(append(b, '\n'))
		}
		Expect(os.WriteFile(path, old.Bytes(), 0o644)).To(Succeed())

		p := planOf(path)
		Expect(p.Version).To(Equal(0))
		Expect(p.Then.Ending).To(Equal(emulator.EndStopStream))
		Expect(p.End).To(Equal(emulator.EndStopStream))
		Expect(p.Spec.Pace).To(Equal(emulator.Realtime))
		Expect(p.Spec.Tracks).To(Equal(protocol.TracksBoth), "from the start message")
		Expect(p.Call.Tag).To(Equal("t-1"), "from the webhooks' payloads")
		Expect(p.Notes).To(ConsistOf(ContainSubstring("the journal predates format versions")))
		r, err := replay.Run(ctx, p, targetOf(app, hooks))
		Expect(err).NotTo(HaveOccurred())
		Expect(replay.Differences(replay.Compare(p.Then, r.Now, true))).To(BeEmpty())
	}, SpecTimeout(10*time.Second))

	It("compares the media time, not the frames sent: frames realtime pacing skipped say nothing about the app", func() {
		then := replay.Outcome{Frames: map[string]int{"inbound": 10}, Ending: emulator.EndHangup}
		now := replay.Outcome{Frames: map[string]int{"inbound": 7}, Skipped: 3, Ending: emulator.EndHangup}
		Expect(replay.Compare(then, now, true)).To(ContainElement(replay.Row{What: "media inbound", Then: "200ms (10 frames)",
			Now: "200ms (7 frames, 3 skipped: bwemu fell behind real time)", Verdict: replay.Same}))
		now.Skipped = 0
		Expect(replay.Compare(then, now, true)).To(ContainElement(replay.Row{What: "media inbound", Then: "200ms (10 frames)",
			Now: "140ms (7 frames)", Verdict: replay.Different}))
	})

	It("says why a webhook got no answer from the entry's field, or in a journal older than it from its words", func() {
		hook := func(e emulator.Entry) emulator.Entry {
			e.Kind, e.CallID, e.StreamID = emulator.KindWebhook, "c-1", "s-1"
			return e
		}
		entries := []emulator.Entry{
			hook(emulator.Entry{Event: "mediaStreamStarted", NoAnswer: emulator.NoAnswerRefused, Error: "dial tcp 127.0.0.1:9: connect: connection refused"}),
			hook(emulator.Entry{Event: "mediaStreamStarted", Code: 204}),
			hook(emulator.Entry{Event: "mediaStreamStopped", Error: "no answer within the callback timeout of 15s"}),
		}
		o := replay.OutcomeOf(entries, "c-1", "s-1")
		Expect(o.Webhooks).To(HaveLen(2))
		Expect(o.Webhooks[0].Answered()).To(Equal("no answer (connection refused), 204"))
		Expect(o.Webhooks[1].Answered()).To(Equal("no answer (timed out)"))

		cut := replay.OutcomeOf([]emulator.Entry{hook(emulator.Entry{Event: "mediaStreamStopped", NoAnswer: emulator.NoAnswerInterrupted, Error: "cancelled"}),
			hook(emulator.Entry{Event: "disconnect", Error: "interrupted: the run was interrupted before the app answered"})}, "c-1", "s-1")
		Expect(cut.Webhooks).To(ConsistOf(
			And(HaveField("Event", "mediaStreamStopped"), HaveField("Interrupted", true)),
			And(HaveField("Event", "disconnect"), HaveField("Interrupted", true))))
	})

	It("shows a recorded disconnect but does not compare it when the replay has nowhere to send one", func() {
		then := replay.Outcome{Webhooks: []replay.Webhook{{Event: "disconnect", Answers: []string{"204"}}}}
		rows := replay.Compare(then, replay.Outcome{}, false)
		Expect(rows).To(ContainElement(replay.Row{What: "disconnect", Then: "204", Now: "not sent", Verdict: replay.NotCompared,
			Why: "no --disconnect URL: the replay sent no disconnect"}))
		Expect(replay.Differences(rows)).To(BeEmpty())
	})

	It("stops at once, ending the call with its webhooks, when interrupted", func(ctx SpecContext) {
		app, hooks := apptest.NewWS(), apptest.NewHooks()
		p := planOf(record(ctx, app, hooks, emulator.EndHangup))
		p.Spec.Pace, p.Media = emulator.Realtime, time.Hour
		runCtx, interrupt := context.WithCancel(ctx)
		defer interrupt()
		done := make(chan *replay.Result, 1)
		go func() {
			defer GinkgoRecover()
			r, err := replay.Run(runCtx, p, targetOf(app, hooks))
			Expect(err).NotTo(HaveOccurred())
			done <- r
		}()
		Eventually(ctx, func() int { return len(app.Streams()) }).Should(Equal(2))
		interrupt()
		var r *replay.Result
		Eventually(done).WithTimeout(emulator.InterruptGrace + 2*time.Second).Should(Receive(&r))
		Expect(r.Interrupted).To(BeTrue())
		Expect(r.Now.Ending).To(Equal(emulator.EndHangup))
		Expect(app.Streams()[1]).To(apptest.HaveStartMediaStop())
	}, SpecTimeout(10*time.Second))
})
