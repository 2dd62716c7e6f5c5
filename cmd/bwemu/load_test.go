package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/load"
)

// shortLoad keeps a load run to about a second (of 200 ms calls, unless a
// scenario says how long they are).
var shortLoad = []string{"load", "--duration", "1s", "--callback-timeout", "2s"}

func loadRun(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	if !slices.Contains(args, "--scenario") {
		args = append([]string{"--hold", "200ms"}, args...)
	}
	return bwemu(ctx, append(append([]string{}, shortLoad...), args...)...)
}

func readSummary(path string) *load.Summary {
	GinkgoHelper()
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var s load.Summary
	Expect(json.Unmarshal(b, &s)).To(Succeed())
	return &s
}

var _ = Describe("bwemu load", func() {
	It("drives calls against the built-in consumer and writes the summary, the HTML and the JUnit reports", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		out := loadRun(ctx, "--calls", "3", "--threshold", "errors<=0", "--threshold", "webhook.p99 < 5s",
			"--json", filepath.Join(dir, "s.json"), "--html", filepath.Join(dir, "r.html"), "--junit", filepath.Join(dir, "j.xml"))
		Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
		Expect(out.stdout).To(ContainSubstring("against the built-in reference consumer"))
		Expect(out.stdout).To(ContainSubstring("ok    errors<=0 (actual 0)"))
		Expect(out.stdout).To(ContainSubstring("PASS"))
		s := readSummary(filepath.Join(dir, "s.json"))
		Expect(s.Version).To(Equal(load.SummaryVersion))
		Expect(s.Calls).To(BeNumerically(">=", 3))
		Expect(s.Histograms[load.HistWebhook].Encoded).NotTo(BeEmpty())
		Expect(s.Thresholds).To(HaveLen(2))
		j := apptest.ReadJUnit(filepath.Join(dir, "j.xml"))
		Expect(j.Tests).To(Equal(3), "two thresholds and the generator's own verdict")
		Expect(j.Failures).To(BeZero())
		html, err := os.ReadFile(filepath.Join(dir, "r.html"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(html)).To(ContainSubstring("webhook.p99 &lt; 5s"))
	})

	It("exits 1 when a threshold breaks, naming it, and fails its JUnit testcase", func(ctx SpecContext) {
		junitPath := filepath.Join(GinkgoT().TempDir(), "j.xml")
		out := loadRun(ctx, "--rate", "4", "--threshold", "calls>=1000", "--junit", junitPath)
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring("FAIL  calls>=1000 (actual 4)"))
		j := apptest.ReadJUnit(junitPath)
		Expect(j.Suites[0].Cases[0].Failure).NotTo(BeNil())
		Expect(j.Suites[0].Cases[0].Failure.Message).To(ContainSubstring("actual 4"))
	})

	It("fails on any call the app failed when no threshold names errors, and leaves it to one that does", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Refuse(503))
		hooks := apptest.NewHooks()
		out := loadRun(ctx, "--rate", "3", "--ws", app.URL(), "--events", hooks.EventsURL())
		Expect(out.code).To(Equal(exitFail))
		Expect(out.stdout).To(ContainSubstring("the app failed 3 of 3 calls"))
		Expect(out.stdout).To(ContainSubstring("ending handshake-status 3"))
		out = loadRun(ctx, "--rate", "3", "--ws", app.URL(), "--events", hooks.EventsURL(), "--threshold", "errors<=3")
		Expect(out.code).To(Equal(exitPass), out.stdout)
	})

	It("journals only the calls that went wrong", func(ctx SpecContext) {
		app := apptest.NewWS(apptest.Refuse(503))
		hooks := apptest.NewHooks()
		dir := filepath.Join(GinkgoT().TempDir(), "journals")
		out := loadRun(ctx, "--rate", "3", "--ws", app.URL(), "--events", hooks.EventsURL(), "--journal", dir, "--max-journals", "2")
		Expect(out.code).To(Equal(exitFail))
		files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(2))
		Expect(out.stdout).To(ContainSubstring("1 more failed calls not journaled"))
	})

	It("exits 130 when interrupted, after ending the live calls", func(ctx SpecContext) {
		c := apptest.NewConsumer(nil)
		b := inBackground(ctx, "load", "--calls", "2", "--duration", "1m", "--hold", "1m",
			"--ws", c.WebSocketURL(), "--events", c.EventsURL())
		Eventually(func() int { return len(c.Streams()) }).WithTimeout(5 * time.Second).Should(Equal(2))
		b.interrupt()
		var code int
		Eventually(b.done).WithTimeout(10 * time.Second).Should(Receive(&code))
		b.report("bwemu load (interrupted)", code)
		Expect(code).To(Equal(exitInterrupted))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("interrupted: the figures cover part of the run"))
		Expect(string(b.stdout.Contents())).NotTo(Or(ContainSubstring("PASS"), ContainSubstring("FAIL")), "no verdict")
		Expect(string(b.stdout.Contents())).To(ContainSubstring("2 calls started, 2 completed"), "both calls ended")
	})

	It("exits 130 when interrupted while waiting for --start-at", func(ctx SpecContext) {
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		b := inBackground(ctx, "load", "--start-at", later)
		Eventually(b.stdout).WithTimeout(5 * time.Second).Should(gbytes.Say("bwemu load: 10 concurrent calls"))
		b.interrupt()
		var code int
		Eventually(b.done).WithTimeout(5 * time.Second).Should(Receive(&code))
		b.report("bwemu load --start-at (interrupted)", code)
		Expect(code).To(Equal(exitInterrupted))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("to start, with the other shards"))
		Expect(string(b.stderr.Contents())).To(ContainSubstring("interrupted before the load started"))
	})

	DescribeTable("refuses bad usage with exit 2 and says what is wrong",
		func(ctx SpecContext, want string, args ...string) {
			out := bwemu(ctx, append([]string{"load"}, args...)...)
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stderr).To(ContainSubstring(want))
			Expect(out.stderr).To(ContainSubstring("usage: bwemu load"))
		},
		Entry("both models", "give --calls or --rate, not both", "--calls", "2", "--rate", "3"),
		Entry("no calls", "--calls must be positive", "--calls", "0"),
		Entry("no shards", "--shards must be positive", "--shards", "0"),
		Entry("a user no client could send", `--event-user: a Basic auth user cannot contain ':' (RFC 7617), got "a:b"`, "--event-user", "a:b"),
		Entry("a negative timeout", "--close-timeout must be positive, got -1s", "--close-timeout", "-1s"),
		Entry("a zero timeout", "--write-timeout must be positive, got 0s", "--write-timeout", "0"),
		Entry("a rate that is no number", `--rate: want calls per second such as 20 or 20/s, got "fast"`, "--rate", "fast"),
		Entry("two operators", `--threshold: threshold "webhook.p99<<200ms":13: one operator only`, "--threshold", "webhook.p99<<200ms"),
		Entry("no operator", `threshold "errors":7: no operator`, "--threshold", "errors"),
		Entry("an unknown metric", `threshold "latency.p99<1s":1: unknown metric "latency.p99"`, "--threshold", "latency.p99<1s"),
		Entry("a count with a unit", `threshold "errors<=1s":9: errors is a count`, "--threshold", "errors<=1s"),
		Entry("a time without one", `threshold "handshake.max<5":15: handshake.max is a time`, "--threshold", "handshake.max<5"),
		Entry("a bad hold", `--hold: hold "2m-20s": the upper end is below the lower`, "--hold", "2m-20s"),
		Entry("a bad ending", `--end: ending "explode": want one of stop, hangup`, "--end", "hangup=9,explode=1"),
		Entry("a shard out of range", `--shard: shard "3/2"`, "--shard", "3/2"),
		Entry("shards without an index", "$JOB_COMPLETION_INDEX must be a shard index from 0 to 3", "--shards", "4"),
		Entry("a bad start", "--start-at: want an RFC 3339 time", "--start-at", "tomorrow"),
		Entry("a ramp past the run", "--ramp must be between 0 and --duration", "--duration", "10s", "--ramp", "11s"),
		Entry("merge with nothing to merge", "name the shard summaries", "merge"),
		Entry("a file without its scenario", "--file and --scenario go together", "--file", "x.yaml"),
		Entry("a scenario with the built-in call's flags", "--end, --hold: the scenario is each call's script",
			"--file", "x.yaml", "--scenario", "x", "--hold", "3s", "--end", "stop"),
		Entry("a scenario the file does not have", `has no scenario "nope"; it has: the app stops the stream with StopStream`,
			"--file", "../../scenarios.example.yaml", "--scenario", "nope"),
	)

	DescribeTable("refuses an unwritable report file before any call is made",
		func(ctx SpecContext, flag string) {
			// An hour-long run: only a refusal before the load starts ends
			// within the spec's timeout.
			out := bwemu(ctx, "load", "--calls", "1", "--duration", "1h", flag, "/nonexistent/report")
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stderr).To(ContainSubstring("bwemu: " + flag + ": open /nonexistent/report"))
			Expect(out.stderr).To(ContainSubstring("usage: bwemu load"))
			Expect(out.stdout).NotTo(ContainSubstring("bwemu load:"), "no load was started")
		},
		Entry("--json", "--json", SpecTimeout(30*time.Second)),
		Entry("--html", "--html", SpecTimeout(30*time.Second)),
		Entry("--junit", "--junit", SpecTimeout(30*time.Second)),
	)

	DescribeTable("carries each flag into the calls it drives",
		func(ctx SpecContext, check func(*load.Summary), args ...string) {
			path := filepath.Join(GinkgoT().TempDir(), "s.json")
			out := loadRun(ctx, append([]string{"--json", path, "--rate", "3"}, args...)...)
			Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
			check(readSummary(path))
		},
		Entry("--ramp", func(s *load.Summary) {
			Expect(s.Settings.Ramp).To(Equal("1s"))
			Expect(s.Started).To(Equal(2), "half the full rate's calls start during a ramp")
		}, "--ramp", "1s"),
		Entry("--hold as a range", func(s *load.Summary) {
			Expect(s.Settings.Hold).To(Equal("100ms-200ms"))
			Expect(s.Frames).To(BeNumerically(">=", 5*s.Calls))
		}, "--hold", "100ms-200ms"),
		Entry("--tracks both", func(s *load.Summary) {
			Expect(s.Settings.Tracks).To(Equal("both"))
			Expect(s.Frames).To(BeNumerically(">=", 2*10*s.Calls), "two tracks of 200 ms")
		}, "--tracks", "both"),
		Entry("--mode bidirectional: the time to the first playAudio, the built-in consumer echoing", func(s *load.Summary) {
			Expect(s.Settings.Mode).To(Equal("bidirectional"))
			Expect(s.Histograms[load.HistFirstPlay].Count).To(BeNumerically("==", s.Calls))
		}, "--mode", "bidirectional"),
		Entry("--audio, --param", func(s *load.Summary) {
			Expect(s.Calls).To(Equal(3))
		}, "--audio", "silence", "--param", "customer=42"),
		Entry("--ws-user and --ws-password, which the built-in consumer then requires", func(s *load.Summary) {
			Expect(s.Errors).To(BeZero())
			Expect(s.Histograms[load.HistHandshake].Count).To(BeNumerically("==", 3))
		}, "--ws-user", "bw", "--ws-password", "secret", "--event-user", "bw", "--event-password", "secret"),
		Entry("--end with its weights, the same draws for a --seed", func(s *load.Summary) {
			Expect(s.Settings.End).To(Equal("stop=1,error=1"))
			Expect(s.Endings).To(HaveLen(2))
		}, "--end", "stop=1,error=1", "--seed", "3"),
		Entry("--cpu-budget: a tiny one makes the run generator-bound", func(s *load.Summary) {
			Expect(s.Generator.Bound).To(BeTrue())
			Expect(s.Generator.CPUBudget).To(Equal(0.0001))
		}, "--cpu-budget", "0.0001"),
		Entry("--send-buffer 0, the system's buffer", func(s *load.Summary) {
			Expect(s.Calls).To(Equal(3))
		}, "--send-buffer", "0"),
	)

	Describe("the connection flags, against an app of the test's own", func() {
		// journals runs the load against ws and events with a --journal
		// directory, and returns the summary and every journal's text.
		journals := func(ctx context.Context, ws, events string, args ...string) (outcome, *load.Summary, string) {
			GinkgoHelper()
			dir := GinkgoT().TempDir()
			path := filepath.Join(dir, "s.json")
			out := loadRun(ctx, append([]string{"--ws", ws, "--events", events, "--rate", "2", "--json", path,
				"--journal", filepath.Join(dir, "journals")}, args...)...)
			files, err := filepath.Glob(filepath.Join(dir, "journals", "*.jsonl"))
			Expect(err).NotTo(HaveOccurred())
			var all strings.Builder
			for _, f := range files {
				b, err := os.ReadFile(f)
				Expect(err).NotTo(HaveOccurred())
				all.Write(b)
			}
			return out, readSummary(path), all.String()
		}

		It("--handshake-timeout bounds the upgrade of an app that never answers it", func(ctx SpecContext) {
			app, hooks := apptest.NewSilent(), apptest.NewHooks()
			DeferCleanup(app.Close)
			out, s, journal := journals(ctx, app.URL(), hooks.EventsURL(), "--handshake-timeout", "200ms")
			Expect(out.code).To(Equal(exitFail), out.stdout+out.stderr)
			Expect(s.ErrorsByCause).To(Equal(map[string]int{"ending handshake-timeout": s.Calls}))
			Expect(journal).To(ContainSubstring(`"handshakeNs":200000000`))
		}, SpecTimeout(30*time.Second))

		It("--close-timeout bounds the wait for the close frame of an app that never sends it", func(ctx SpecContext) {
			app, hooks := apptest.NewWS(apptest.IgnoreClose()), apptest.NewHooks()
			out, s, journal := journals(ctx, app.URL(), hooks.EventsURL(), "--close-timeout", "150ms")
			Expect(out.code).To(Equal(exitFail), out.stdout+out.stderr)
			Expect(s.ErrorsByCause).To(Equal(map[string]int{"ending close-handshake-timeout": s.Calls}))
			Expect(journal).To(And(ContainSubstring(`"closeHandshakeNs":150000000`), ContainSubstring("no close frame from the app within 150ms")))
		}, SpecTimeout(30*time.Second))

		It("--callback-timeout bounds each webhook an app answers too late", func(ctx SpecContext) {
			app, hooks := apptest.NewWS(), apptest.NewHooks(apptest.Reply{Delay: time.Second})
			out, s, journal := journals(ctx, app.URL(), hooks.EventsURL(), "--callback-timeout", "300ms")
			Expect(out.code).To(Equal(exitFail), out.stdout+out.stderr)
			Expect(s.ErrorsByCause).To(HaveKeyWithValue("mediaStreamStarted: no answer", s.Calls))
			Expect(journal).To(ContainSubstring(`"callbackNs":300000000`))
		}, SpecTimeout(30*time.Second))

		It("--dead-peer-timeout is how long a dropped connection stays silent before its stream is declared dead", func(ctx SpecContext) {
			app, hooks := apptest.NewWS(), apptest.NewHooks()
			out, s, _ := journals(ctx, app.URL(), hooks.EventsURL(), "--end", "drop", "--dead-peer-timeout", "300ms")
			Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
			Expect(s.Endings).To(Equal(map[string]int{"drop": s.Calls}))
			Expect(hooks.Whats()).To(ContainElement("mediaStreamStopped (connection-error)"))
			for _, q := range hooks.Requests() {
				if q.Event != nil && q.Event.EventType == "mediaStreamStopped" {
					Expect(q.Event.ErrorMessage).To(ContainSubstring("no traffic for 300ms"))
				}
			}
		}, SpecTimeout(30*time.Second))

		It("--disconnect is where each call's disconnect goes; without it, with an app of its own, none is sent", func(ctx SpecContext) {
			app, hooks := apptest.NewWS(), apptest.NewHooks()
			out, s, _ := journals(ctx, app.URL(), hooks.EventsURL(), "--disconnect", hooks.DisconnectURL())
			Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
			Expect(hooks.RequestsTo("/disconnect")).To(HaveLen(s.Calls))
			Expect(hooks.RequestsTo("/events")).To(HaveEach(HaveField("Event.EventType", HavePrefix("mediaStream"))))

			other := apptest.NewHooks()
			out, _, _ = journals(ctx, app.URL(), other.EventsURL())
			Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
			Expect(other.RequestsTo("/disconnect")).To(BeEmpty())
		}, SpecTimeout(30*time.Second))

		It("--ca makes a wss:// app and https:// webhooks with a private CA trusted; without it they fail", func(ctx SpecContext) {
			app, hooks := apptest.NewTLSWS(), apptest.NewTLSHooks()
			out, s, _ := journals(ctx, app.URL(), hooks.EventsURL(), "--ca", app.CAFile())
			Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
			Expect(s.Errors).To(BeZero())
			Expect(hooks.EventTypes()).To(ContainElement("mediaStreamStarted"))

			out, s, journal := journals(ctx, app.URL(), hooks.EventsURL())
			Expect(out.code).To(Equal(exitFail), out.stdout+out.stderr)
			Expect(s.ErrorsByCause).To(HaveKeyWithValue("ending connect-failed", s.Calls))
			Expect(journal).To(ContainSubstring("certificate"))
		}, SpecTimeout(30*time.Second))
	})

	It("takes the shard index from $JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it", func(ctx SpecContext) {
		GinkgoT().Setenv("JOB_COMPLETION_INDEX", "1")
		path := filepath.Join(GinkgoT().TempDir(), "s.json")
		out := loadRun(ctx, "--rate", "4", "--shards", "2", "--json", path)
		Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
		s := readSummary(path)
		Expect(s.Settings.Shard).To(Equal("1/2"))
		Expect(s.Started).To(Equal(2), "half of 4 calls a second for a second")
	})

	It("plays a scenario of a file as each call's script", func(ctx SpecContext) {
		out := loadRun(ctx, "--rate", "3", "--file", "../../scenarios.example.yaml", "--scenario", "the network resets the connection")
		Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)
		Expect(out.stdout).To(ContainSubstring(`each playing the scenario "the network resets the connection"`))
		Expect(out.stdout).To(ContainSubstring("endings: reset 3"))
	})

	It("refuses a scenario file with errors, at their positions", func(ctx SpecContext) {
		path := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
		Expect(os.WriteFile(path, []byte("scenarios:\n  - name: x\n    steps: [{media: soon}]\n"), 0o644)).To(Succeed())
		out := loadRun(ctx, "--rate", "3", "--file", path, "--scenario", "x")
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(MatchRegexp(`bad\.yaml:3:\d+: `))
	})

	It("refuses to merge a file that is not a summary", func(ctx SpecContext) {
		path := filepath.Join(GinkgoT().TempDir(), "x.json")
		Expect(os.WriteFile(path, []byte(`{"version": 7}`), 0o644)).To(Succeed())
		out := bwemu(ctx, "load", "merge", path)
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(ContainSubstring("version 7"))
	})
})

var _ = Describe("bwemu load in shards", Ordered, func() {
	var bin string
	BeforeAll(func(ctx SpecContext) {
		bin = buildBwemu(ctx)
	}, NodeTimeout(3*time.Minute))

	It("N shard processes plus merge count the same calls as one process over the same calls, and add up exactly", func(ctx SpecContext) {
		c := apptest.NewConsumer(nil)
		dir := GinkgoT().TempDir()
		// 3 calls a second for 2 s, each 100 ms of media: every call ends
		// on its own before the run's end, so each frame is counted.
		common := []string{"load", "--rate", "3", "--duration", "2s", "--hold", "100ms",
			"--ws", c.WebSocketURL(), "--events", c.EventsURL(), "--disconnect", c.DisconnectURL()}
		start := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
		var shards []string
		var procs []*gexec.Session
		for i := range 3 {
			path := filepath.Join(dir, "shard-"+itoa(i)+".json")
			shards = append(shards, path)
			procs = append(procs, startBwemu(bin, append(common, "--shard", itoa(i)+"/3", "--start-at", start, "--json", path)...))
		}
		procs = append(procs, startBwemu(bin, append(common, "--json", filepath.Join(dir, "whole.json"))...))
		for _, p := range procs {
			Eventually(p).WithTimeout(30 * time.Second).Should(gexec.Exit(exitPass))
		}
		merged := filepath.Join(dir, "merged.json")
		out := bwemu(ctx, append([]string{"load", "merge", "--json", merged, "--threshold", "calls>=6"}, shards...)...)
		Expect(out.code).To(Equal(exitPass), out.stdout+out.stderr)

		m, one := readSummary(merged), readSummary(filepath.Join(dir, "whole.json"))
		Expect(m.Shards).To(Equal(3))
		Expect(m.Started).To(Equal(6))
		Expect(m.Started).To(Equal(one.Started))
		Expect(m.Calls).To(Equal(one.Calls))
		Expect(m.Endings).To(Equal(one.Endings))
		for _, name := range []string{load.HistHandshake, load.HistWebhook} {
			Expect(m.Histograms[name].Count).To(Equal(one.Histograms[name].Count), name)
		}
		// 100 ms is 5 frames; a call may send one or two more while its
		// ending is under way.
		for _, s := range []*load.Summary{m, one} {
			Expect(s.Frames).To(BeNumerically(">=", 5*s.Calls))
			Expect(s.Frames).To(BeNumerically("<=", 7*s.Calls))
		}
		var sum, frames int64
		for _, path := range shards {
			shard := readSummary(path)
			sum += shard.Histograms[load.HistLateness].Count
			frames += shard.Frames
		}
		Expect(m.Frames).To(Equal(frames))
		Expect(m.Histograms[load.HistLateness].Count).To(Equal(sum))
	})
})
