package protocol_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

func startMessage(params protocol.StreamParams) protocol.StartMessage {
	return protocol.StartMessage{
		EventType: protocol.EventStart,
		Metadata: protocol.Metadata{
			AccountID:  "9901234",
			CallID:     "c-1a2b3c4d-0f1e2d3c-aaaa-4bbb-8ccc-123456789abc",
			StreamID:   "s-1a2b3c4d-9e8d7c6b-dddd-4eee-9fff-abcdef012345",
			StreamName: "agent",
			Tracks: []protocol.TrackInfo{{
				Name:        protocol.TrackInbound,
				MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000},
			}},
		},
		StreamParams: params,
	}
}

const startJSON = `{"eventType":"start",
 "metadata":{"accountId":"9901234",
             "callId":"c-1a2b3c4d-0f1e2d3c-aaaa-4bbb-8ccc-123456789abc",
             "streamId":"s-1a2b3c4d-9e8d7c6b-dddd-4eee-9fff-abcdef012345",
             "streamName":"agent",
             "tracks":[{"name":"inbound","mediaFormat":{"encoding":"PCMU","sampleRate":8000}}]}`

var _ = Describe("socket messages", func() {
	It("start matches PROTOCOL §4's example", func() {
		js, err := json.Marshal(startMessage(protocol.StreamParams{{Name: "tenant", Value: "acme"}}))
		Expect(err).NotTo(HaveOccurred())
		Expect(js).To(MatchJSON(startJSON + `, "streamParams":{"tenant":"acme"}}`))
	})

	It("stop carries the start's metadata and no streamParams", func() {
		start := startMessage(protocol.StreamParams{{Name: "tenant", Value: "acme"}})
		js, err := json.Marshal(protocol.StopMessage{EventType: protocol.EventStop, Metadata: start.Metadata})
		Expect(err).NotTo(HaveOccurred())
		Expect(js).To(MatchJSON(`{"eventType":"stop","metadata":` + mustJSON(start.Metadata) + `}`))
	})

	It("media carries sequenceNumber as a string", func() {
		js, err := json.Marshal(protocol.MediaMessage{
			EventType: protocol.EventMedia, Track: protocol.TrackInbound, SequenceNumber: "42", Payload: "//8=",
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(js).To(MatchJSON(`{"eventType":"media","track":"inbound","sequenceNumber":"42","payload":"//8="}`))
	})
})

var _ = Describe("StreamParams", func() {
	ordered := protocol.StreamParams{
		{Name: "zeta", Value: "1"},
		{Name: "alpha", Value: "2"},
		{Name: "mid", Value: `quote " and \ backslash`},
		{Name: "ünï", Value: "<&>"},
	}

	It("marshals as one flat object in the given order", func() {
		js, err := json.Marshal(ordered)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(js)).To(Equal(`{"zeta":"1","alpha":"2","mid":"quote \" and \\ backslash","ünï":"\u003c\u0026\u003e"}`))
		Expect(js).To(MatchJSON(`{"zeta":"1","alpha":"2","mid":"quote \" and \\ backslash","ünï":"<&>"}`))
	})

	It("unmarshals keeping the order of the object", func() {
		var got protocol.StreamParams
		Expect(json.Unmarshal([]byte(`{"zeta":"1", "alpha":"2", "mid":"quote \" and \\ backslash", "ünï":"<&>"}`), &got)).To(Succeed())
		Expect(got).To(Equal(ordered))
	})

	It("round-trips through a start message", func() {
		js, err := json.Marshal(startMessage(ordered))
		Expect(err).NotTo(HaveOccurred())
		var back protocol.StartMessage
		Expect(json.Unmarshal(js, &back)).To(Succeed())
		Expect(back).To(Equal(startMessage(ordered)))
	})

	DescribeTable("is absent from the start message when there are none",
		func(params protocol.StreamParams) {
			js, err := json.Marshal(startMessage(params))
			Expect(err).NotTo(HaveOccurred())
			Expect(js).To(MatchJSON(startJSON + `}`))
			Expect(string(js)).NotTo(ContainSubstring("streamParams"))

			var back protocol.StartMessage
			Expect(json.Unmarshal(js, &back)).To(Succeed())
			Expect(back.StreamParams).To(BeEmpty())
		},
		Entry("nil", protocol.StreamParams(nil)),
		Entry("empty", protocol.StreamParams{}),
	)

	It("marshals an empty set as {} on its own", func() {
		Expect(json.Marshal(protocol.StreamParams{})).To(MatchJSON(`{}`))
	})

	DescribeTable("unmarshal edge cases",
		func(js string, want protocol.StreamParams) {
			var got protocol.StreamParams
			Expect(json.Unmarshal([]byte(js), &got)).To(Succeed())
			Expect(got).To(Equal(want))
		},
		Entry("null", `null`, protocol.StreamParams(nil)),
		Entry("empty object", `{}`, protocol.StreamParams{}),
		Entry("an empty value", `{"a":""}`, protocol.StreamParams{{Name: "a", Value: ""}}),
	)

	DescribeTable("unmarshal rejects what is not a flat object of strings",
		func(js, reason string) {
			var got protocol.StreamParams
			Expect(json.Unmarshal([]byte(js), &got)).To(MatchError(ContainSubstring(reason)))
		},
		Entry("an array", `["a","b"]`, "want an object"),
		Entry("a string", `"a=b"`, "want an object"),
		Entry("a number value", `{"a":1}`, "streamParams.a"),
		Entry("a nested object", `{"a":{"b":"c"}}`, "streamParams.a"),
		Entry("a bool value", `{"a":"x","b":true}`, "streamParams.b"),
	)

	DescribeTable("Get",
		func(name, value string, ok bool) {
			v, found := ordered.Get(name)
			Expect(found).To(Equal(ok))
			Expect(v).To(Equal(value))
		},
		Entry("the first", "zeta", "1", true),
		Entry("the last", "ünï", "<&>", true),
		Entry("a missing name", "tenant", "", false),
		Entry("case matters", "ALPHA", "", false),
	)

	It("Get on nil finds nothing", func() {
		v, ok := protocol.StreamParams(nil).Get("x")
		Expect(ok).To(BeFalse())
		Expect(v).To(BeEmpty())
	})

	It("Get returns an empty value as found", func() {
		v, ok := protocol.StreamParams{{Name: "a"}}.Get("a")
		Expect(ok).To(BeTrue())
		Expect(v).To(BeEmpty())
	})
})

func mustJSON(v any) string {
	GinkgoHelper()
	js, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return string(js)
}
