package scenarios_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/scenarios"
)

// conversing are the defaults of the inline files that talk with a voice
// agent: real time (turns are timed in it) and timeouts short enough that
// a misbehaving app is noticed at once.
const conversing = `defaults:
  pace: realtime
  timeouts: {handshake: 2s, write: 2s, closeHandshake: 300ms, callback: 2s, deadPeer: 200ms}
`

// hello is the caller's speech, from the file's directory: 200 ms of
// silence, then 500 ms of a 300 Hz "voice" (speech in frames 10 to 35).
var hello = func() string {
	p, err := filepath.Abs("testdata/audio/hello.wav")
	if err != nil {
		panic(err)
	}
	return p
}()

// answer is an agent that answers 300 ms after the caller's speech ends
// (the speech of a say: first in the stream ends with frame 35, or a
// little later) with d of a 440 Hz tone. The margin keeps the answer after
// the speech even when realtime pacing falls behind and skips frames.
func answer(d time.Duration) *apptest.WS {
	return apptest.NewWS(apptest.After(50, apptest.Send(apptest.PlayTone(440, d))))
}

var _ = Describe("a scenario that converses with a voice agent", func() {
	var ref *consumer.Server
	BeforeEach(func() { ref = newReference() })

	It("passes an agent that answers in time, with the tone the caller heard; a fast runner still plays it in real time", func(ctx SpecContext) {
		app := answer(500 * time.Millisecond)
		src := conversing + `scenarios:
  - name: answers at once
    stream: {name: agent, mode: bidirectional}
    steps:
      - say: ` + hello + `
      - silence: 1s
    expect:
      reply: {within: 1s, min: 400ms}
      heard: {tone: 440, atLeast: 400ms}
      playAudio: {min: 1}
  - name: a unidirectional app just hears the caller
    stream: {name: listener, destination: "` + ref.WebSocketURL() + `"}
    steps:
      - say: {file: ` + hello + `, stream: listener}
      - silence: 100ms
`
		opts := against(app.URL(), ref.EventsURL())
		opts.Pace = "fast"
		results := runInline(ctx, src, opts)
		r := named(results, "answers at once")
		Expect(r).To(passed())
		res := r.Streams[0].Result
		Expect(res.MediaDuration).To(BeNumerically(">=", 1700*time.Millisecond))
		Expect(r.Duration).To(BeNumerically(">=", 1700*time.Millisecond), "real time, whatever the runner's pace")
		Expect(res.Turns).To(HaveLen(1))
		Expect(res.Turns[0].Replied).To(BeTrue())
		Expect(res.Turns[0].Latency).To(BeNumerically("<", time.Second))
		Expect(res.Turns[0].Played).To(Equal(500 * time.Millisecond))
		Expect(res.Recording).NotTo(BeNil(), "heard: records the stream it judges")
		Expect(res.Recording.HeardFile).To(BeEmpty(), "without record: nothing is written")

		heard := named(results, "a unidirectional app just hears the caller")
		Expect(heard).To(passed())
		Expect(heard.Streams[0].Result.Turns).To(ConsistOf(HaveField("Replied", false)))
		Expect(heard.Streams[0].Result.Recording).To(BeNil())
		var out bytes.Buffer
		Expect(scenarios.WriteJUnit(&out, []*scenarios.Result{heard}, time.Second, time.Now())).To(Succeed())
		Expect(apptest.DecodeJUnit(out.Bytes()).Cases()[0].SystemOut).To(MatchRegexp(
			`^stream "listener" turn 1: the caller spoke \d+ms–\d+ms \(a unidirectional stream carries no reply\)$`))
		seen := ref.Streams()
		Expect(seen).To(HaveLen(1))
		// Frames the emulator skipped, falling behind on a loaded machine,
		// never reach the app.
		Expect(seen[0].FramesByTrack["inbound"]+heard.Streams[0].Result.Skipped).To(BeNumerically(">=", 40), "the clip and the silence after it")
	}, timeout)

	It("fails a late reply with the latency measured, at the expectation's place", func(ctx SpecContext) {
		// The agent answers after frame 100: 1.3 s after the speech.
		app := apptest.NewWS(apptest.After(100, apptest.Send(apptest.PlayTone(440, 300*time.Millisecond))))
		src := conversing + `scenarios:
  - name: answers late
    stream: {name: agent, mode: bidirectional}
    steps:
      - say: ` + hello + `
      - silence: 2s
    expect:
      reply: {within: 500ms}
`
		r := runOne(ctx, src, against(app.URL(), ref.EventsURL()))
		Expect(expectations(r)).To(Equal([]string{"expect.reply"}))
		f := failure(r, "expect.reply")
		Expect(f.Pos).To(at(lineOf(src, "reply: {within: 500ms}")))
		Expect(f.Message).To(MatchRegexp(`Expected stream "agent" \(s-[^)]+\) to have been answered within 500ms of each turn, but turn 1 was answered after 1\.\d+s`))
		Expect(f.Message).To(MatchRegexp(`1\. the caller spoke [\d.]+m?s–[\d.]+m?s; the app replied after 1\.\d+s and played 300ms`))
		Expect(r.Streams[0].Result.Turns[0].Latency).To(BeNumerically(">=", time.Second))
	}, timeout)

	It("judges barge-in: an agent that clears passes, one that talks on fails", func(ctx SpecContext) {
		// Both agents answer the first turn from frame 40 on; the caller
		// interrupts them from frame 75 on. The polite one clears at frame
		// 85; the rude one plays its 1.5 s to the end, 800 ms into the
		// caller's speech.
		polite := apptest.NewWS(apptest.After(40, apptest.Send(apptest.PlayTone(440, 3*time.Second))), apptest.After(85, apptest.Send(apptest.Clear)))
		rude := apptest.NewWS(apptest.After(40, apptest.Send(apptest.PlayTone(440, 1500*time.Millisecond))))
		flow := `
    steps:
      - say: ` + hello + `
      - silence: 600ms
      - say: ` + hello + `
      - silence: 400ms
    expect:
      bargeIn: {within: 500ms}
`
		src := conversing + `scenarios:
  - name: stops when interrupted
    stream: {name: agent, mode: bidirectional, destination: "` + polite.URL() + `"}` + flow + `
  - name: talks on
    stream: {name: agent, mode: bidirectional, destination: "` + rude.URL() + `"}` + flow
		results := runInline(ctx, src, against(ref.WebSocketURL(), ref.EventsURL()))
		Expect(named(results, "stops when interrupted")).To(passed())
		r := named(results, "talks on")
		f := failure(r, "expect.bargeIn")
		Expect(f.Pos).To(at(lineOf(src, "- name: talks on")+8), "the bargeIn: of the flow")
		Expect(f.Message).To(MatchRegexp(`to have stopped talking within 500ms of the caller interrupting it, but at turn 2 the app stopped [\d.]+m?s after the caller began`))
		turns := r.Streams[0].Result.Turns
		Expect(turns).To(HaveLen(2))
		Expect(turns[1].BargeIn).To(BeTrue())
		Expect(turns[1].StoppedAfter).To(BeNumerically(">", 500*time.Millisecond))
	}, timeout)

	It("records every stream under record:, a directory per scenario, the files named in the reports", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		late := apptest.NewWS(apptest.After(60, apptest.Send(apptest.PlayTone(440, 300*time.Millisecond))))
		path := filepath.Join(dir, "agent.yaml")
		src := conversing + `  record: recordings
scenarios:
  - name: answers at once
    stream: {name: agent, mode: bidirectional}
    steps:
      - say: ` + hello + `
      - silence: 800ms
    expect:
      reply: {within: 1s}
  - name: answers late
    stream: {name: agent, mode: bidirectional, destination: "` + late.URL() + `"}
    steps:
      - say: ` + hello + `
      - silence: 800ms
    expect:
      reply: {within: 200ms}
`
		results := runFiles(ctx, against(answer(500*time.Millisecond).URL(), ref.EventsURL()), parseAs(path, src))
		ok, failed := named(results, "answers at once"), named(results, "answers late")
		Expect(ok).To(passed())
		Expect(expectations(failed)).To(Equal([]string{"expect.reply"}))

		for _, r := range results {
			rec := r.Streams[0].Result.Recording
			Expect(rec).NotTo(BeNil())
			Expect(rec.Error).To(BeEmpty())
			want := filepath.Join(dir, "recordings", fmt.Sprintf("agent-%d-%s", lineOf(src, "- name: "+r.Name), strings.ReplaceAll(r.Name, " ", "-")))
			Expect(filepath.Dir(rec.HeardFile)).To(Equal(want), "a directory of the scenario's own")
			Expect(filepath.Dir(rec.SaidFile)).To(Equal(want))
			heard, err := media.LoadWAV(rec.HeardFile)
			Expect(err).NotTo(HaveOccurred())
			Expect(heard.Duration()).To(Equal(time.Duration(len(rec.Heard))*time.Second/media.SampleRate), "what the caller heard, frame by frame")
			_, err = os.Stat(rec.SaidFile)
			Expect(err).NotTo(HaveOccurred())
		}

		// JSON: each turn with its latency, the files by name.
		var buf bytes.Buffer
		Expect(scenarios.WriteJSON(&buf, results, time.Second)).To(Succeed())
		var doc struct {
			Results []struct {
				Name    string `json:"name"`
				Streams []struct {
					Result struct {
						Turns []struct {
							Replied   bool    `json:"replied"`
							LatencyMs float64 `json:"latencyMs"`
							PlayedMs  float64 `json:"playedMs"`
						} `json:"turns"`
						Recording struct {
							HeardFile string `json:"heardFile"`
							SaidFile  string `json:"saidFile"`
						} `json:"recording"`
					} `json:"result"`
				} `json:"streams"`
			} `json:"results"`
		}
		Expect(json.Unmarshal(buf.Bytes(), &doc)).To(Succeed())
		Expect(doc.Results).To(HaveLen(2))
		for i, jr := range doc.Results {
			res := results[i].Streams[0].Result
			got := jr.Streams[0].Result
			Expect(got.Turns).To(HaveLen(1), jr.Name)
			Expect(got.Turns[0].Replied).To(BeTrue())
			Expect(got.Turns[0].LatencyMs).To(BeNumerically("~", ms(res.Turns[0].Latency), 1e-6))
			Expect(got.Turns[0].LatencyMs).To(BeNumerically(">", 0))
			Expect(got.Recording.HeardFile).To(Equal(res.Recording.HeardFile))
			Expect(got.Recording.SaidFile).To(Equal(res.Recording.SaidFile))
		}

		// JUnit: the turns and the recordings in system-out; the failure
		// names the recordings to listen to, as the text account does.
		buf.Reset()
		Expect(scenarios.WriteJUnit(&buf, results, time.Second, time.Now())).To(Succeed())
		cases := apptest.DecodeJUnit(buf.Bytes()).Cases()
		Expect(cases).To(HaveLen(2))
		for i, c := range cases {
			rec := results[i].Streams[0].Result.Recording
			Expect(c.SystemOut).To(MatchRegexp(`(?m)^stream "agent" turn 1: replied after \d+ms, played \d+ms$`))
			Expect(c.SystemOut).To(ContainSubstring(`stream "agent" recorded: heard ` + rec.HeardFile + `, said ` + rec.SaidFile))
		}
		Expect(cases[0].Failure).To(BeNil())
		rec := failed.Streams[0].Result.Recording
		Expect(cases[1].Failure).NotTo(BeNil())
		Expect(cases[1].Failure.Text).To(ContainSubstring("recordings (what the caller heard and said):\n  stream \"agent\" recorded: heard " + rec.HeardFile))
		Expect(scenarios.FailureText(failed)).To(HaveSuffix("recordings (what the caller heard and said):\n    stream \"agent\" recorded: heard " +
			rec.HeardFile + ", said " + rec.SaidFile + "\n"))
		Expect(scenarios.FailureText(ok)).To(BeEmpty())
	}, timeout)

	It("keeps the recordings of repetitions and of files with one base name apart", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		src := conversing + `scenarios:
  - name: listens
    record: ` + filepath.Join(dir, "rec") + `
    stream: {name: agent}
    steps:
      - say: ` + hello + `
`
		opts := against(ref.WebSocketURL(), ref.EventsURL())
		opts.Repeat = 2
		results := runFiles(ctx, opts, parseAs("one/calls.yaml", src), parseAs("two/calls.yaml", src))
		dirs := map[string]bool{}
		for _, r := range results {
			Expect(r).To(passed())
			d := filepath.Dir(r.Streams[0].Result.Recording.HeardFile)
			Expect(filepath.Dir(d)).To(Equal(filepath.Join(dir, "rec")))
			dirs[filepath.Base(d)] = true
		}
		run := "calls-" + strconv.Itoa(lineOf(src, "- name: listens")) + "-listens"
		Expect(dirs).To(Equal(map[string]bool{run + "-r1": true, run + "-r2": true, run + "-r1-2": true, run + "-r2-2": true}))
	}, timeout)
})
