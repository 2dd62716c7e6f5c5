package protocol_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// seedPath is the example payload of Bandwidth's mediaStreamStopped page
// (/work/shared/seed-media-stream-stopped.txt), copied verbatim.
var seedPath = filepath.Join("testdata", "media-stream-stopped.json")

// seedJSON reads the seed payload.
func seedJSON() []byte {
	GinkgoHelper()
	raw, err := os.ReadFile(seedPath)
	Expect(err).NotTo(HaveOccurred())
	return raw
}

// seedEvent decodes the seed payload.
func seedEvent() *protocol.Event {
	GinkgoHelper()
	var ev protocol.Event
	Expect(json.Unmarshal(seedJSON(), &ev)).To(Succeed())
	return &ev
}

// utc builds a UTC time with milliseconds.
func utc(y int, mo time.Month, d, h, mi, s, ms int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ms*int(time.Millisecond), time.UTC)
}

var _ = Describe("the mediaStreamStopped seed payload", func() {
	var ev *protocol.Event

	BeforeEach(func() {
		ev = seedEvent()
	})

	It("decodes every call field", func() {
		Expect(ev.AccountID).To(Equal("55555555"))
		Expect(ev.AnswerTime).NotTo(BeNil())
		Expect(ev.AnswerTime.Time).To(Equal(utc(2022, time.June, 30, 18, 55, 2, 80)))
		Expect(ev.ApplicationID).To(Equal("7fc9698a-b04a-468b-9e8f-91238c0d0086"))
		Expect(ev.CallID).To(Equal("c-95ac912f-68aacdd7-4a8e-4223-a7fd-020e02fa6bf2"))
		Expect(ev.CallURL).To(Equal("https://voice.bandwidth.com/api/v2/accounts/55555555/calls/c-95ac912f-68aacdd7-4a8e-4223-a7fd-020e02fa6bf2"))
		Expect(ev.Cause).To(Equal(protocol.CauseClosed))
		Expect(ev.Direction).To(Equal(protocol.DirectionOutbound))
		Expect(ev.EnqueuedTime).NotTo(BeNil())
		Expect(ev.EnqueuedTime.Time).To(Equal(utc(2022, time.June, 30, 18, 54, 59, 172)))
		Expect(ev.EventTime.Time).To(Equal(utc(2022, time.June, 30, 18, 55, 2, 489)))
		Expect(ev.EventType).To(Equal(protocol.EventMediaStreamStopped))
		Expect(ev.From).To(Equal("+15551112222"))
		Expect(ev.StartTime.Time).To(Equal(utc(2022, time.June, 30, 18, 54, 59, 175)))
		Expect(ev.To).To(Equal("+15553334444"))
	})

	It("leaves the optional fields the seed lacks unset", func() {
		Expect(ev.Tag).To(BeEmpty())
		Expect(ev.ErrorMessage).To(BeEmpty(), "errorMessage is absent when the cause is closed")
		Expect(ev.ErrorID).To(BeEmpty())
		Expect(ev.EndTime).To(BeNil())
		Expect(ev.OriginalStream).To(BeNil())
		Expect(ev.Privacy).To(BeNil())
		Expect(ev.CallerDisplayName).To(BeEmpty())
	})

	It("decodes the mediaStream object", func() {
		Expect(ev.MediaStream).NotTo(BeNil())
		ms := ev.MediaStream
		Expect(ms.Destination).To(Equal("wss://websocket.myapp.example"))
		Expect(ms.Duration).NotTo(BeNil())
		Expect(ms.Duration.Duration).To(Equal(time.Minute + 52*time.Second + 217257456*time.Nanosecond))
		Expect(ms.Duration.Duration.String()).To(Equal("1m52.217257456s"))
		Expect(ms.ID).To(Equal("s-95ac90b3-e9cd80fa-fca7-4d12-9109-2990afe4d8c5"))
		Expect(ms.Name).To(Equal("example_stream"))
		Expect(ms.StartTime.Time).To(Equal(utc(2022, time.June, 30, 18, 55, 2, 489)))
		Expect(ms.Tracks).To(Equal([]string{protocol.TrackInbound, protocol.TrackOutbound}))
		Expect(ms.Type).To(Equal(protocol.StreamTypeWebSocket))
	})

	It("decodes every time in UTC", func() {
		for _, t := range []time.Time{ev.AnswerTime.Time, ev.EnqueuedTime.Time, ev.EventTime.Time, ev.StartTime.Time, ev.MediaStream.StartTime.Time} {
			Expect(t.Location()).To(Equal(time.UTC))
		}
	})

	It("re-encodes to JSON equivalent to the original, losing nothing", func() {
		out, err := json.Marshal(ev)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchJSON(seedJSON()))
	})

	It("re-encodes with the seed's exact time and duration spellings", func() {
		out, err := json.Marshal(ev)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring(`"answerTime":"2022-06-30T18:55:02.080Z"`))
		Expect(string(out)).To(ContainSubstring(`"duration":"PT1M52.217257456S"`))
		Expect(string(out)).NotTo(ContainSubstring(`"tag"`))
	})

	It("survives a second decode and encode unchanged", func() {
		once, err := json.Marshal(ev)
		Expect(err).NotTo(HaveOccurred())
		var again protocol.Event
		Expect(json.Unmarshal(once, &again)).To(Succeed())
		Expect(&again).To(Equal(ev))
	})
})
