package bxml_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// syntaxError matches a *bxml.SyntaxError at line whose message holds every part.
func syntaxError(line int, parts ...string) OmegaMatcher {
	ms := []OmegaMatcher{HaveField("Line", line)}
	for _, p := range parts {
		ms = append(ms, HaveField("Msg", ContainSubstring(p)))
	}
	return SatisfyAll(BeAssignableToTypeOf(&bxml.SyntaxError{}), SatisfyAll(ms...))
}

func parseError(doc string) error {
	_, err := bxml.Parse([]byte(doc))
	return err
}

var _ = Describe("Parse", func() {
	DescribeTable("accepts both roots",
		func(root string) {
			doc, err := bxml.Parse([]byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<%s>
  <Pause duration="2"/>
</%s>`, root, root)))
			Expect(err).NotTo(HaveOccurred())
			Expect(doc.Root).To(Equal(root))
			Expect(doc.Verbs).To(Equal([]bxml.Verb{&bxml.Pause{Line: 3, Duration: 2 * time.Second}}))
			Expect(doc.Warnings).To(BeEmpty())
		},
		Entry("Response", "Response"),
		Entry("Bxml", "Bxml"),
	)

	It("reads every verb and every attribute", func() {
		doc, err := bxml.Parse([]byte(`<Response>
  <StartStream name="agent" mode="bidirectional" tracks="both" destination="wss://app.example/media?t=1"
      destinationUsername="wsuser" destinationPassword="wspass" streamEventUrl="/events"
      streamEventMethod="get" username="evuser" password="evpass">
    <StreamParam name="tenant" value="acme"/>
    <StreamParam name="empty" value=""/>
  </StartStream>
  <StopStream name="agent" wait="true"/>
  <Pause duration="0.25"/>
  <SpeakSentence voice="julie" locale="en_US" gender="female">Hello <break time="1s"/>world, <emphasis>again</emphasis>.</SpeakSentence>
  <PlayAudio username="au" password="ap">
     https://audio.example/greeting.wav
  </PlayAudio>
  <Ring duration="1.5" answerCall="false"/>
  <Redirect redirectUrl="/next" redirectMethod="get" username="ru" password="rp" tag="t-1"
      redirectFallbackUrl="https://backup.example/next" redirectFallbackMethod="POST"
      fallbackUsername="fu" fallbackPassword="fp"/>
  <Hangup/>
</Response>`))
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Warnings).To(BeEmpty())
		Expect(doc.Verbs).To(Equal([]bxml.Verb{
			&bxml.StartStream{Line: 2, Name: "agent", Mode: "bidirectional", Tracks: "both",
				Destination: "wss://app.example/media?t=1", DestinationUsername: "wsuser", DestinationPassword: "wspass",
				StreamEventURL: "/events", StreamEventMethod: "GET", Username: "evuser", Password: "evpass",
				Params: []protocol.StreamParam{{Name: "tenant", Value: "acme"}, {Name: "empty", Value: ""}}},
			&bxml.StopStream{Line: 8, Name: "agent", Wait: true},
			&bxml.Pause{Line: 9, Duration: 250 * time.Millisecond},
			&bxml.SpeakSentence{Line: 10, Text: "Hello world, again.", Voice: "julie", Locale: "en_US", Gender: "female"},
			&bxml.PlayAudio{Line: 11, URL: "https://audio.example/greeting.wav", Username: "au", Password: "ap"},
			&bxml.Ring{Line: 14, Duration: 1500 * time.Millisecond, AnswerCall: false},
			&bxml.Redirect{Line: 15, RedirectURL: "/next", RedirectMethod: "GET", Username: "ru", Password: "rp", Tag: "t-1",
				FallbackURL: "https://backup.example/next", FallbackMethod: "POST", FallbackUsername: "fu", FallbackPassword: "fp"},
			&bxml.Hangup{Line: 18},
		}))
		names := []string{}
		for _, v := range doc.Verbs {
			names = append(names, v.VerbName())
		}
		Expect(names).To(Equal([]string{"StartStream", "StopStream", "Pause", "SpeakSentence", "PlayAudio", "Ring", "Redirect", "Hangup"}))
		Expect(doc.Verbs[4].Pos()).To(Equal(11))
	})

	It("fills in Bandwidth's defaults", func() {
		doc, err := bxml.Parse([]byte(`<Bxml><StartStream destination="ws://127.0.0.1:1/m"/><StopStream name="x"/><Pause/><Ring/></Bxml>`))
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Verbs).To(Equal([]bxml.Verb{
			&bxml.StartStream{Line: 1, Destination: "ws://127.0.0.1:1/m"},
			&bxml.StopStream{Line: 1, Name: "x"},
			&bxml.Pause{Line: 1, Duration: bxml.DefaultPauseDuration},
			&bxml.Ring{Line: 1, Duration: bxml.DefaultRingDuration, AnswerCall: true},
		}))
	})

	It("takes up to 12 StreamParams, in order", func() {
		var params strings.Builder
		var want []protocol.StreamParam
		for i := range 12 {
			fmt.Fprintf(&params, `<StreamParam name="p%d" value="v%d"/>`, i, i)
			want = append(want, protocol.StreamParam{Name: fmt.Sprintf("p%d", i), Value: fmt.Sprintf("v%d", i)})
		}
		doc, err := bxml.Parse([]byte(`<Response><StartStream destination="ws://h/m">` + params.String() + `</StartStream></Response>`))
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Verbs[0].(*bxml.StartStream).Params).To(Equal(want))
	})

	Describe("the 64 KB limit", func() {
		pad := func(size int) []byte {
			head, tail := `<Response><Pause duration="0"/><!--`, `--></Response>`
			return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
		}
		It("accepts a document of exactly MaxDocument bytes", func() {
			data := pad(bxml.MaxDocument)
			Expect(data).To(HaveLen(64 * 1024))
			_, err := bxml.Parse(data)
			Expect(err).NotTo(HaveOccurred())
		})
		It("refuses one byte more", func() {
			_, err := bxml.Parse(pad(bxml.MaxDocument + 1))
			Expect(err).To(syntaxError(0, "65537 bytes", "at most 65536"))
			Expect(err.Error()).To(Equal("invalid BXML: the document is 65537 bytes: Bandwidth accepts at most 65536 (64 KB)"))
		})
	})

	DescribeTable("refuses malformed documents, with the line",
		func(doc string, line int, msg string) {
			Expect(parseError(doc)).To(syntaxError(line, msg))
		},
		Entry("an element closed by the wrong end tag", "<Response>\n  <Pause>\n</Response>", 3, "malformed XML"),
		Entry("an unclosed root", "<Response>\n<Pause/>\n", 3, ""),
		Entry("a broken attribute", "<Response>\n\n<Pause duration=0.2/>\n</Response>", 3, "malformed XML"),
		Entry("an empty document", "", 1, "empty document"),
		Entry("only a declaration", `<?xml version="1.0"?>`, 1, "empty document"),
		Entry("another root", "<?xml version=\"1.0\"?>\n<Request><Pause/></Request>", 2, "root element <Request>"),
		Entry("text before the root", "hello <Response/>", 1, "text before the root"),
		Entry("a second root", "<Response/>\n<Response/>", 2, "a second root element"),
		Entry("text after the root", "<Response/>\ntrailing", 2, "text after"),
	)

	DescribeTable("refuses values a verb cannot take, as Bandwidth answers invalid BXML",
		func(verbs string, msg string) {
			Expect(parseError("<Response>\n" + verbs + "\n</Response>")).To(syntaxError(2, msg))
		},
		Entry("mode both", `<StartStream destination="ws://h/m" mode="both"/>`, `mode: "both": want unidirectional or bidirectional`),
		Entry("tracks all", `<StartStream destination="ws://h/m" tracks="all"/>`, `tracks: "all": want inbound, outbound or both`),
		Entry("no destination", `<StartStream name="a"/>`, "destination: is required"),
		Entry("an http destination", `<StartStream destination="http://h/m"/>`, "not a ws:// or wss:// URL"),
		Entry("streamEventMethod PUT", `<StartStream destination="ws://h/m" streamEventMethod="PUT"/>`, "want POST or GET"),
		Entry("a streamEventUrl that is not http", `<StartStream destination="ws://h/m" streamEventUrl="ftp://h/e"/>`, "streamEventUrl"),
		Entry("13 StreamParams", `<StartStream destination="ws://h/m">`+strings.Repeat(`<StreamParam name="a" value="b"/>`, 13)+`</StartStream>`,
			"13 parameters: at most 12"),
		Entry("a StreamParam without a name", `<StartStream destination="ws://h/m"><StreamParam value="b"/></StartStream>`, "<StreamParam> needs a name"),
		Entry("a StreamParam name given twice", `<StartStream destination="ws://h/m"><StreamParam name="a" value="1"/><StreamParam name="a" value="2"/></StartStream>`, "given twice"),
		Entry("a StreamParam value over 2048 characters", `<StartStream destination="ws://h/m"><StreamParam name="a" value="`+strings.Repeat("v", 2049)+`"/></StartStream>`, "longer than 2048"),
		Entry("StopStream without a name", `<StopStream wait="true"/>`, "<StopStream> needs a name"),
		Entry("StopStream wait yes", `<StopStream name="a" wait="yes"/>`, `wait "yes": want true or false`),
		Entry("Pause duration abc", `<Pause duration="abc"/>`, `<Pause> duration "abc" is not a number of seconds`),
		Entry("a negative Pause", `<Pause duration="-1"/>`, "negative"),
		Entry("Pause duration NaN", `<Pause duration="NaN"/>`, "not a number of seconds"),
		Entry("Ring duration x", `<Ring duration="x"/>`, `<Ring> duration "x"`),
		Entry("Ring answerCall 1", `<Ring answerCall="1"/>`, "want true or false"),
		Entry("PlayAudio without a URL", `<PlayAudio>  </PlayAudio>`, "<PlayAudio> needs the URL"),
		Entry("Redirect without redirectUrl", `<Redirect tag="x"/>`, "<Redirect> needs a redirectUrl"),
		Entry("Redirect method PUT", `<Redirect redirectUrl="/n" redirectMethod="PUT"/>`, `redirectMethod "PUT": want POST or GET`),
		Entry("a Redirect to a non-http URL", `<Redirect redirectUrl="mailto:x@y"/>`, "want an http:// or https:// URL"),
	)

	Describe("warnings", func() {
		It("skips verbs the emulator does not execute, naming them and their line", func() {
			doc, err := bxml.Parse([]byte(`<Response>
  <Gather maxDigits="1"><SpeakSentence>Press one</SpeakSentence></Gather>
  <Transfer><PhoneNumber>+15555550100</PhoneNumber></Transfer>
  <Record/>
  <Pause duration="0.1"/>
  <pause duration="1"/>
  <Dance/>
</Response>`))
			Expect(err).NotTo(HaveOccurred())
			Expect(doc.Verbs).To(Equal([]bxml.Verb{&bxml.Pause{Line: 5, Duration: 100 * time.Millisecond}}))
			Expect(doc.Warnings).To(HaveLen(5))
			Expect(doc.Warnings[0]).To(SatisfyAll(HaveField("Line", 2), HaveField("Verb", "Gather"),
				HaveField("Message", ContainSubstring("a Bandwidth verb the emulator does not execute"))))
			Expect(doc.Warnings[1]).To(SatisfyAll(HaveField("Line", 3), HaveField("Verb", "Transfer")))
			Expect(doc.Warnings[2]).To(SatisfyAll(HaveField("Line", 4), HaveField("Verb", "Record")))
			Expect(doc.Warnings[3]).To(SatisfyAll(HaveField("Line", 6), HaveField("Verb", "pause"),
				HaveField("Message", ContainSubstring("did you mean <Pause>?"))))
			Expect(doc.Warnings[4]).To(SatisfyAll(HaveField("Line", 7), HaveField("Verb", "Dance"),
				HaveField("Message", ContainSubstring("not a BXML verb"))))
			Expect(doc.Warnings[0].String()).To(HavePrefix("line 2: <Gather>: "))
		})

		It("warns that snake_case credentials are never sent, naming the camelCase attribute", func() {
			doc, err := bxml.Parse([]byte(`<Response>
  <StartStream name="agent" destination="wss://app.example/media"
      destination_username="user" destination_password="secret" stream_event_url="/events"/>
</Response>`))
			Expect(err).NotTo(HaveOccurred())
			Expect(doc.Verbs).To(Equal([]bxml.Verb{&bxml.StartStream{Line: 2, Name: "agent", Destination: "wss://app.example/media"}}))
			Expect(doc.Warnings).To(HaveLen(3))
			Expect(doc.Warnings[0]).To(SatisfyAll(HaveField("Line", 2), HaveField("Verb", "StartStream"),
				HaveField("Message", SatisfyAll(ContainSubstring("destination_username"), ContainSubstring("never be sent"),
					ContainSubstring("destinationUsername")))))
			Expect(doc.Warnings[1].Message).To(SatisfyAll(ContainSubstring("never be sent"), ContainSubstring("destinationPassword")))
			Expect(doc.Warnings[2].Message).To(SatisfyAll(ContainSubstring("stream_event_url"), ContainSubstring("streamEventUrl"),
				Not(ContainSubstring("credentials"))))
		})

		It("warns about other unknown attributes and stray content", func() {
			doc, err := bxml.Parse([]byte(`<Response xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Pause length="3" xsi:type="x"/>
  <Hangup cause="busy">now</Hangup>
  stray text
</Response>`))
			Expect(err).NotTo(HaveOccurred())
			Expect(doc.Verbs).To(HaveLen(2))
			Expect(doc.Warnings).To(ConsistOf(
				SatisfyAll(HaveField("Line", 2), HaveField("Message", ContainSubstring("unknown attribute length is ignored: <Pause> takes duration"))),
				SatisfyAll(HaveField("Line", 3), HaveField("Message", ContainSubstring("<Hangup> takes no attributes"))),
				SatisfyAll(HaveField("Line", 3), HaveField("Message", ContainSubstring("text inside <Hangup> is ignored"))),
				SatisfyAll(HaveField("Line", 4), HaveField("Message", ContainSubstring("text directly inside <Response>"))),
			))
		})
	})

	It("formats syntax errors with their line", func() {
		Expect((&bxml.SyntaxError{Line: 7, Msg: "oops"}).Error()).To(Equal("invalid BXML: line 7: oops"))
		Expect((&bxml.SyntaxError{Msg: "oops"}).Error()).To(Equal("invalid BXML: oops"))
	})
})
