package protocol_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

var _ = Describe("Time", func() {
	DescribeTable("is written in UTC with exactly three fraction digits",
		func(t time.Time, want string) {
			v := protocol.NewTime(t)
			Expect(v.String()).To(Equal(want))

			text, err := v.MarshalText()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(text)).To(Equal(want))

			js, err := json.Marshal(v)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(js)).To(Equal(`"` + want + `"`))

			js, err = json.Marshal(protocol.TimePtr(t))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(js)).To(Equal(`"` + want + `"`))
		},
		Entry("the seed's eventTime", utc(2022, time.June, 30, 18, 55, 2, 489), "2022-06-30T18:55:02.489Z"),
		Entry("a trailing zero kept", utc(2022, time.June, 30, 18, 55, 2, 80), "2022-06-30T18:55:02.080Z"),
		Entry("a whole second keeps .000", utc(2022, time.June, 30, 18, 55, 2, 0), "2022-06-30T18:55:02.000Z"),
		Entry("another zone converted to UTC",
			time.Date(2022, time.June, 30, 20, 55, 2, 489e6, time.FixedZone("CEST", 2*3600)), "2022-06-30T18:55:02.489Z"),
		Entry("sub-millisecond truncated, not rounded",
			time.Date(2022, time.June, 30, 18, 55, 2, 489999999, time.UTC), "2022-06-30T18:55:02.489Z"),
	)

	It("keeps three digits inside an Event too", func() {
		ev := protocol.Event{
			EventTime:  protocol.NewTime(utc(2022, time.June, 30, 18, 55, 2, 0)),
			StartTime:  protocol.NewTime(utc(2022, time.June, 30, 18, 54, 59, 100)),
			AnswerTime: protocol.TimePtr(utc(2022, time.June, 30, 18, 55, 2, 80)),
		}
		js, err := json.Marshal(ev)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(js)).To(ContainSubstring(`"eventTime":"2022-06-30T18:55:02.000Z"`))
		Expect(string(js)).To(ContainSubstring(`"startTime":"2022-06-30T18:54:59.100Z"`))
		Expect(string(js)).To(ContainSubstring(`"answerTime":"2022-06-30T18:55:02.080Z"`))
	})

	It("NewTime truncates to milliseconds in UTC", func() {
		t := protocol.NewTime(time.Date(2022, time.June, 30, 20, 55, 2, 489999999, time.FixedZone("CEST", 2*3600)))
		Expect(t.Location()).To(Equal(time.UTC))
		Expect(t.Time).To(Equal(utc(2022, time.June, 30, 18, 55, 2, 489)))
	})

	DescribeTable("decodes any RFC 3339 time into UTC",
		func(in string, want time.Time) {
			var v struct{ T protocol.Time }
			Expect(json.Unmarshal([]byte(`{"T":"`+in+`"}`), &v)).To(Succeed())
			Expect(v.T.Location()).To(Equal(time.UTC))
			Expect(v.T.Time).To(Equal(want))

			var t protocol.Time
			Expect(t.UnmarshalText([]byte(in))).To(Succeed())
			Expect(t.Time).To(Equal(want))
		},
		Entry("Bandwidth's layout", "2022-06-30T18:55:02.489Z", utc(2022, time.June, 30, 18, 55, 2, 489)),
		Entry("no fraction", "2022-06-30T18:55:02Z", utc(2022, time.June, 30, 18, 55, 2, 0)),
		Entry("a short fraction", "2022-06-30T18:55:02.08Z", utc(2022, time.June, 30, 18, 55, 2, 80)),
		Entry("an offset", "2022-06-30T20:55:02.489+02:00", utc(2022, time.June, 30, 18, 55, 2, 489)),
	)

	DescribeTable("rejects what is not a time",
		func(js string) {
			var v struct{ T protocol.Time }
			Expect(json.Unmarshal([]byte(`{"T":`+js+`}`), &v)).To(MatchError(ContainSubstring("2022-06-30T18:55:02.489Z")))
		},
		Entry("a date only", `"2022-06-30"`),
		Entry("no zone", `"2022-06-30T18:55:02.489"`),
		Entry("garbage", `"yesterday"`),
		Entry("a number", `1656615302489`),
	)

	It("leaves an optional time nil on null", func() {
		var ev protocol.Event
		Expect(json.Unmarshal([]byte(`{"answerTime":null,"eventTime":null}`), &ev)).To(Succeed())
		Expect(ev.AnswerTime).To(BeNil())
		Expect(ev.EventTime.IsZero()).To(BeTrue())
	})
})

var _ = Describe("Duration", func() {
	seedDuration := time.Minute + 52*time.Second + 217257456*time.Nanosecond

	DescribeTable("is written as an ISO 8601 time duration and parsed back",
		func(d time.Duration, want string) {
			Expect(protocol.Duration{Duration: d}.String()).To(Equal(want))

			text, err := protocol.DurationPtr(d).MarshalText()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(text)).To(Equal(want))

			js, err := json.Marshal(protocol.MediaStream{Duration: protocol.DurationPtr(d)})
			Expect(err).NotTo(HaveOccurred())
			Expect(string(js)).To(ContainSubstring(`"duration":"` + want + `"`))

			back, err := protocol.ParseDuration(want)
			Expect(err).NotTo(HaveOccurred())
			Expect(back).To(Equal(d))

			var ms protocol.MediaStream
			Expect(json.Unmarshal(js, &ms)).To(Succeed())
			Expect(ms.Duration).NotTo(BeNil())
			Expect(ms.Duration.Duration).To(Equal(d))
		},
		Entry("zero", time.Duration(0), "PT0S"),
		Entry("a fraction of seconds", 1500*time.Millisecond, "PT1.5S"),
		Entry("the seed's duration", seedDuration, "PT1M52.217257456S"),
		Entry("whole hours", time.Hour, "PT1H"),
		Entry("hours and a nanosecond, no zero minutes", time.Hour+time.Nanosecond, "PT1H0.000000001S"),
		Entry("milliseconds, trailing zeros trimmed", 20*time.Millisecond, "PT0.02S"),
		Entry("whole minutes", 2*time.Minute, "PT2M"),
		Entry("every unit", 25*time.Hour+3*time.Minute+4*time.Second, "PT25H3M4S"),
	)

	It("is not what time.Duration.String gives", func() {
		Expect(seedDuration.String()).To(Equal("1m52.217257456s"))
		Expect(protocol.Duration{Duration: seedDuration}.String()).NotTo(Equal(seedDuration.String()))
	})

	DescribeTable("ParseDuration reads other valid spellings",
		func(in string, want time.Duration) {
			Expect(protocol.ParseDuration(in)).To(Equal(want))
		},
		Entry("untrimmed fraction", "PT1.500S", 1500*time.Millisecond),
		Entry("explicit zero units", "PT0H0M0S", time.Duration(0)),
		Entry("seconds over a minute", "PT90S", 90*time.Second),
		Entry("nine fraction digits", "PT0.123456789S", 123456789*time.Nanosecond),
	)

	DescribeTable("ParseDuration rejects what is not an ISO 8601 time duration",
		func(in string) {
			_, err := protocol.ParseDuration(in)
			Expect(err).To(MatchError(SatisfyAll(ContainSubstring("%q", in), ContainSubstring("PT1M52.217S"))))

			var d protocol.Duration
			Expect(d.UnmarshalText([]byte(in))).NotTo(Succeed())
			var ms protocol.MediaStream
			Expect(json.Unmarshal([]byte(`{"duration":"`+in+`"}`), &ms)).NotTo(Succeed())
		},
		Entry("empty", ""),
		Entry("no PT prefix", "1.5S"),
		Entry("PT alone", "PT"),
		Entry("a fraction on minutes", "PT1.5M"),
		Entry("not a number", "PTxS"),
		Entry("days", "P1D"),
		Entry("more than nanosecond precision", "PT1.0000000001S"),
		Entry("Go's spelling", "1m52.217257456s"),
		Entry("lower case", "pt1s"),
		Entry("no unit", "PT5"),
		Entry("units out of order", "PT1S2M"),
		Entry("a repeated unit", "PT1H1H"),
		Entry("an empty fraction", "PT1.S"),
		Entry("no whole part", "PT.5S"),
		Entry("a signed unit", "PT+1S"),
		Entry("a sign inside", "PT1H-2M"),
		Entry("a signed fraction", "PT1.-5S"),
		Entry("hours beyond time.Duration", "PT9999999999H"),
	)
})
