package protocol_test

import (
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// The seed's ids, straight from Bandwidth's example.
const (
	seedCallID   = "c-95ac912f-68aacdd7-4a8e-4223-a7fd-020e02fa6bf2"
	seedStreamID = "s-95ac90b3-e9cd80fa-fca7-4d12-9109-2990afe4d8c5"
	seedAccount  = "55555555"
	seedCallURL  = "https://voice.bandwidth.com/api/v2/accounts/55555555/calls/c-95ac912f-68aacdd7-4a8e-4223-a7fd-020e02fa6bf2"
)

// idLayout is PROTOCOL §5: prefix, 8 hex, 8 hex, then a UUID tail 4-4-4-12.
func idLayout(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + prefix + `-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

var _ = Describe("ids", func() {
	It("the layout used here matches the seed's ids", func() {
		Expect(seedCallID).To(MatchRegexp(idLayout("c").String()))
		Expect(seedStreamID).To(MatchRegexp(idLayout("s").String()))
		Expect(seedCallID).To(HaveLen(protocol.IDLength))
		Expect(seedStreamID).To(HaveLen(protocol.IDLength))
	})

	DescribeTable("fresh ids have Bandwidth's 47-character layout and never repeat",
		func(newID func() string, prefix string, isID, isOther func(string) bool) {
			layout := idLayout(prefix)
			seen := make(map[string]bool, 1000)
			var bad []string
			for range 1000 {
				id := newID()
				if len(id) != 47 || !layout.MatchString(id) || !isID(id) || isOther(id) || seen[id] {
					bad = append(bad, id)
				}
				seen[id] = true
			}
			Expect(bad).To(BeEmpty(), "ids of the wrong layout, or repeated")
			Expect(seen).To(HaveLen(1000))
		},
		Entry("NewCallID", protocol.NewCallID, "c", protocol.IsCallID, protocol.IsStreamID),
		Entry("NewStreamID", protocol.NewStreamID, "s", protocol.IsStreamID, protocol.IsCallID),
	)

	DescribeTable("IsCallID and IsStreamID",
		func(id string, call, stream bool) {
			Expect(protocol.IsCallID(id)).To(Equal(call), "IsCallID(%q)", id)
			Expect(protocol.IsStreamID(id)).To(Equal(stream), "IsStreamID(%q)", id)
		},
		Entry("the seed's callId", seedCallID, true, false),
		Entry("the seed's mediaStream.id", seedStreamID, false, true),
		Entry("empty", "", false, false),
		Entry("a UUID", "7fc9698a-b04a-468b-9e8f-91238c0d0086", false, false),
		Entry("an unknown prefix", "x"+seedCallID[1:], false, false),
		Entry("upper-case hex", strings.ToUpper(seedCallID[:2])+strings.ToUpper(seedCallID[2:]), false, false),
		Entry("upper-case hex, lower prefix", "c-"+strings.ToUpper(seedCallID[2:]), false, false),
		Entry("one char short", seedCallID[:46], false, false),
		Entry("one char long", seedCallID+"0", false, false),
		Entry("a non-hex digit", "c-95ac912g"+seedCallID[10:], false, false),
		Entry("groups shifted", "c-95ac912f6-8aacdd7-4a8e-4223-a7fd-020e02fa6bf2", false, false),
		Entry("surrounding space", " "+seedCallID[:46], false, false),
		Entry("a trailing newline", seedCallID[:46]+"\n", false, false),
	)

	It("NewUUID is a random version 4 UUID", func() {
		seen := make(map[string]bool, 1000)
		var bad []string
		for range 1000 {
			u := protocol.NewUUID()
			if !uuidV4.MatchString(u) || seen[u] {
				bad = append(bad, u)
			}
			seen[u] = true
		}
		Expect(bad).To(BeEmpty(), "not v4 UUIDs, or repeated")
		Expect(seen).To(HaveLen(1000))
	})

	It("CallURL has the shape of the seed's callUrl", func() {
		Expect(protocol.CallURL(seedAccount, seedCallID)).To(Equal(seedCallURL))
		Expect(seedEvent().CallURL).To(Equal(protocol.CallURL(seedEvent().AccountID, seedEvent().CallID)))

		id := protocol.NewCallID()
		Expect(protocol.CallURL("9901234", id)).To(MatchRegexp(
			`^https://voice\.bandwidth\.com/api/v2/accounts/9901234/calls/` + idLayout("c").String()[1:]))
	})
})
