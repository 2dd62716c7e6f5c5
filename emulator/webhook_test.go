package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/suite/specs"
)

var _ = Describe("webhooks", func() {
	var (
		app    *apptest.WS
		events *apptest.Hooks
	)
	BeforeEach(func() {
		app = apptest.NewWS()
		events = apptest.NewHooks()
	})

	// oneStream runs a 40 ms stream that stops, with the given spec tweaks.
	oneStream := func(ctx SpecContext, o *emulator.Options, cs *emulator.CallSpec, spec emulator.StreamSpec) (*emulator.Call, *emulator.StreamResult) {
		e := apptest.NewEmulator(o)
		call := specs.Call(e, cs)
		spec.Destination, spec.Pace = app.URL(), emulator.Fast
		if spec.StreamEventURL == "" {
			spec.StreamEventURL = events.EventsURL()
		}
		s := specs.Stream(ctx, call, spec)
		Expect(s.Media(ctx, 40*time.Millisecond)).To(Succeed())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		return call, res
	}

	It("carry every documented field in Bandwidth's formats", func(ctx SpecContext) {
		call, res := oneStream(ctx, &emulator.Options{AccountID: "55555555"}, &emulator.CallSpec{From: "+15551112222", To: "+15553334444", Direction: "outbound"},
			emulator.StreamSpec{Name: "example_stream", Tracks: "both"})
		hooks := events.Requests()
		Expect(hooks).To(HaveLen(2))
		for i, h := range hooks {
			Expect(h.Method).To(Equal("POST"))
			var raw map[string]any
			Expect(json.Unmarshal(h.Body, &raw)).To(Succeed())
			want := []string{"accountId", "answerTime", "applicationId", "callId", "callUrl", "direction", "eventTime", "eventType", "from", "mediaStream", "startTime", "to"}
			if i == 1 {
				want = append(want, "cause")
			}
			Expect(raw).To(HaveLen(len(want)), "exactly the documented fields: %s", h.Body)
			for _, k := range want {
				Expect(raw).To(HaveKey(k))
			}
			Expect(raw).NotTo(HaveKey("tag"), "tag is absent when unset")
			Expect(raw).NotTo(HaveKey("errorMessage"), "no errorMessage with cause closed")
			Expect(raw["accountId"]).To(Equal("55555555"))
			Expect(raw["callId"]).To(Equal(call.ID))
			Expect(protocol.IsCallID(call.ID)).To(BeTrue())
			Expect(raw["callUrl"]).To(Equal("https://voice.bandwidth.com/api/v2/accounts/55555555/calls/" + call.ID))
			Expect(raw["applicationId"]).To(MatchRegexp(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`))
			Expect(raw["direction"]).To(Equal("outbound"))
			Expect(raw["from"]).To(Equal("+15551112222"))
			Expect(raw["to"]).To(Equal("+15553334444"))
			for _, k := range []string{"answerTime", "eventTime", "startTime"} {
				Expect(raw[k]).To(MatchRegexp(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`))
			}
			ms := raw["mediaStream"].(map[string]any)
			Expect(ms["destination"]).To(Equal(app.URL()))
			Expect(ms["name"]).To(Equal("example_stream"))
			Expect(protocol.IsStreamID(ms["id"].(string))).To(BeTrue())
			Expect(ms["tracks"]).To(Equal([]any{"inbound", "outbound"}))
			Expect(ms["type"]).To(Equal("WebSocket"))
			Expect(ms["startTime"]).To(MatchRegexp(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`))
			if i == 0 {
				Expect(raw["eventType"]).To(Equal("mediaStreamStarted"))
				Expect(ms).NotTo(HaveKey("duration"))
			} else {
				Expect(raw["eventType"]).To(Equal("mediaStreamStopped"))
				Expect(raw["cause"]).To(Equal("closed"))
				Expect(ms["duration"]).To(Equal("PT0.04S"))
			}
		}
		Expect(res.Deliveries).To(HaveLen(2))
		Expect(res.Deliveries[0].Event.EventType).To(Equal("mediaStreamStarted"))
		Expect(res.Deliveries[1].Status()).To(Equal(204))
		Expect(res.Deliveries[1].Final().Latency).To(BeNumerically(">", 0))
	})

	It("carry the tag when the call has one", func(ctx SpecContext) {
		oneStream(ctx, nil, &emulator.CallSpec{Tag: "order-17"}, emulator.StreamSpec{})
		Expect(events.Requests()[1].Event.Tag).To(Equal("order-17"))
	})

	It("go as GET with the fields in the query", func(ctx SpecContext) {
		oneStream(ctx, nil, nil, emulator.StreamSpec{Name: "q", StreamEventMethod: "GET", Tracks: "both"})
		h := events.Requests()[1]
		Expect(h.Method).To(Equal("GET"))
		Expect(h.Body).To(BeEmpty())
		Expect(h.Query["eventType"]).To(Equal([]string{"mediaStreamStopped"}))
		Expect(h.Query["mediaStream.name"]).To(Equal([]string{"q"}))
		Expect(h.Query["mediaStream.tracks"]).To(Equal([]string{"inbound", "outbound"}))
		Expect(h.Event.MediaStream.Duration.Duration).To(Equal(40 * time.Millisecond))
	})

	It("authenticate with Basic credentials, which the journal never shows", func(ctx SpecContext) {
		call, _ := oneStream(ctx, nil, nil, emulator.StreamSpec{Username: "hookuser", Password: "s3cret-hook",
			DestinationUsername: "wsuser", DestinationPassword: "s3cret-ws"})
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("hookuser:s3cret-hook"))
		for _, h := range events.Requests() {
			Expect(h.Header.Get("Authorization")).To(Equal(want))
		}
		Expect(app.Streams()[0].Header.Get("Authorization")).To(Equal("Basic " + base64.StdEncoding.EncodeToString([]byte("wsuser:s3cret-ws"))))
		var buf strings.Builder
		Expect(call.Emulator().Journal().WriteJSONLines(&buf)).To(Succeed())
		Expect(buf.String()).NotTo(SatisfyAny(ContainSubstring("s3cret"), ContainSubstring(base64.StdEncoding.EncodeToString([]byte("wsuser:s3cret-ws")))))
		Expect(buf.String()).To(ContainSubstring("Authorization: Basic [redacted]"))
	})

	It("resolve a relative streamEventUrl against the BXML URL", func(ctx SpecContext) {
		oneStream(ctx, nil, &emulator.CallSpec{BaseURL: events.URL("/bxml/answer")}, emulator.StreamSpec{StreamEventURL: "../events?x=1"})
		Expect(events.Requests()).To(HaveLen(2))
		Expect(events.Requests()[0].Path).To(Equal("/events"))
		Expect(events.Requests()[0].Query["x"]).To(Equal([]string{"1"}))
	})

	It("refuse a relative streamEventUrl with nothing to resolve it against", func(ctx SpecContext) {
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		_, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: "/events"})
		Expect(err).To(MatchError(ContainSubstring("relative")))
		var se *emulator.SpecError
		Expect(err).To(BeAssignableToTypeOf(se))
	})

	It("are retried once on a connection failure", func(ctx SpecContext) {
		events.Answer(apptest.Reply{Drop: true}, apptest.Reply{})
		_, res := oneStream(ctx, nil, nil, emulator.StreamSpec{})
		started := res.Deliveries[0]
		Expect(started.Attempts).To(HaveLen(2))
		Expect(started.Attempts[0].Error).NotTo(BeEmpty())
		Expect(started.Attempts[0].NoAnswer).To(Equal(emulator.NoAnswerClosed))
		Expect(started.Attempts[0].Status).To(BeZero())
		Expect(started.Attempts[1].Status).To(Equal(204))
		Expect(started.Attempts[1].NoAnswer).To(BeEmpty())
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStarted", "mediaStreamStopped"}))
	})

	It("are not retried on an error status", func(ctx SpecContext) {
		events.Answer(apptest.Reply{Status: 500})
		_, res := oneStream(ctx, nil, nil, emulator.StreamSpec{})
		Expect(res.Deliveries).To(HaveLen(2))
		Expect(res.Deliveries[1].Attempts).To(HaveLen(1))
		Expect(res.Deliveries[1].Status()).To(Equal(500))
		Expect(res.Failed()).To(BeTrue())
		Expect(events.EventTypes()).To(HaveLen(2))
	})

	It("fail after the callback timeout, without a retry", func(ctx SpecContext) {
		events.Answer(apptest.Reply{Delay: time.Minute})
		_, res := oneStream(ctx, &emulator.Options{Timeouts: emulator.Timeouts{Callback: 150 * time.Millisecond}}, nil, emulator.StreamSpec{})
		for _, d := range res.Deliveries {
			Expect(d.Attempts).To(HaveLen(1))
			Expect(d.Delivered()).To(BeFalse())
			Expect(d.Final().Error).To(Equal("no answer within the callback timeout of 150ms"))
			Expect(d.Final().NoAnswer).To(Equal(emulator.NoAnswerTimeout))
		}
		Expect(res.Failed()).To(BeTrue())
	})

	It("use the call's callbackTimeout", func(ctx SpecContext) {
		events.Answer(apptest.Reply{Delay: time.Minute})
		_, res := oneStream(ctx, nil, &emulator.CallSpec{CallbackTimeout: 100 * time.Millisecond}, emulator.StreamSpec{})
		Expect(res.Deliveries[0].Final().Error).To(ContainSubstring("100ms"))
	})

	It("say why no answer came when nothing listens or the certificate is not trusted", func(ctx SpecContext) {
		_, res := oneStream(ctx, nil, nil, emulator.StreamSpec{StreamEventURL: "http://" + apptest.RefusedAddr() + "/events"})
		Expect(res.Deliveries[0].Attempts).To(HaveLen(2), "a refused connection is retried")
		Expect(res.Deliveries[0].Final()).To(HaveField("NoAnswer", emulator.NoAnswerRefused))

		untrusted := apptest.NewTLSHooks()
		_, res = oneStream(ctx, nil, nil, emulator.StreamSpec{StreamEventURL: untrusted.EventsURL()})
		Expect(res.Deliveries[0].Final()).To(HaveField("NoAnswer", emulator.NoAnswerUntrusted))
		Expect(untrusted.Requests()).To(BeEmpty())
	})

	It("are delivered twice when asked, to test idempotency", func(ctx SpecContext) {
		_, res := oneStream(ctx, &emulator.Options{DuplicateWebhooks: true}, nil, emulator.StreamSpec{})
		Expect(events.EventTypes()).To(Equal([]string{"mediaStreamStarted", "mediaStreamStarted", "mediaStreamStopped", "mediaStreamStopped"}))
		Expect(res.Deliveries).To(HaveLen(4))
		Expect(res.Deliveries[1].Copy).To(Equal(2))
		Expect(events.Requests()[2].Body).To(MatchJSON(events.Requests()[3].Body), "the duplicate is the same event")
	})

	It("are not sent without a streamEventUrl", func(ctx SpecContext) {
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Deliveries).To(BeEmpty())
		Expect(res.Cause).To(Equal("closed"))
		Expect(events.Requests()).To(BeEmpty())
		Expect(e.Deliveries()).To(BeEmpty())
	})
})

var _ = Describe("webhook records", func() {
	It("never keep a password from the URL", func(ctx SpecContext) {
		app := apptest.NewWS()
		events := apptest.NewHooks()
		e := apptest.NewEmulator(nil)
		call := specs.Call(e, nil)
		withPassword := strings.Replace(events.EventsURL(), "http://", "http://hooks:url-secret@", 1)
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: app.URL(), StreamEventURL: withPassword, Pace: emulator.Fast})
		Expect(err).NotTo(HaveOccurred())
		res, err := s.Stop(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(events.Requests()[0].Header.Get("Authorization")).To(HavePrefix("Basic "), "the request itself carries the credentials")
		for _, d := range res.Deliveries {
			Expect(d.URL).NotTo(ContainSubstring("url-secret"))
			Expect(d.URL).To(ContainSubstring("hooks:%5Bredacted%5D@"))
		}
		var buf strings.Builder
		Expect(e.Journal().WriteJSONLines(&buf)).To(Succeed())
		Expect(buf.String()).NotTo(ContainSubstring("url-secret"))
	})
})
