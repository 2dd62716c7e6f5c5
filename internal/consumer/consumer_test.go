package consumer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
)

const specTimeout = 20 * time.Second

// cleanups run in a nested AfterEach, before the suite's leak check.
var cleanups []func()

func cleanupLater(f func()) { cleanups = append(cleanups, f) }

var _ = Describe("Consumer", func() {
	var client *http.Client

	BeforeEach(func() {
		tr := &http.Transport{}
		client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
		cleanupLater(tr.CloseIdleConnections)
	})

	AfterEach(func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	})

	Describe("the media socket", func() {
		It("records start, params and per-track frames for tracks=both, and completes the close handshake", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)

			start := newStart(protocol.TrackInbound, protocol.TrackOutbound)
			start.StreamParams = protocol.StreamParams{{Name: "tenant", Value: "acme"}, {Name: "token", Value: "t-1"}}
			send(conn, start)
			seq := 0
			for range 5 {
				seq++
				send(conn, media(protocol.TrackInbound, seq, frame(0x11)))
				seq++
				send(conn, media(protocol.TrackOutbound, seq, frame(0x22)))
			}
			send(conn, stopFor(start))

			data := closeNormally(conn)
			Expect(data).To(BeEmpty(), "without echo the consumer never writes data frames")

			rec := closedRecord(ctx, srv, start)
			Expect(rec.Errors).To(BeEmpty())
			Expect(rec.CallID).To(Equal(start.Metadata.CallID))
			Expect(rec.StreamName).To(Equal("agent"))
			Expect(rec.Tracks).To(HaveLen(2))
			Expect(rec.StreamParams).To(Equal(start.StreamParams))
			token, ok := rec.StreamParams.Get("token")
			Expect(ok).To(BeTrue())
			Expect(token).To(Equal("t-1"))
			Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 5, "outbound": 5}))
			Expect(rec.BytesByTrack).To(Equal(map[string]int{"inbound": 800, "outbound": 800}))
			Expect(rec.Bytes).To(Equal(1600))
			Expect(rec.StopSeen).To(BeTrue())
			Expect(rec.Stop.Metadata.StreamID).To(Equal(start.Metadata.StreamID))
			Expect(rec.CloseCode).To(Equal(websocket.CloseNormalClosure))
			Expect(rec.ClosedByConsumer).To(BeFalse())
		}, SpecTimeout(specTimeout))

		It("accepts sequence numbers counted per track as well as per stream", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound, protocol.TrackOutbound)
			send(conn, start)
			for i := 1; i <= 3; i++ {
				send(conn, media(protocol.TrackInbound, i, frame(1)))
				send(conn, media(protocol.TrackOutbound, i, frame(2)))
			}
			send(conn, stopFor(start))
			closeNormally(conn)

			rec := closedRecord(ctx, srv, start)
			Expect(rec.Errors).To(BeEmpty())
			Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 3, "outbound": 3}))
		}, SpecTimeout(specTimeout))

		It("records bad frames as errors and keeps the socket up", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			good := base64.StdEncoding.EncodeToString(frame(7))

			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"inbound","sequenceNumber":"1","payload":%q}`, good))
			Expect(conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})).To(Succeed())
			sendRaw(conn, `not json at all`)
			sendRaw(conn, `["media"]`)
			sendRaw(conn, `{"eventType":["media"]}`)
			sendRaw(conn, `{"eventType":"bogus"}`)
			sendRaw(conn, `{}`)
			// Unknown fields are ignored, in start and in media alike.
			raw, err := json.Marshal(start)
			Expect(err).NotTo(HaveOccurred())
			sendRaw(conn, strings.Replace(string(raw), `{`, `{"futureField":{"x":1},`, 1))
			sendRaw(conn, `{"eventType":"media","track":"inbound","sequenceNumber":"2","payload":"!!not base64!!"}`)
			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"inbound","sequenceNumber":3,"payload":%q}`, good))
			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"inbound","sequenceNumber":"three","payload":%q}`, good))
			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"sideways","sequenceNumber":"4","payload":%q}`, good))
			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"inbound","sequenceNumber":"10","payload":%q,"extra":true}`, good))
			sendRaw(conn, fmt.Sprintf(`{"eventType":"media","track":"inbound","sequenceNumber":"5","payload":%q}`, good))
			sendRaw(conn, `{"eventType":"media","track":"inbound","sequenceNumber":"11","payload":""}`)
			send(conn, start)

			// The socket is still up: a good frame still counts and the
			// stream ends normally.
			rec, err := srv.WaitStream(ctx, func(r consumer.StreamRecord) bool { return len(r.Errors) >= 14 })
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.Closed).To(BeFalse())
			send(conn, media(protocol.TrackInbound, 12, frame(7)))
			send(conn, stopFor(start))
			closeNormally(conn)

			rec = closedRecord(ctx, srv, start)
			Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 2}))
			Expect(rec.BadFrames).To(Equal(14))
			Expect(rec.Errors).To(HaveLen(14))
			Expect(rec.Errors).To(ContainElements(
				ContainSubstring("media before start"),
				ContainSubstring("binary frame"),
				ContainSubstring("not a JSON object"),
				ContainSubstring("not a JSON object: it is a JSON array"),
				ContainSubstring("eventType is a JSON array, not a string"),
				ContainSubstring(`unknown eventType "bogus"`),
				ContainSubstring("no eventType"),
				ContainSubstring("not valid base64"),
				ContainSubstring("sequenceNumber"),
				ContainSubstring(`"three" is not a non-negative integer`),
				ContainSubstring(`track "sideways" was not announced`),
				ContainSubstring("does not increase"),
				ContainSubstring("empty payload"),
				ContainSubstring("second start"),
			))
			Expect(rec.StopSeen).To(BeTrue())
			Expect(rec.CloseCode).To(Equal(websocket.CloseNormalClosure))
		}, SpecTimeout(specTimeout))

		It("records a start that breaks Bandwidth's formats but still uses its metadata", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			start.Metadata.CallID = "c-1"
			start.Metadata.Tracks[0].MediaFormat = protocol.MediaFormat{Encoding: "audio/PCMU", SampleRate: 16000}
			send(conn, start)
			send(conn, media(protocol.TrackInbound, 1, frame(1)))
			send(conn, stopFor(start))
			closeNormally(conn)

			rec := closedRecord(ctx, srv, start)
			Expect(rec.CallID).To(Equal("c-1"))
			Expect(rec.FramesByTrack).To(HaveKeyWithValue("inbound", 1))
			Expect(rec.Errors).To(ConsistOf(
				ContainSubstring("callId"),
				ContainSubstring("sampleRate 16000"),
			), "audio/PCMU is the documented spelling and is accepted")
		}, SpecTimeout(specTimeout))

		It("flags a 1000 close without stop, and records an abnormal closure as 1006", func(ctx SpecContext) {
			srv := startServer(nil)

			noStop := mustDial(ctx, srv.WebSocketURL(), nil)
			s1 := newStart(protocol.TrackInbound)
			send(noStop, s1)
			closeNormally(noStop)
			rec := closedRecord(ctx, srv, s1)
			Expect(rec.Errors).To(ConsistOf(ContainSubstring("without a stop")))

			dropped := mustDial(ctx, srv.WebSocketURL(), nil)
			s2 := newStart(protocol.TrackInbound)
			send(dropped, s2)
			send(dropped, stopFor(s2))
			Expect(dropped.UnderlyingConn().Close()).To(Succeed()) // no close frame
			rec = closedRecord(ctx, srv, s2)
			Expect(rec.CloseCode).To(Equal(websocket.CloseAbnormalClosure))
			Expect(rec.Errors).To(BeEmpty())
		}, SpecTimeout(specTimeout))

		It("closes with 1009 on a message over the read limit and 1002 on a broken frame", func(ctx SpecContext) {
			srv := startServer(&consumer.Options{ReadLimit: 1024})

			big := mustDial(ctx, srv.WebSocketURL(), nil)
			s1 := newStart(protocol.TrackInbound)
			send(big, s1)
			sendRaw(big, strings.Repeat("x", 4096))
			Expect(big.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
			_, _, err := big.ReadMessage()
			Expect(websocket.IsCloseError(err, websocket.CloseMessageTooBig)).To(BeTrue(), "got %v", err)
			rec := closedRecord(ctx, srv, s1)
			Expect(rec.CloseCode).To(Equal(websocket.CloseMessageTooBig))
			Expect(rec.Errors).To(ConsistOf(ContainSubstring("read limit")))

			broken := mustDial(ctx, srv.WebSocketURL(), nil)
			s2 := newStart(protocol.TrackInbound)
			send(broken, s2)
			// A masked, empty text frame with RSV1 set, which no extension
			// was negotiated for.
			_, err = broken.UnderlyingConn().Write([]byte{0x80 | 0x40 | 0x1, 0x80, 1, 2, 3, 4})
			Expect(err).NotTo(HaveOccurred())
			Expect(broken.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
			_, _, err = broken.ReadMessage()
			Expect(websocket.IsCloseError(err, websocket.CloseProtocolError)).To(BeTrue(), "got %v", err)
			rec = closedRecord(ctx, srv, s2)
			Expect(rec.CloseCode).To(Equal(websocket.CloseProtocolError))
			Expect(rec.Errors).To(ConsistOf(ContainSubstring("protocol error")))
		}, SpecTimeout(specTimeout))

		It("handles many concurrent streams", func(ctx SpecContext) {
			srv := startServer(nil)
			const n = 8
			starts := make([]protocol.StartMessage, n)
			var wg sync.WaitGroup
			for i := range n {
				starts[i] = newStart(protocol.TrackInbound)
				conn := mustDial(ctx, srv.WebSocketURL(), nil)
				wg.Go(func() {
					defer GinkgoRecover()
					send(conn, starts[i])
					for j := 1; j <= 20; j++ {
						send(conn, media(protocol.TrackInbound, j, frame(byte(i))))
					}
					send(conn, stopFor(starts[i]))
					closeNormally(conn)
				})
			}
			wg.Wait()
			for _, st := range starts {
				rec := closedRecord(ctx, srv, st)
				Expect(rec.FramesByTrack).To(Equal(map[string]int{"inbound": 20}))
				Expect(rec.Errors).To(BeEmpty())
			}
			Expect(srv.Streams()).To(HaveLen(n))
		}, SpecTimeout(specTimeout))
	})

	Describe("WebSocket authentication", func() {
		It("answers 401 without the right credentials and accepts the right ones", func(ctx SpecContext) {
			srv := startServer(&consumer.Options{WSUser: "bw", WSPassword: "s3cret"})

			for _, h := range []http.Header{nil, basic("bw", "wrong"), basic("other", "s3cret")} {
				conn, resp, err := dial(ctx, srv.WebSocketURL(), h)
				Expect(conn).To(BeNil())
				Expect(err).To(MatchError(websocket.ErrBadHandshake))
				Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
				Expect(resp.Header.Get("WWW-Authenticate")).To(HavePrefix("Basic"))
			}
			Expect(srv.Streams()).To(BeEmpty(), "a refused handshake is not a stream")

			conn := mustDial(ctx, srv.WebSocketURL()+"?token=abc", basic("bw", "s3cret"))
			start := newStart(protocol.TrackInbound)
			send(conn, start)
			send(conn, stopFor(start))
			closeNormally(conn)
			rec := closedRecord(ctx, srv, start)
			Expect(rec.AuthUser).To(Equal("bw"))
			Expect(rec.RawQuery).To(Equal("token=abc"))
		}, SpecTimeout(specTimeout))
	})

	Describe("echo", func() {
		It("plays inbound audio back as valid playAudio when the URL has echo=1, never the outbound track", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL()+"?echo=1", nil)
			start := newStart(protocol.TrackInbound, protocol.TrackOutbound)
			send(conn, start)
			send(conn, media(protocol.TrackInbound, 1, frame(0xA1)))
			send(conn, media(protocol.TrackOutbound, 2, frame(0xB2)))
			send(conn, media(protocol.TrackInbound, 3, frame(0xC3)))

			for _, want := range [][]byte{frame(0xA1), frame(0xC3)} {
				Expect(conn.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
				mt, data, err := conn.ReadMessage()
				Expect(err).NotTo(HaveOccurred())
				msg, pa, err := protocol.ParseAppMessage(mt == websocket.TextMessage, data)
				Expect(err).NotTo(HaveOccurred())
				Expect(msg.EventType).To(Equal(protocol.EventPlayAudio))
				Expect(msg.Media.ContentType).To(Equal(protocol.ContentTypePCMU))
				Expect(pa.Audio).To(Equal(want))
			}

			send(conn, stopFor(start))
			data := closeNormally(conn)
			Expect(data).To(BeEmpty(), "the outbound track is not echoed")
			rec := closedRecord(ctx, srv, start)
			Expect(rec.Echo).To(BeTrue())
			Expect(rec.EchoedFrames).To(Equal(2))
			Expect(rec.Errors).To(BeEmpty())
		}, SpecTimeout(specTimeout))

		It("echoes on every stream with Options.Echo", func(ctx SpecContext) {
			srv := startServer(&consumer.Options{Echo: true})
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			send(conn, start)
			send(conn, media(protocol.TrackInbound, 1, frame(9)))
			send(conn, stopFor(start))
			data := closeNormally(conn)
			Expect(data).To(HaveLen(1))
			_, pa, err := protocol.ParseAppMessage(true, data[0])
			Expect(err).NotTo(HaveOccurred())
			Expect(pa.Audio).To(Equal(frame(9)))
		}, SpecTimeout(specTimeout))
	})

	Describe("webhooks", func() {
		It("answers POST and GET with 204, records each event once and counts duplicates", func(ctx SpecContext) {
			srv := startServer(nil)
			started := newEvent(protocol.EventMediaStreamStarted)
			stopped := newEvent(protocol.EventMediaStreamStopped)
			stopped.Cause = protocol.CauseClosed
			stopped.MediaStream.Duration = protocol.DurationPtr(1500 * time.Millisecond)
			disconnect := newEvent(protocol.EventDisconnect)
			disconnect.MediaStream = nil
			disconnect.Cause = protocol.DisconnectHangup

			expectStatus(ctx, client, postJSON(srv.EventsURL(), started), http.StatusNoContent)
			expectStatus(ctx, client, getQuery(srv.EventsURL(), stopped), http.StatusNoContent)
			expectStatus(ctx, client, postJSON(srv.EventsURL(), disconnect), http.StatusNoContent)
			// Bandwidth's retry after a lost answer: same payload again.
			expectStatus(ctx, client, postJSON(srv.EventsURL(), started), http.StatusNoContent)
			expectStatus(ctx, client, getQuery(srv.EventsURL(), stopped), http.StatusNoContent)

			evs := srv.Events()
			Expect(evs).To(HaveLen(3))
			Expect(evs[0].Event.EventType).To(Equal(protocol.EventMediaStreamStarted))
			Expect(evs[0].Method).To(Equal(http.MethodPost))
			Expect(evs[0].Duplicates).To(Equal(1))
			Expect(evs[1].Event.EventType).To(Equal(protocol.EventMediaStreamStopped))
			Expect(evs[1].Method).To(Equal(http.MethodGet))
			Expect(evs[1].Event.Cause).To(Equal(protocol.CauseClosed))
			Expect(evs[1].Event.MediaStream.ID).To(Equal(stopped.MediaStream.ID))
			Expect(evs[1].Event.MediaStream.Duration.Duration).To(Equal(1500 * time.Millisecond))
			Expect(evs[1].Duplicates).To(Equal(1))
			Expect(evs[2].Event.EventType).To(Equal(protocol.EventDisconnect))
			Expect(evs[2].Duplicates).To(BeZero())

			got, err := srv.WaitEvent(ctx, func(e consumer.EventRecord) bool { return e.Event.EventType == protocol.EventDisconnect })
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Event.Cause).To(Equal(protocol.DisconnectHangup))
		}, SpecTimeout(specTimeout))

		It("answers 400 to bodies that are not events and 405 to other methods", func(ctx SpecContext) {
			srv := startServer(nil)
			for _, body := range []string{"not json", "{}", `{"eventType":"mediaStreamStarted","eventTime":"yesterday"}`} {
				req, err := http.NewRequest(http.MethodPost, srv.EventsURL(), strings.NewReader(body))
				Expect(err).NotTo(HaveOccurred())
				expectStatus(ctx, client, req, http.StatusBadRequest)
			}
			req, err := http.NewRequest(http.MethodGet, srv.EventsURL(), nil)
			Expect(err).NotTo(HaveOccurred())
			expectStatus(ctx, client, req, http.StatusBadRequest)
			req, err = http.NewRequest(http.MethodPut, srv.EventsURL(), nil)
			Expect(err).NotTo(HaveOccurred())
			expectStatus(ctx, client, req, http.StatusMethodNotAllowed)
			Expect(srv.Events()).To(BeEmpty())
		}, SpecTimeout(specTimeout))

		It("requires the webhook credentials when configured", func(ctx SpecContext) {
			srv := startServer(&consumer.Options{EventUser: "hook", EventPassword: "pw"})
			ev := newEvent(protocol.EventMediaStreamStarted)

			expectStatus(ctx, client, postJSON(srv.EventsURL(), ev), http.StatusUnauthorized)
			expectStatus(ctx, client, getQuery(srv.EventsURL(), ev), http.StatusUnauthorized)
			wrong := postJSON(srv.EventsURL(), ev)
			wrong.SetBasicAuth("hook", "nope")
			expectStatus(ctx, client, wrong, http.StatusUnauthorized)
			Expect(srv.Events()).To(BeEmpty())

			right := getQuery(srv.EventsURL(), ev)
			right.SetBasicAuth("hook", "pw")
			expectStatus(ctx, client, right, http.StatusNoContent)
			Expect(srv.Events()).To(ConsistOf(HaveField("AuthUser", "hook")))
		}, SpecTimeout(specTimeout))
	})

	Describe("health and state", func() {
		It("reports counts on /health and everything on /state", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			start.StreamParams = protocol.StreamParams{{Name: "b", Value: "2"}, {Name: "a", Value: "1"}}
			send(conn, start)
			send(conn, media(protocol.TrackInbound, 1, frame(3)))
			send(conn, stopFor(start))
			closeNormally(conn)
			closedRecord(ctx, srv, start)
			expectStatus(ctx, client, postJSON(srv.EventsURL(), newEvent(protocol.EventMediaStreamStarted)), http.StatusNoContent)

			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.HealthURL(), nil)
			Expect(err).NotTo(HaveOccurred())
			status, body := do(client, req)
			Expect(status).To(Equal(http.StatusOK))
			Expect(body).To(MatchJSON(`{"status":"ok","streams":1,"events":1}`))

			req, err = http.NewRequestWithContext(ctx, http.MethodGet, srv.StateURL(), nil)
			Expect(err).NotTo(HaveOccurred())
			status, body = do(client, req)
			Expect(status).To(Equal(http.StatusOK))
			var state consumer.State
			Expect(json.Unmarshal(body, &state)).To(Succeed())
			Expect(state.Streams).To(HaveLen(1))
			Expect(state.Streams[0].StreamID).To(Equal(start.Metadata.StreamID))
			Expect(state.Streams[0].StreamParams).To(Equal(start.StreamParams), "parameters keep their order")
			Expect(state.Streams[0].FramesByTrack).To(HaveKeyWithValue("inbound", 1))
			Expect(state.Streams[0].CloseCode).To(Equal(websocket.CloseNormalClosure))
			Expect(state.Events).To(HaveLen(1))
			Expect(state.Events[0].Event.EventType).To(Equal(protocol.EventMediaStreamStarted))
		}, SpecTimeout(specTimeout))
	})

	Describe("Observe", func() {
		// observed starts a consumer with opts whose activities are kept,
		// and returns it with a function listing them so far.
		observed := func(opts consumer.Options) (*consumer.Server, func() []consumer.Activity) {
			var mu sync.Mutex
			var seen []consumer.Activity
			srv := startServer(&opts)
			srv.Observe(func(a consumer.Activity) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, a)
			})
			return srv, func() []consumer.Activity {
				mu.Lock()
				defer mu.Unlock()
				return append([]consumer.Activity(nil), seen...)
			}
		}
		kinds := func(as []consumer.Activity) []consumer.ActivityKind {
			var out []consumer.ActivityKind
			for _, a := range as {
				out = append(out, a.Kind)
			}
			return out
		}

		It("reports a stream's start, violations, stop and close as they happen, with its ids and frames", func(ctx SpecContext) {
			srv, seen := observed(consumer.Options{})
			conn := mustDial(ctx, srv.WebSocketURL()+"?token=t0ps3cret", nil)
			start := newStart(protocol.TrackInbound, protocol.TrackOutbound)
			send(conn, start)
			Eventually(ctx, func() []consumer.ActivityKind { return kinds(seen()) }).Should(Equal([]consumer.ActivityKind{consumer.ActivityStarted}))
			send(conn, media(protocol.TrackInbound, 1, frame(1)))
			send(conn, media(protocol.TrackOutbound, 2, frame(2)))
			send(conn, media(protocol.TrackInbound, 3, frame(3)))
			sendRaw(conn, `{"eventType":"bogus"}`)
			send(conn, stopFor(start))
			closeNormally(conn)
			closedRecord(ctx, srv, start)

			Eventually(ctx, func() []consumer.ActivityKind { return kinds(seen()) }).Should(Equal([]consumer.ActivityKind{
				consumer.ActivityStarted, consumer.ActivityViolation, consumer.ActivityStopped, consumer.ActivityClosed}))
			as := seen()
			for _, a := range as {
				Expect(a.Conn).To(Equal(1))
				Expect(a.CallID).To(Equal(start.Metadata.CallID))
				Expect(a.StreamID).To(Equal(start.Metadata.StreamID))
				Expect(a.StreamName).To(Equal("agent"))
				Expect(a.Time).NotTo(BeZero())
				Expect(fmt.Sprintf("%+v", a)).NotTo(ContainSubstring("t0ps3cret"), "the destination's query may carry a token")
			}
			Expect(as[0].Tracks).To(Equal([]string{protocol.TrackInbound, protocol.TrackOutbound}))
			Expect(as[1].Detail).To(Equal(`unknown eventType "bogus" (want start, media or stop)`))
			Expect(as[3].Frames).To(Equal(map[string]int{"inbound": 2, "outbound": 1}))
			Expect(as[3].BadFrames).To(Equal(1))
			Expect(as[3].CloseCode).To(Equal(websocket.CloseNormalClosure))
			Expect(as[3].ClosedByConsumer).To(BeFalse())
			Expect(as[3].StopSeen).To(BeTrue())
		}, SpecTimeout(specTimeout))

		It("reports every webhook with its answer, and refused handshakes, with no credential", func(ctx SpecContext) {
			srv, seen := observed(consumer.Options{WSUser: "bw", WSPassword: "ws-s3cret", EventUser: "bw", EventPassword: "ev-s3cret"})
			_, resp, err := dial(ctx, srv.WebSocketURL(), basic("bw", "wrong"))
			Expect(err).To(MatchError(websocket.ErrBadHandshake))
			Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))

			stopped := newEvent(protocol.EventMediaStreamStopped)
			stopped.Cause = protocol.CauseClosed
			good := postJSON(srv.EventsURL(), stopped)
			good.SetBasicAuth("bw", "ev-s3cret")
			expectStatus(ctx, client, good, http.StatusNoContent)
			again := postJSON(srv.EventsURL(), stopped)
			again.SetBasicAuth("bw", "ev-s3cret")
			expectStatus(ctx, client, again, http.StatusNoContent)
			expectStatus(ctx, client, postJSON(srv.EventsURL(), stopped), http.StatusUnauthorized)

			Eventually(ctx, func() []consumer.ActivityKind { return kinds(seen()) }).Should(HaveLen(4))
			as := seen()
			Expect(as[0]).To(And(HaveField("Kind", consumer.ActivityRefused), HaveField("Status", http.StatusUnauthorized),
				HaveField("Detail", "bad or missing credentials")))
			Expect(as[1]).To(And(HaveField("Kind", consumer.ActivityWebhook), HaveField("EventType", protocol.EventMediaStreamStopped),
				HaveField("Cause", protocol.CauseClosed), HaveField("Status", http.StatusNoContent), HaveField("Duplicate", false),
				HaveField("CallID", stopped.CallID), HaveField("StreamID", stopped.MediaStream.ID), HaveField("Method", http.MethodPost)))
			Expect(as[2]).To(And(HaveField("Kind", consumer.ActivityWebhook), HaveField("Duplicate", true), HaveField("Status", http.StatusNoContent)))
			Expect(as[3]).To(And(HaveField("Kind", consumer.ActivityWebhook), HaveField("Status", http.StatusUnauthorized),
				HaveField("Detail", "bad or missing credentials"), HaveField("EventType", "")))
			for _, a := range as {
				Expect(fmt.Sprintf("%+v", a)).NotTo(Or(ContainSubstring("s3cret"), ContainSubstring("Basic")))
			}
		}, SpecTimeout(specTimeout))
	})

	Describe("Close", func() {
		It("closes a live socket with 1001, completes the handshake and refuses new ones", func(ctx SpecContext) {
			srv := startServer(nil)
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			send(conn, start)
			_, err := srv.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamID == start.Metadata.StreamID })
			Expect(err).NotTo(HaveOccurred())

			// Keep reading so gorilla answers the consumer's close frame.
			readErr := make(chan error, 1)
			go func() {
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						readErr <- err
						return
					}
				}
			}()

			Expect(srv.Close()).To(Succeed())
			Eventually(readErr).WithTimeout(5 * time.Second).Should(Receive(Satisfy(func(err error) bool {
				return websocket.IsCloseError(err, websocket.CloseGoingAway)
			})))
			recs := srv.Streams()
			Expect(recs).To(HaveLen(1))
			Expect(recs[0].Closed).To(BeTrue(), "Close waits for the handler")
			Expect(recs[0].ClosedByConsumer).To(BeTrue())
			Expect(recs[0].CloseCode).To(Equal(websocket.CloseGoingAway))

			_, _, err = dial(ctx, srv.WebSocketURL(), nil)
			Expect(err).To(HaveOccurred())
		}, SpecTimeout(specTimeout))

		It("returns even when the peer never answers the close", func(ctx SpecContext) {
			srv := startServer(&consumer.Options{CloseTimeout: 200 * time.Millisecond})
			conn := mustDial(ctx, srv.WebSocketURL(), nil)
			start := newStart(protocol.TrackInbound)
			send(conn, start)
			_, err := srv.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamID == start.Metadata.StreamID })
			Expect(err).NotTo(HaveOccurred())

			began := time.Now()
			Expect(srv.Close()).To(Succeed()) // the client is not reading
			Expect(time.Since(began)).To(BeNumerically("<", 3*time.Second))
			recs := srv.Streams()
			Expect(recs).To(HaveLen(1))
			Expect(recs[0].Closed).To(BeTrue())
			Expect(recs[0].CloseCode).To(Equal(websocket.CloseGoingAway))
		}, SpecTimeout(specTimeout))
	})
})

// --- helpers ---

func startServer(opts *consumer.Options) *consumer.Server {
	srv, err := consumer.Start("127.0.0.1:0", opts)
	Expect(err).NotTo(HaveOccurred())
	cleanupLater(func() { Expect(srv.Close()).To(Succeed()) })
	return srv
}

func dial(ctx context.Context, url string, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, h)
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	if conn != nil {
		cleanupLater(func() { _ = conn.Close() })
	}
	return conn, resp, err
}

func mustDial(ctx context.Context, url string, h http.Header) *websocket.Conn {
	conn, _, err := dial(ctx, url, h)
	Expect(err).NotTo(HaveOccurred())
	return conn
}

func basic(user, password string) http.Header {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, password)
	return http.Header{"Authorization": req.Header["Authorization"]}
}

func send(conn *websocket.Conn, v any) {
	GinkgoHelper()
	Expect(conn.WriteJSON(v)).To(Succeed())
}

func sendRaw(conn *websocket.Conn, s string) {
	GinkgoHelper()
	Expect(conn.WriteMessage(websocket.TextMessage, []byte(s))).To(Succeed())
}

// closeNormally completes a normal close handshake, started as the
// emulator starts it, and returns the data frames the consumer wrote
// before its close frame.
func closeNormally(conn *websocket.Conn) [][]byte {
	GinkgoHelper()
	data, err := closeHandshake(conn, websocket.CloseNormalClosure)
	Expect(websocket.IsCloseError(err, websocket.CloseNormalClosure)).To(BeTrue(), "got %v", err)
	return data
}

// closedRecord waits until the stream start began has closed and returns
// the consumer's record of it.
func closedRecord(ctx context.Context, srv *consumer.Server, start protocol.StartMessage) consumer.StreamRecord {
	GinkgoHelper()
	rec, err := srv.WaitStreamClosed(ctx, start.Metadata.StreamID)
	Expect(err).NotTo(HaveOccurred())
	return rec
}

// closeHandshake sends a close frame with code and reads until the
// connection ends, returning any data frames read on the way and the final
// error (a *websocket.CloseError carrying the consumer's answer).
func closeHandshake(conn *websocket.Conn, code int) ([][]byte, error) {
	GinkgoHelper()
	Expect(conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(5*time.Second))).To(Succeed())
	Expect(conn.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
	var data [][]byte
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return data, err
		}
		data = append(data, msg)
	}
}

func newStart(tracks ...string) protocol.StartMessage {
	md := protocol.Metadata{
		AccountID:  "9901234",
		CallID:     protocol.NewCallID(),
		StreamID:   protocol.NewStreamID(),
		StreamName: "agent",
	}
	for _, t := range tracks {
		md.Tracks = append(md.Tracks, protocol.TrackInfo{Name: t, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000}})
	}
	return protocol.StartMessage{EventType: protocol.EventStart, Metadata: md}
}

func stopFor(start protocol.StartMessage) protocol.StopMessage {
	return protocol.StopMessage{EventType: protocol.EventStop, Metadata: start.Metadata}
}

// frame is 20 ms of PCMU: 160 bytes.
func frame(b byte) []byte { return bytes.Repeat([]byte{b}, 160) }

func media(track string, seq int, audio []byte) protocol.MediaMessage {
	return protocol.MediaMessage{
		EventType:      protocol.EventMedia,
		Track:          track,
		SequenceNumber: fmt.Sprint(seq),
		Payload:        base64.StdEncoding.EncodeToString(audio),
	}
}

func newEvent(eventType string) *protocol.Event {
	now := time.Now()
	callID := protocol.NewCallID()
	return &protocol.Event{
		AccountID:     "9901234",
		AnswerTime:    protocol.TimePtr(now.Add(-time.Second)),
		ApplicationID: protocol.NewUUID(),
		CallID:        callID,
		CallURL:       protocol.CallURL("9901234", callID),
		Direction:     protocol.DirectionInbound,
		EventTime:     protocol.NewTime(now),
		EventType:     eventType,
		From:          "+15551230001",
		To:            "+15551230002",
		StartTime:     protocol.NewTime(now.Add(-2 * time.Second)),
		MediaStream: &protocol.MediaStream{
			Destination: "wss://app.example/media",
			ID:          protocol.NewStreamID(),
			Name:        "agent",
			StartTime:   protocol.NewTime(now.Add(-time.Second)),
			Tracks:      []string{protocol.TrackInbound},
			Type:        protocol.StreamTypeWebSocket,
		},
	}
}

func postJSON(url string, ev *protocol.Event) *http.Request {
	GinkgoHelper()
	raw, err := json.Marshal(ev)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	return req
}

func getQuery(url string, ev *protocol.Event) *http.Request {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, url+"?"+ev.Query().Encode(), nil)
	Expect(err).NotTo(HaveOccurred())
	return req
}

func do(client *http.Client, req *http.Request) (int, []byte) {
	GinkgoHelper()
	r := apptest.Fetch(client, req)
	return r.Status, r.Body
}

func expectStatus(ctx context.Context, client *http.Client, req *http.Request, want int) {
	GinkgoHelper()
	status, body := do(client, req.WithContext(ctx))
	Expect(status).To(Equal(want), "body: %s", body)
	if want == http.StatusNoContent {
		Expect(body).To(BeEmpty())
	}
	if want == http.StatusUnauthorized {
		Expect(body).NotTo(BeEmpty())
	}
}
