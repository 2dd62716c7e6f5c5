package livelog_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/livelog"
)

// at is a fixed time, so lines can be compared whole.
var at = time.Date(2026, 1, 2, 12, 0, 1, 234_000_000, time.Local)

const (
	callID   = "c-0123abcd-4567ef01-89ab-4cde-8f01-23456789abcd"
	streamID = "s-fedc3210-76543210-ba98-4765-8321-0fedcba98765"
)

// render renders lines with a printer of that format and colour.
func render(format livelog.Format, color bool, lines ...livelog.Line) string {
	var b bytes.Buffer
	livelog.NewPrinter(&b, format, color).Print(lines...)
	return b.String()
}

// lines is what a Journal makes of entries, in order.
func lines(entries ...emulator.Entry) []livelog.Line {
	em := emulator.New(nil)
	DeferCleanup(em.Close)
	j := livelog.NewJournal(em)
	var out []livelog.Line
	for i, e := range entries {
		e.Seq, e.Time = int64(i+1), at
		out = append(out, j.Lines(e)...)
	}
	return out
}

func streamEntry(kind emulator.Kind) emulator.Entry {
	return emulator.Entry{Kind: kind, CallID: callID, StreamID: streamID, StreamName: "agent"}
}

var _ = Describe("Printer", func() {
	line := livelog.Line{Time: at, Level: livelog.Info, Kind: "webhook", What: "answered", CallID: callID, StreamID: streamID,
		StreamName: "agent", Event: "mediaStreamStopped", Cause: "closed", Status: 204, LatencyMs: 3.2,
		Message: "mediaStreamStopped (closed) → 204 in 3.2ms"}

	It("writes text: time, kind, the stream's short id and name, the message", func() {
		Expect(render(livelog.Text, false, line)).To(Equal(
			"12:00:01.234  webhook  s-fedc3210 agent   mediaStreamStopped (closed) → 204 in 3.2ms\n"))
	})

	It("colours text only when asked, the message by its level", func() {
		Expect(render(livelog.Text, false, line)).NotTo(ContainSubstring("\033["))
		failed := line
		failed.Level = livelog.Error
		Expect(render(livelog.Text, true, failed)).To(ContainSubstring("\033[31m" + failed.Message + "\033[0m"))
	})

	It("writes JSON: one object per line, whole ids, never colour", func() {
		out := render(livelog.JSON, true, line, line)
		Expect(strings.Count(out, "\n")).To(Equal(2))
		Expect(out).NotTo(ContainSubstring("\033["))
		var m map[string]any
		Expect(json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &m)).To(Succeed())
		Expect(m).To(Equal(map[string]any{"time": at.Format(time.RFC3339Nano), "level": "info", "kind": "webhook", "what": "answered",
			"callId": callID, "streamId": streamID, "streamName": "agent", "event": "mediaStreamStopped", "cause": "closed",
			"status": 204.0, "latencyMs": 3.2, "message": "mediaStreamStopped (closed) → 204 in 3.2ms"}))
	})

	It("writes whole lines from many goroutines at once", func() {
		var b bytes.Buffer
		p := livelog.NewPrinter(&b, livelog.Text, false)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					p.Print(line)
				}
			})
		}
		wg.Wait()
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			Expect(l).To(HaveSuffix("→ 204 in 3.2ms"))
		}
	})
})

var _ = Describe("Journal", func() {
	It("sums a stream's end up from the entries before it: frames, skipped, close frames", func() {
		got := lines(
			emulator.Entry{Kind: emulator.KindHandshake, CallID: callID, StreamID: streamID, StreamName: "agent", Code: 101, Latency: 2 * time.Millisecond},
			emulator.Entry{Kind: emulator.KindPacing, CallID: callID, StreamID: streamID, Count: 3},
			emulator.Entry{Kind: emulator.KindClose, StreamID: streamID, By: emulator.ByEmulator, Code: 1000},
			emulator.Entry{Kind: emulator.KindClose, StreamID: streamID, By: emulator.ByApp, Code: 1000},
			emulator.Entry{Kind: emulator.KindMedia, StreamID: streamID, Track: "inbound", Count: 50},
			emulator.Entry{Kind: emulator.KindMedia, StreamID: streamID, Track: "outbound", Count: 47},
			emulator.Entry{Kind: emulator.KindEnding, CallID: callID, StreamID: streamID, StreamName: "agent", By: emulator.ByEmulator,
				Event: "mediaStreamStopped", Cause: "closed", Ending: emulator.EndHangup},
		)
		Expect(got).To(HaveLen(3))
		Expect(got[0]).To(And(HaveField("What", "connected"), HaveField("Message", "connected (101 in 2ms)")))
		Expect(got[1]).To(And(HaveField("What", "frames"), HaveField("Skipped", 3),
			HaveField("Message", "50 frames inbound + 47 outbound, 3 skipped")))
		Expect(got[2]).To(And(HaveField("What", "closed"), HaveField("Level", livelog.Info), HaveField("ClosedBy", "emulator"),
			HaveField("Message", "closed by emulator 1000 ⇄ 1000 (hangup)")))
	})

	It("says why a stream did not connect, with the ending it makes", func() {
		got := lines(emulator.Entry{Kind: emulator.KindHandshake, CallID: callID, StreamID: streamID, By: emulator.ByApp, Code: 404,
			Ending: emulator.EndHandshakeStatus, Error: "the websocket handshake failed: the destination answered HTTP 404 Not Found instead of 101 Switching Protocols",
			Message: "GET ws://app/stream failed: the destination answered HTTP 404 Not Found instead of 101 Switching Protocols"})
		Expect(got).To(HaveLen(1))
		Expect(got[0]).To(And(HaveField("What", "refused"), HaveField("Level", livelog.Error), HaveField("Status", 404),
			HaveField("Ending", "handshake-status"),
			HaveField("Message", "not connected: the websocket handshake failed: the destination answered HTTP 404 Not Found instead of 101 Switching Protocols")))
	})

	It("marks an ending that is the app's fault as an error, with its errorMessage", func() {
		got := lines(
			emulator.Entry{Kind: emulator.KindClose, StreamID: streamID, By: emulator.ByApp, Code: 4001},
			emulator.Entry{Kind: emulator.KindClose, StreamID: streamID, By: emulator.ByEmulator, Code: 4001},
			emulator.Entry{Kind: emulator.KindEnding, StreamID: streamID, By: emulator.ByApp, Event: "mediaStreamStopped",
				Cause: "connection-error", Ending: emulator.EndAppCloseCode, Error: "the websocket was closed by the destination with code 4001 (bye)",
				Message: "stream ended (app-close-code): close, cause connection-error: the websocket was closed by the destination with code 4001 (bye)"},
		)
		Expect(got).To(HaveLen(1), "no frame summary for a stream that sent none")
		Expect(got[0]).To(And(HaveField("Level", livelog.Error), HaveField("Message",
			"closed by app 4001 ⇄ 4001 (app-close-code): the websocket was closed by the destination with code 4001 (bye)")))
	})

	It("says why a webhook failed, and notes duplicates and retries", func() {
		got := lines(
			emulator.Entry{Kind: emulator.KindWebhook, CallID: callID, StreamID: streamID, Event: "mediaStreamStarted", Latency: 2 * time.Second,
				Error: "no answer within the callback timeout of 2s", Message: "POST http://app/events failed after 2s: no answer within the callback timeout of 2s"},
			emulator.Entry{Kind: emulator.KindWebhook, CallID: callID, Event: "disconnect", Cause: "hangup", Code: 200, Latency: 40 * time.Millisecond,
				Copy: 2, Attempt: 1, Message: "POST http://app/events → 200 in 40ms (deliberate duplicate)"},
			emulator.Entry{Kind: emulator.KindWebhook, CallID: callID, StreamID: streamID, Event: "mediaStreamStarted", Code: 204, Latency: time.Millisecond,
				Copy: 1, Attempt: 2, Message: "POST http://app/events → 204 in 1ms (retry after a connection failure)"},
		)
		Expect(got[0]).To(And(HaveField("What", "failed"), HaveField("Level", livelog.Error),
			HaveField("Message", "mediaStreamStarted → no answer after 2s: no answer within the callback timeout of 2s")))
		Expect(got[1]).To(And(HaveField("Level", livelog.Warn), HaveField("Duplicate", true),
			HaveField("Message", "disconnect (hangup) → 200 in 40ms (duplicate)")))
		Expect(got[2]).To(And(HaveField("Duplicate", false), HaveField("Message", "mediaStreamStarted → 204 in 1ms (retry)")))
	})

	It("prints only the first violation of a stream", func() {
		v := streamEntry(emulator.KindViolation)
		v.Message = "protocol violation: playAudio without media"
		Expect(lines(v, v, v)).To(HaveLen(1))
	})

	It("keeps what makes a line, not frames nor reads of the control API", func() {
		Expect(livelog.Keep(emulator.Entry{Kind: emulator.KindFrameIn})).To(BeFalse())
		Expect(livelog.Keep(emulator.Entry{Kind: emulator.KindFrameOut})).To(BeFalse())
		Expect(livelog.Keep(emulator.Entry{Kind: "control", Method: "GET", Message: "GET /control/calls → 200 OK"})).To(BeFalse())
		Expect(livelog.Keep(emulator.Entry{Kind: "control", Method: "POST", Message: "POST /control/calls → 201 Created"})).To(BeTrue())
		Expect(livelog.Keep(emulator.Entry{Kind: emulator.KindWebhook})).To(BeTrue())
	})
})

var _ = Describe("Follow", func() {
	It("hands on the entries kept, in order, as they are added, and those added before Stop", func(ctx SpecContext) {
		j := emulator.NewJournal()
		var mu sync.Mutex
		var got []string
		seen := func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), got...)
		}
		f := livelog.Follow(j, func(e emulator.Entry) bool { return e.Kind != emulator.KindFrameOut }, func(e emulator.Entry) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, e.Message)
		})
		j.Add(emulator.Entry{Kind: emulator.KindCall, Message: "one"})
		j.Add(emulator.Entry{Kind: emulator.KindFrameOut, Message: "a frame"})
		Eventually(ctx, seen).Should(Equal([]string{"one"}))
		j.Add(emulator.Entry{Kind: emulator.KindCall, Message: "two"})
		j.Add(emulator.Entry{Kind: emulator.KindCall, Message: "three"})
		f.Stop()
		Expect(seen()).To(Equal([]string{"one", "two", "three"}))
	})
})

var _ = Describe("Consumer", func() {
	It("makes a closed socket two lines: its frames, then how it closed", func() {
		got := livelog.Consumer(consumer.Activity{Time: at, Kind: consumer.ActivityClosed, Conn: 1, CallID: callID, StreamID: streamID,
			StreamName: "agent", Frames: map[string]int{"inbound": 50}, CloseCode: 1000, StopSeen: true})
		Expect(render(livelog.Text, false, got...)).To(Equal(
			"12:00:01.234  stream   s-fedc3210 agent   50 frames inbound, 0 bad\n" +
				"12:00:01.234  stream   s-fedc3210 agent   closed by the peer 1000\n"))
	})

	It("names a socket without a start by its number, and a refused webhook's reason", func() {
		got := livelog.Consumer(consumer.Activity{Time: at, Kind: consumer.ActivityClosed, Conn: 3, CloseCode: 1006})
		Expect(got[1]).To(And(HaveField("Level", livelog.Warn), HaveField("Message", "dropped without a close frame (1006)")))
		Expect(render(livelog.Text, false, got[1])).To(ContainSubstring("  #3  "))
		refused := livelog.Consumer(consumer.Activity{Time: at, Kind: consumer.ActivityWebhook, Method: "POST", Status: 401,
			Latency: 80 * time.Microsecond, Detail: "bad or missing credentials"})
		Expect(refused[0]).To(And(HaveField("What", "refused"), HaveField("Message", "POST → 401 in 80µs: bad or missing credentials")))
	})
})

var _ = DescribeTable("Short keeps a Bandwidth id's random head",
	func(id, want string) { Expect(livelog.Short(id)).To(Equal(want)) },
	Entry("a call id", callID, "c-0123abcd"),
	Entry("a stream id", streamID, "s-fedc3210"),
	Entry("anything else, whole", "agent-1", "agent-1"),
)
