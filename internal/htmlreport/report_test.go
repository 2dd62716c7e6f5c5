package htmlreport_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/htmlreport"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// hostile is what an app could put in a journal message.
const hostile = `<script>alert("pwned")</script><img src=https://evil.example/x.png>`

// at is an entry stamped ms after t0, as the emulator stamps it once
// recorded (a webhook once answered).
func at(ms float64, e emulator.Entry) emulator.Entry {
	e.Time = t0.Add(time.Duration(ms * float64(time.Millisecond)))
	return e
}

// callJournal is one call's journal as the emulator writes it: a stream
// that streams media both ways, is hung up, and whose mediaStreamStopped
// is answered with stoppedCode. The app's first playAudio carries hostile.
func callJournal(call, stream string, stoppedCode int) []emulator.Entry {
	s := func(e emulator.Entry) emulator.Entry {
		e.CallID, e.StreamID, e.StreamName = call, stream, "agent"
		return e
	}
	stopped := fmt.Sprintf("POST http://127.0.0.1:9/events → %d in 2ms", stoppedCode)
	return []emulator.Entry{
		at(0, emulator.Entry{Kind: emulator.KindCall, By: emulator.ByEmulator, CallID: call, Message: "call " + call + " answered"}),
		at(3, s(emulator.Entry{Kind: emulator.KindHandshake, By: emulator.ByApp, Code: 101, Latency: 3 * time.Millisecond, Message: "GET ws://127.0.0.1:9/media → 101 Switching Protocols"})),
		at(3.2, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "start", Message: "start"})),
		at(3.4, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "media", Track: "inbound", Count: 1, Message: "media inbound #1 (20 ms PCMU)"})),
		at(3.5, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "media", Track: "outbound", Count: 1, Message: "media outbound #1 (20 ms PCMU)"})),
		at(25, s(emulator.Entry{Kind: emulator.KindWebhook, By: emulator.ByEmulator, Event: "mediaStreamStarted", Code: 204, Latency: 20 * time.Millisecond, Message: "POST http://127.0.0.1:9/events → 204 in 20ms"})),
		at(100, s(emulator.Entry{Kind: emulator.KindFrameIn, By: emulator.ByApp, Event: "playAudio", Count: 160, Message: "playAudio " + hostile})),
		at(120, s(emulator.Entry{Kind: emulator.KindFrameIn, By: emulator.ByApp, Event: "playAudio", Count: 160, Message: "playAudio audio/pcmu, 160 samples (20ms)"})),
		at(140, s(emulator.Entry{Kind: emulator.KindFrameIn, By: emulator.ByApp, Event: "playAudio", Count: 160, Message: "playAudio audio/pcmu, 160 samples (20ms)"})),
		at(2010, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "stop", Message: "stop"})),
		at(2011, s(emulator.Entry{Kind: emulator.KindClose, By: emulator.ByEmulator, Code: 1000, Message: "close frame sent: code 1000"})),
		at(2015, s(emulator.Entry{Kind: emulator.KindClose, By: emulator.ByApp, Code: 1000, Message: "close frame received: code 1000"})),
		at(2016, s(emulator.Entry{Kind: emulator.KindMedia, By: emulator.ByEmulator, Track: "inbound", Count: 100, Message: "100 media frames sent on inbound (2s)"})),
		at(2016, s(emulator.Entry{Kind: emulator.KindMedia, By: emulator.ByEmulator, Track: "outbound", Count: 100, Message: "100 media frames sent on outbound (2s)"})),
		at(2017, s(emulator.Entry{Kind: emulator.KindEnding, By: emulator.ByEmulator, Event: "mediaStreamStopped", Cause: "closed", Message: "stream ended (hangup): stop message, close 1000, cause closed"})),
		at(2020, s(emulator.Entry{Kind: emulator.KindWebhook, By: emulator.ByEmulator, Event: "mediaStreamStopped", Cause: "closed", Code: stoppedCode, Latency: 2 * time.Millisecond, Message: stopped})),
		at(2021, emulator.Entry{Kind: emulator.KindCall, By: emulator.ByEmulator, CallID: call, Cause: "hangup", Message: "call ended: hangup"}),
		at(2030, emulator.Entry{Kind: emulator.KindWebhook, By: emulator.ByEmulator, CallID: call, Event: "disconnect", Cause: "hangup", Code: 204, Latency: 4 * time.Millisecond, Message: "POST http://127.0.0.1:9/disconnect → 204 in 4ms"}),
	}
}

// resetJournal is a call whose stream the network resets.
func resetJournal(call, stream string) []emulator.Entry {
	s := func(e emulator.Entry) emulator.Entry {
		e.CallID, e.StreamID, e.StreamName = call, stream, "agent"
		return e
	}
	return []emulator.Entry{
		at(0, emulator.Entry{Kind: emulator.KindCall, By: emulator.ByEmulator, CallID: call, Message: "call " + call + " answered"}),
		at(2, s(emulator.Entry{Kind: emulator.KindHandshake, By: emulator.ByApp, Code: 101, Latency: 2 * time.Millisecond, Message: "GET ws://127.0.0.1:9/media → 101 Switching Protocols"})),
		at(2.1, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "start", Message: "start"})),
		at(2.2, s(emulator.Entry{Kind: emulator.KindFrameOut, By: emulator.ByEmulator, Event: "media", Track: "inbound", Count: 1, Message: "media inbound #1 (20 ms PCMU)"})),
		at(500, s(emulator.Entry{Kind: emulator.KindFault, By: emulator.ByNetwork, Message: "injected TCP reset (SO_LINGER 0, close)"})),
		at(501, s(emulator.Entry{Kind: emulator.KindMedia, By: emulator.ByEmulator, Track: "inbound", Count: 25, Message: "25 media frames sent on inbound (500ms)"})),
		at(502, s(emulator.Entry{Kind: emulator.KindEnding, By: emulator.ByNetwork, Event: "mediaStreamStopped", Cause: "connection-error", Message: "stream ended (reset): TCP reset, cause connection-error"})),
		at(505, s(emulator.Entry{Kind: emulator.KindWebhook, By: emulator.ByEmulator, Event: "mediaStreamStopped", Cause: "connection-error", Code: 204, Latency: time.Millisecond, Message: "POST http://127.0.0.1:9/events → 204 in 1ms"})),
	}
}

// sampleReport is a run of two scenarios: one passes, the second fails
// because the app answered mediaStreamStopped with 500.
func sampleReport(dir string) htmlreport.Report {
	heard := filepath.Join(dir, "rec", "fails 1", "agent-heard.wav")
	return htmlreport.Report{Title: "bwemu run", Subtitle: "calls.yaml", Outcome: "FAIL", Dir: dir,
		Counts: []htmlreport.Count{{Label: "passed", N: 1, Verdict: htmlreport.Pass}, {Label: "failed", N: 1, Verdict: htmlreport.Fail}},
		Cases: []htmlreport.Case{
			{Name: "network resets", Where: "calls.yaml:3:5", Verdict: htmlreport.Pass, Duration: 510 * time.Millisecond, Journal: resetJournal("c-1", "s-1")},
			{Name: "hangs up <b>bold</b>", Where: "calls.yaml:9:5", Verdict: htmlreport.Fail, Duration: 2 * time.Second,
				Journal:     callJournal("c-2", "s-2", 500),
				JournalFile: filepath.Join(dir, "journals", "fails.jsonl"),
				Findings: []htmlreport.Finding{{Expectation: "expect.webhooks.status", Pos: "calls.yaml:14:17",
					Message: "Expected every webhook to be answered 204, but mediaStreamStopped (closed) was answered 500 " + hostile + "\nwebhooks:\n  the record"}},
				Streams: []htmlreport.Stream{{ID: "s-2", Name: "agent", Result: &emulator.StreamResult{
					LatenessP50: 120 * time.Microsecond, LatenessP99: 900 * time.Microsecond, PlayAudio: 3,
					Recording: &emulator.Recording{HeardFile: heard, SaidFile: filepath.Join(dir, "rec", "fails 1", "agent-said.wav")}}}}},
		}}
}

func render(r htmlreport.Report) (string, *html.Node) {
	GinkgoHelper()
	var b bytes.Buffer
	Expect(htmlreport.Write(&b, r)).To(Succeed())
	return b.String(), apptest.ParseHTML(b.Bytes())
}

// ownText is the text of n's <text> children: a row's words, without its
// tooltip.
func ownText(n *html.Node) string {
	var parts []string
	for _, t := range apptest.Elements(n, "text", "") {
		parts = append(parts, apptest.Text(t))
	}
	return strings.Join(parts, " | ")
}

// voidElements have no end tag in HTML.
var voidElements = []string{"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

// expectBalanced checks the markup is well formed: every element that is
// opened is closed, in order (void elements and self-closed SVG elements
// aside), and nothing is closed that was not opened.
func expectBalanced(out string) {
	GinkgoHelper()
	z := html.NewTokenizer(strings.NewReader(out))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			Expect(z.Err()).To(MatchError(io.EOF))
			Expect(stack).To(BeEmpty(), "elements left open")
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !slices.Contains(voidElements, string(name)) {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			Expect(stack).NotTo(BeEmpty(), "</%s> closes nothing", name)
			Expect(stack[len(stack)-1]).To(Equal(string(name)), "</%s> closes <%s>", name, stack[len(stack)-1])
			stack = stack[:len(stack)-1]
		}
	}
}

// caseNames are the names of the cases in page order.
func caseNames(doc *html.Node) []string {
	var out []string
	for _, d := range apptest.Elements(doc, "details", "case") {
		for _, s := range apptest.Elements(d, "span", "name") {
			out = append(out, apptest.Text(s))
		}
	}
	return out
}

// rowsOf are the rows of a diagram, in order.
func rowsOf(svg *html.Node) []*html.Node {
	var out []*html.Node
	for c := svg.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == "g" && apptest.HasClass(c, "row") {
			out = append(out, c)
		}
	}
	return out
}

// caseNode is the case named name.
func caseNode(doc *html.Node, name string) *html.Node {
	GinkgoHelper()
	for _, d := range apptest.Elements(doc, "details", "case") {
		for _, s := range apptest.Elements(d, "span", "name") {
			if apptest.Text(s) == name {
				return d
			}
		}
	}
	Fail("no case " + name)
	return nil
}

var _ = Describe("Write", func() {
	var dir string
	BeforeEach(func() { dir = GinkgoT().TempDir() })

	It("writes well-formed HTML with a title, the outcome and the counts", func() {
		out, doc := render(sampleReport(dir))
		expectBalanced(out)
		Expect(out).To(HavePrefix("<!DOCTYPE html>"))
		titles := apptest.Elements(doc, "title", "")
		Expect(titles).NotTo(BeEmpty())
		Expect(apptest.Text(titles[0])).To(Equal("bwemu run: FAIL"))
		Expect(apptest.Text(apptest.Elements(doc, "h1", "")[0])).To(Equal("bwemu run"))
		Expect(apptest.Text(apptest.Elements(doc, "p", "counts")[0])).To(And(ContainSubstring("FAIL"), ContainSubstring("1 passed"), ContainSubstring("1 failed")))
	})

	It("lists every case, failures first, the failing one open", func() {
		_, doc := render(sampleReport(dir))
		Expect(caseNames(doc)).To(Equal([]string{"hangs up <b>bold</b>", "network resets"}))
		var table []string
		for _, a := range apptest.Elements(doc, "a", "") {
			if href, _ := apptest.Attr(a, "href"); strings.HasPrefix(href, "#case-") {
				table = append(table, apptest.Text(a))
			}
		}
		Expect(table).To(Equal([]string{"hangs up <b>bold</b>", "network resets"}), "the summary table too")
		_, open := apptest.Attr(caseNode(doc, "hangs up <b>bold</b>"), "open")
		Expect(open).To(BeTrue(), "a failing case is open")
		_, open = apptest.Attr(caseNode(doc, "network resets"), "open")
		Expect(open).To(BeFalse(), "a passing one is folded")
		Expect(apptest.Elements(doc, "b", "")).To(BeEmpty(), "a name is text")
	})

	It("shows a case's advice, a passing one's too, as text", func() {
		r := sampleReport(dir)
		r.Cases = append(r.Cases, htmlreport.Case{Name: "advised", Verdict: htmlreport.Pass,
			Advice: []string{"warning: <StartStream>: unknown attribute destination_username is ignored"}})
		out, doc := render(r)
		expectBalanced(out)
		advice := apptest.Elements(caseNode(doc, "advised"), "p", "advice")
		Expect(advice).To(HaveLen(1))
		Expect(apptest.Text(advice[0])).To(Equal("advice: warning: <StartStream>: unknown attribute destination_username is ignored"))
	})

	It("keeps the run order among cases of the same kind", func() {
		r := sampleReport(dir)
		r.Cases = append(r.Cases, htmlreport.Case{Name: "third", Verdict: htmlreport.Error}, htmlreport.Case{Name: "fourth", Verdict: htmlreport.Pass},
			htmlreport.Case{Name: "fifth", Verdict: htmlreport.NonStrict})
		_, doc := render(r)
		Expect(caseNames(doc)).To(Equal([]string{"hangs up <b>bold</b>", "third", "fifth", "network resets", "fourth"}))
	})

	It("draws the call: lanes, handshake, start, media, stop, both closes, every webhook with its answer", func() {
		_, doc := render(sampleReport(dir))
		svgs := apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "svg", "seq")
		Expect(svgs).To(HaveLen(1), "one diagram per call")
		svg := svgs[0]
		lanes := apptest.Elements(svg, "g", "lane")
		Expect(lanes).To(HaveLen(2))
		Expect(apptest.Text(lanes[0])).To(ContainSubstring("bwemu"))
		Expect(apptest.Text(lanes[1])).To(Equal("app"))
		var rows []string
		for _, r := range rowsOf(svg) {
			rows = append(rows, ownText(r))
		}
		want := []string{
			"call c-2 answered",
			"WebSocket upgrade | GET ws://127.0.0.1:9/media",
			"101 Switching Protocols · 3ms",
			"start",
			"media ▸ 100 media frames sent on inbound (2s); 100 media frames sent on outbound (2s) | lateness p50 100µs, p99 900µs · 3 playAudio back",
			"mediaStreamStarted | POST http://127.0.0.1:9/events",
			"204 in 20ms | mediaStreamStarted",
			"playAudio ×3 | the first: playAudio " + hostile,
			"stop",
			"close frame sent: code 1000 | the emulator closed first",
			"close frame received: code 1000 | the answer to the emulator's close",
			"stream ended (hangup): stop message, close 1000, cause closed",
			"mediaStreamStopped (closed) | POST http://127.0.0.1:9/events",
			"500 in 2ms | mediaStreamStopped (closed)",
			"✗ expect.webhooks.status · calls.yaml:14:17 · stream agent (s-2)",
			"call ended: hangup",
			"disconnect (hangup) | POST http://127.0.0.1:9/disconnect",
			"204 in 4ms | disconnect (hangup)",
		}
		Expect(rows).To(HaveLen(len(want)))
		for i, w := range want {
			if strings.HasPrefix(w, "✗") { // a failure: its head, then its message
				Expect(rows[i]).To(HavePrefix(w), "row %d", i)
				continue
			}
			// Rows start with the time and the stream's name.
			Expect(rows[i]).To(HaveSuffix(w), "row %d", i)
		}
		Expect(rows[1]).To(HavePrefix("+0.0 ms | agent | "), "the upgrade was sent as the answer's latency says")
		Expect(rows[14]).To(ContainSubstring("was answered 500"), "the failure says what was seen")
		Expect(apptest.Elements(svg, "rect", "span")).To(HaveLen(1), "the media span on the emulator's lifeline")
	})

	It("draws a failure right after the event it is about, marked", func() {
		_, doc := render(sampleReport(dir))
		rows := rowsOf(apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "svg", "seq")[0])
		i := slices.IndexFunc(rows, func(n *html.Node) bool { return apptest.HasClass(n, "failure") })
		Expect(i).To(BeNumerically(">", 0))
		x, _ := apptest.Attr(rows[i], "data-expectation")
		Expect(x).To(Equal("expect.webhooks.status"))
		about := rows[i-1]
		Expect(apptest.HasClass(about, "anchor")).To(BeTrue())
		Expect(apptest.HasClass(about, "bad")).To(BeTrue(), "the 500 is drawn as bad")
		Expect(ownText(about)).To(ContainSubstring("500 in 2ms"))
	})

	DescribeTable("places each failure by what it is about",
		func(f htmlreport.Finding, after string) {
			r := sampleReport(dir)
			r.Cases[1].Journal = callJournal("c-2", "s-2", 204)
			r.Cases[1].Findings = []htmlreport.Finding{f}
			_, doc := render(r)
			rows := rowsOf(apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "svg", "seq")[0])
			i := slices.IndexFunc(rows, func(n *html.Node) bool { return apptest.HasClass(n, "failure") })
			Expect(i).To(BeNumerically(">", 0))
			Expect(ownText(rows[i-1])).To(ContainSubstring(after))
			Expect(ownText(rows[i])).To(ContainSubstring(f.Expectation))
		},
		Entry("expect.stopped: the mediaStreamStopped answer", htmlreport.Finding{Expectation: "expect.stopped", StreamID: "s-2"}, "204 in 2ms | mediaStreamStopped"),
		Entry("expect.started: the mediaStreamStarted answer", htmlreport.Finding{Expectation: "expect.started", StreamID: "s-2"}, "204 in 20ms | mediaStreamStarted"),
		Entry("expect.disconnect: the disconnect answer", htmlreport.Finding{Expectation: "expect.disconnect"}, "204 in 4ms | disconnect"),
		Entry("expect.close: the stream's last close", htmlreport.Finding{Expectation: "expect.close", StreamID: "s-2"}, "close frame received"),
		Entry("expect.playAudio: the app's last frames", htmlreport.Finding{Expectation: "expect.playAudio", StreamID: "s-2"}, "playAudio ×3"),
		Entry("a stream named by its id in the message: its ending", htmlreport.Finding{Expectation: "case 8.1 fail", Message: "journal of stream s-2:"}, "stream ended (hangup)"),
		Entry("a stream named by its name: its ending", htmlreport.Finding{Expectation: "expect.ending", Message: `stream "agent" ended`}, "stream ended (hangup)"),
		Entry("nothing to go by: the end of the call", htmlreport.Finding{Expectation: "expect.api"}, "204 in 4ms | disconnect"),
	)

	It("draws a fault and the media it cut", func() {
		_, doc := render(sampleReport(dir))
		svg := apptest.Elements(caseNode(doc, "network resets"), "svg", "seq")[0]
		faults := apptest.Elements(svg, "g", "fault")
		Expect(faults).To(HaveLen(1))
		Expect(ownText(faults[0])).To(ContainSubstring("fault (network): injected TCP reset"))
		Expect(apptest.Elements(svg, "rect", "span")).To(HaveLen(1))
		Expect(apptest.Elements(svg, "g", "failure")).To(BeEmpty())
	})

	It("shows a journal message from the app as text, never as markup", func() {
		out, doc := render(sampleReport(dir))
		Expect(out).NotTo(ContainSubstring("<script"))
		Expect(out).NotTo(ContainSubstring("<img"))
		Expect(apptest.Elements(doc, "script", "")).To(BeEmpty())
		Expect(apptest.Elements(doc, "img", "")).To(BeEmpty())
		var svgText, journal string
		for _, t := range apptest.Elements(doc, "text", "") {
			svgText += apptest.Text(t)
		}
		for _, t := range apptest.Elements(doc, "table", "journal") {
			journal += apptest.Text(t)
		}
		Expect(svgText).To(ContainSubstring(hostile), "in the diagram")
		Expect(journal).To(ContainSubstring("playAudio "+hostile), "in the journal table")
		Expect(apptest.Text(caseNode(doc, "hangs up <b>bold</b>"))).To(ContainSubstring("was answered 500 "+hostile), "in the finding")
	})

	It("embeds nothing from elsewhere: no script, no remote link, a policy that forbids fetching", func() {
		out, doc := render(sampleReport(dir))
		apptest.Walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			Expect(n.Data).NotTo(BeElementOf("script", "link", "iframe", "img", "object", "embed", "audio", "video", "source"))
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" || strings.HasSuffix(a.Key, ":href") || a.Key == "action" || a.Key == "srcset" {
					Expect(a.Val).To(Or(HavePrefix("#"), HavePrefix("./"), HavePrefix("../")), "%s=%q", a.Key, a.Val)
				}
			}
		})
		Expect(out).NotTo(ContainSubstring("url("))
		Expect(out).NotTo(ContainSubstring("@import"))
		var csp string
		for _, m := range apptest.Elements(doc, "meta", "") {
			if v, _ := apptest.Attr(m, "http-equiv"); v == "Content-Security-Policy" {
				csp, _ = apptest.Attr(m, "content")
			}
		}
		Expect(csp).To(Equal(htmlreport.ContentSecurityPolicy))
		Expect(csp).To(HavePrefix("default-src 'none'"))
	})

	It("links the recordings and the journal file relative to the page", func() {
		_, doc := render(sampleReport(dir))
		links := map[string]string{}
		for _, a := range apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "a", "") {
			href, _ := apptest.Attr(a, "href")
			links[apptest.Text(a)] = href
		}
		Expect(links).To(HaveKeyWithValue("heard", "./rec/fails%201/agent-heard.wav"))
		Expect(links).To(HaveKeyWithValue("said", "./rec/fails%201/agent-said.wav"))
		Expect(links).To(HaveKeyWithValue(filepath.Join(dir, "journals", "fails.jsonl"), "./journals/fails.jsonl"))

		r := sampleReport(dir)
		r.Dir = filepath.Join(dir, "reports")
		_, doc = render(r)
		for _, a := range apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "a", "") {
			if apptest.Text(a) == "heard" {
				href, _ := apptest.Attr(a, "href")
				Expect(href).To(Equal("../rec/fails%201/agent-heard.wav"), "from a page in another directory")
			}
		}
	})

	It("is the same page every time for the same results", func() {
		a, _ := render(sampleReport(dir))
		b, _ := render(sampleReport(dir))
		Expect(a).To(Equal(b))
	})

	It("draws one diagram per call, and a case with no journal says so", func() {
		r := sampleReport(dir)
		r.Cases = []htmlreport.Case{
			{Name: "two calls", Verdict: htmlreport.Pass, Journal: append(callJournal("c-a", "s-a", 204), callJournal("c-b", "s-b", 204)...)},
			{Name: "nothing", Verdict: htmlreport.Skip, Reason: "interrupted"},
		}
		_, doc := render(r)
		Expect(apptest.Elements(caseNode(doc, "two calls"), "svg", "seq")).To(HaveLen(2))
		Expect(apptest.Text(caseNode(doc, "nothing"))).To(ContainSubstring("No journal"))
	})

	It("leaves out the middle of a long call, keeping the failure", func() {
		j := callJournal("c-2", "s-2", 204)
		var long []emulator.Entry
		long = append(long, j[:9]...)
		for i := range 400 {
			ev := "playAudio"
			if i%2 == 1 {
				ev = "clear"
			}
			long = append(long, at(200+float64(i), emulator.Entry{Kind: emulator.KindFrameIn, By: emulator.ByApp, CallID: "c-2", StreamID: "s-2", StreamName: "agent", Event: ev, Message: ev}))
		}
		long = append(long, at(700, emulator.Entry{Kind: emulator.KindViolation, By: emulator.ByApp, CallID: "c-2", StreamID: "s-2", StreamName: "agent", Event: "bogus", Message: "unknown event bogus"}))
		for i := range 100 {
			long = append(long, at(800+float64(i), emulator.Entry{Kind: emulator.KindFrameIn, By: emulator.ByApp, CallID: "c-2", StreamID: "s-2", StreamName: "agent", Event: []string{"playAudio", "clear"}[i%2], Message: "more"}))
		}
		long = append(long, j[9:]...)
		r := sampleReport(dir)
		r.Cases[1].Journal = long
		r.Cases[1].Findings = []htmlreport.Finding{{Expectation: "expect.violations", StreamID: "s-2", Message: "a violation"}}
		out, doc := render(r)
		expectBalanced(out)
		svg := apptest.Elements(caseNode(doc, "hangs up <b>bold</b>"), "svg", "seq")[0]
		rows := rowsOf(svg)
		Expect(len(rows)).To(BeNumerically("<=", 170))
		gaps := apptest.Elements(svg, "g", "gap")
		Expect(gaps).To(HaveLen(2), "before and after the violation")
		Expect(ownText(gaps[0])).To(MatchRegexp(`… \d+ more rows of this call left out`))
		i := slices.IndexFunc(rows, func(n *html.Node) bool { return apptest.HasClass(n, "failure") })
		Expect(ownText(rows[i-1])).To(ContainSubstring("protocol violation: unknown event bogus"))
		Expect(ownText(rows[len(rows)-1])).To(ContainSubstring("204 in 4ms"), "the end of the call is kept")
	})
})
