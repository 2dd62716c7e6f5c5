package protocol_test

import (
	"encoding/json"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// seedQuery is the seed event as the emulator sends it with
// streamEventMethod="GET": nested keys joined with dots, lists repeated.
var seedQuery = url.Values{
	"accountId":               {"55555555"},
	"answerTime":              {"2022-06-30T18:55:02.080Z"},
	"applicationId":           {"7fc9698a-b04a-468b-9e8f-91238c0d0086"},
	"callId":                  {seedCallID},
	"callUrl":                 {seedCallURL},
	"cause":                   {"closed"},
	"direction":               {"outbound"},
	"enqueuedTime":            {"2022-06-30T18:54:59.172Z"},
	"eventTime":               {"2022-06-30T18:55:02.489Z"},
	"eventType":               {"mediaStreamStopped"},
	"from":                    {"+15551112222"},
	"mediaStream.destination": {"wss://websocket.myapp.example"},
	"mediaStream.duration":    {"PT1M52.217257456S"},
	"mediaStream.id":          {seedStreamID},
	"mediaStream.name":        {"example_stream"},
	"mediaStream.startTime":   {"2022-06-30T18:55:02.489Z"},
	"mediaStream.tracks":      {"inbound", "outbound"},
	"mediaStream.type":        {"WebSocket"},
	"startTime":               {"2022-06-30T18:54:59.175Z"},
	"to":                      {"+15553334444"},
}

func boolPtr(b bool) *bool { return &b }

// otherEvents are events unlike the seed: every optional field the seed
// lacks, a rejected stream with its original, a disconnect.
func otherEvents() map[string]*protocol.Event {
	t0 := utc(2024, time.January, 2, 3, 4, 5, 6)
	stream := func(id, name string, tracks ...string) *protocol.MediaStream {
		return &protocol.MediaStream{
			Destination: "wss://app.example/ws?token=a&b=c d", ID: id, Name: name,
			StartTime: protocol.NewTime(t0), Tracks: tracks, Type: protocol.StreamTypeWebSocket,
		}
	}
	call := func(eventType string) protocol.Event {
		callID := protocol.NewCallID()
		return protocol.Event{
			AccountID: "9901234", AnswerTime: protocol.TimePtr(t0), ApplicationID: protocol.NewUUID(),
			CallID: callID, CallURL: protocol.CallURL("9901234", callID), Direction: protocol.DirectionInbound,
			EventTime: protocol.NewTime(t0.Add(time.Second)), EventType: eventType, From: "Anonymous",
			StartTime: protocol.NewTime(t0.Add(-time.Second)), To: "+15553334444",
		}
	}

	started := call(protocol.EventMediaStreamStarted)
	started.MediaStream = stream(protocol.NewStreamID(), "agent", protocol.TrackInbound)
	started.Tag = "tag with spaces & = signs"
	started.Privacy = boolPtr(true)
	started.CallerDisplayName = "Jane Doe"

	rejected := call(protocol.EventMediaStreamRejected)
	rejected.Cause = protocol.CauseDuplicate
	rejected.ErrorMessage = `stream name "agent" is in use`
	rejected.MediaStream = stream(protocol.NewStreamID(), "agent", protocol.TrackOutbound)
	rejected.OriginalStream = stream(protocol.NewStreamID(), "agent", protocol.TrackInbound, protocol.TrackOutbound)
	rejected.Privacy = boolPtr(false)

	stopped := call(protocol.EventMediaStreamStopped)
	stopped.Cause = protocol.CauseConnectionError
	stopped.ErrorMessage = "websocket closed abnormally (1006)"
	stopped.MediaStream = stream(protocol.NewStreamID(), "x.y", protocol.TrackInbound)
	stopped.MediaStream.Duration = protocol.DurationPtr(0)

	disconnect := call(protocol.EventDisconnect)
	disconnect.Cause = protocol.DisconnectHangup
	disconnect.EndTime = protocol.TimePtr(t0.Add(time.Minute))
	disconnect.ErrorID = "4642074b-7b58-478b-96e4-3a60955c6765"

	return map[string]*protocol.Event{
		"started with tag, privacy, callerDisplayName": &started,
		"rejected duplicate with originalMediaStream":  &rejected,
		"stopped with connection-error":                &stopped,
		"disconnect":                                   &disconnect,
	}
}

var _ = Describe("GET encoding", func() {
	Describe("Event.Query", func() {
		It("flattens mediaStream with dots and repeats tracks", func() {
			q := seedEvent().Query()
			Expect(q).To(Equal(seedQuery))
			Expect(q).NotTo(HaveKey("mediaStream"))
			Expect(q).NotTo(HaveKey("tag"), "tag is absent when there is none")
			Expect(q["mediaStream.tracks"]).To(Equal([]string{"inbound", "outbound"}))
		})

		It("writes every optional field it has, nested originalMediaStream included", func() {
			ev := otherEvents()["rejected duplicate with originalMediaStream"]
			q := ev.Query()
			Expect(q).To(HaveKeyWithValue("originalMediaStream.id", []string{ev.OriginalStream.ID}))
			Expect(q).To(HaveKeyWithValue("originalMediaStream.tracks", []string{"inbound", "outbound"}))
			Expect(q).To(HaveKeyWithValue("mediaStream.tracks", []string{"outbound"}))
			Expect(q).To(HaveKeyWithValue("privacy", []string{"false"}))
			Expect(q).To(HaveKeyWithValue("errorMessage", []string{`stream name "agent" is in use`}))
			Expect(q).NotTo(HaveKey("mediaStream.duration"))
			Expect(q).NotTo(HaveKey("endTime"))
		})

		It("has one value per key except tracks", func() {
			for name, ev := range otherEvents() {
				for k, vs := range ev.Query() {
					if k == "mediaStream.tracks" || k == "originalMediaStream.tracks" {
						continue
					}
					Expect(vs).To(HaveLen(1), "%s: %s", name, k)
				}
			}
		})
	})

	Describe("EventFromQuery", func() {
		It("round-trips the seed event exactly", func() {
			seed := seedEvent()
			back, err := protocol.EventFromQuery(seed.Query())
			Expect(err).NotTo(HaveOccurred())
			Expect(back).To(Equal(seed))
		})

		It("round-trips the seed event through a real URL", func() {
			u, err := url.Parse("http://app.example/streamEvents?" + seedEvent().Query().Encode())
			Expect(err).NotTo(HaveOccurred())
			back, err := protocol.EventFromQuery(u.Query())
			Expect(err).NotTo(HaveOccurred())
			Expect(back).To(Equal(seedEvent()))
			Expect(json.Marshal(back)).To(MatchJSON(seedJSON()))
		})

		It("round-trips events with other fields", func() {
			for name, ev := range otherEvents() {
				q, err := url.ParseQuery(ev.Query().Encode())
				Expect(err).NotTo(HaveOccurred())
				back, err := protocol.EventFromQuery(q)
				Expect(err).NotTo(HaveOccurred(), name)
				Expect(back).To(Equal(ev), name)
			}
		})

		DescribeTable("rejects values that do not parse",
			func(key, value, reason string) {
				q := seedEvent().Query()
				q.Set(key, value)
				_, err := protocol.EventFromQuery(q)
				Expect(err).To(MatchError(ContainSubstring(reason)))
			},
			Entry("a bad time", "eventTime", "2022-06-30 18:55", "2022-06-30T18:55:02.489Z"),
			Entry("a bad nested time", "mediaStream.startTime", "noon", "2022-06-30T18:55:02.489Z"),
			Entry("a bad duration", "mediaStream.duration", "1m52s", "PT1M52.217S"),
		)
	})

	Describe("DecodeEvent", func() {
		It("reads the JSON body of a POST", func() {
			ev, err := protocol.DecodeEvent("POST", url.Values{"eventType": {"ignored"}}, seedJSON())
			Expect(err).NotTo(HaveOccurred())
			Expect(ev).To(Equal(seedEvent()))
		})

		It("reads the query of a GET and ignores the body", func() {
			ev, err := protocol.DecodeEvent("GET", seedQuery, []byte("not json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(ev).To(Equal(seedEvent()))
		})

		It("decodes the same event from POST and GET", func() {
			for name, want := range otherEvents() {
				body, err := json.Marshal(want)
				Expect(err).NotTo(HaveOccurred())
				post, err := protocol.DecodeEvent("POST", nil, body)
				Expect(err).NotTo(HaveOccurred(), name)
				get, err := protocol.DecodeEvent("GET", want.Query(), nil)
				Expect(err).NotTo(HaveOccurred(), name)
				Expect(post).To(Equal(want), name)
				Expect(get).To(Equal(want), name)
			}
		})

		DescribeTable("fails on a body that is not an event",
			func(body string) {
				ev, err := protocol.DecodeEvent("POST", nil, []byte(body))
				Expect(err).To(HaveOccurred())
				Expect(ev).To(BeNil())
			},
			Entry("empty", ""),
			Entry("not JSON", "eventType=mediaStreamStopped"),
			Entry("a bad time", `{"eventTime":"yesterday"}`),
			Entry("a bad duration", `{"mediaStream":{"duration":"1m"}}`),
		)
	})
})
