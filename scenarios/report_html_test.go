package scenarios_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/htmlreport/headless"
	"github.com/bwemu/bwemu/scenarios"
)

// passAndFail is a file of two scenarios: the first passes, the second
// fails because the app answers its mediaStreamStopped with 500. Both
// are recorded.
const passAndFail = quick + `  record: rec
scenarios:
  - name: the caller hangs up
    stream: {name: good}
    steps: [{media: 200ms}, hangup]
  - name: the app fails the stopped webhook
    stream: {name: bad}
    steps: [{media: 200ms}, hangup]
`

// runPassAndFail runs passAndFail from a file in dir, against the
// reference consumer's socket and a webhook endpoint that answers the bad
// stream's mediaStreamStopped with 500, and writes the HTML report to
// dir/report.html.
func runPassAndFail(ctx context.Context, dir string) (string, []*scenarios.Result) {
	GinkgoHelper()
	ref := newReference()
	hooks := apptest.NewHooks()
	hooks.AnswerWhen(func(q apptest.Request) bool {
		return q.Stream() == "bad" && q.What() == "mediaStreamStopped (closed)"
	}, apptest.Reply{Status: http.StatusInternalServerError})
	f := parseAs(filepath.Join(dir, "calls.yaml"), passAndFail)
	started := time.Now()
	rs := runFiles(ctx, against(ref.WebSocketURL(), hooks.EventsURL(), hooks.DisconnectURL()), f)
	Expect(statuses(rs)).To(Equal(map[string]scenarios.Status{"the caller hangs up": scenarios.Passed, "the app fails the stopped webhook": scenarios.Failed}))
	path := filepath.Join(dir, "report.html")
	out, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(scenarios.WriteHTML(out, rs, time.Since(started), scenarios.HTMLOptions{Dir: dir, Started: started})).To(Succeed())
	Expect(out.Close()).To(Succeed())
	return path, rs
}

// pageCheck is what the browser reads off the report.
type pageCheck struct {
	// Names are the cases in page order.
	Names []string `json:"names"`
	// Expectation and Text are the first failure drawn in a diagram:
	// its data-expectation and the text of its headline; Width and
	// Height its rendered size.
	Expectation string  `json:"expectation"`
	Text        string  `json:"text"`
	Width       float64 `json:"width"`
	Height      float64 `json:"height"`
	// About is the text of the row before it (the event it is about),
	// AboutClass that row's class.
	About      string `json:"about"`
	AboutClass string `json:"aboutClass"`
}

const pageCheckJS = `(() => {
  const names = [...document.querySelectorAll("details.case > summary .name")].map(n => n.textContent);
  const f = document.querySelector("svg.seq g.failure");
  const t = f ? f.querySelector("text.expectation") : null;
  const box = t ? t.getBoundingClientRect() : {width: 0, height: 0};
  const prev = f ? f.previousElementSibling : null;
  return {names, expectation: f ? f.getAttribute("data-expectation") : "", text: t ? t.textContent : "",
    width: box.width, height: box.height,
    about: prev ? [...prev.querySelectorAll("text")].map(x => x.textContent).join(" | ") : "",
    aboutClass: prev ? prev.getAttribute("class") : ""};
})()`

var _ = Describe("WriteHTML", func() {
	It("shows a real run: failures first, each failure in its call's diagram, by its stream, recordings linked", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		path, rs := runPassAndFail(ctx, dir)
		bad := named(rs, "the app fails the stopped webhook")
		f := failure(bad, "expect.webhooks.status")
		Expect(f.StreamID).To(BeEmpty(), "the 204 rule is the call's")

		raw, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		var names, failures, links []string
		apptest.Walk(apptest.ParseHTML(raw), func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "class" && a.Val == "name":
					names = append(names, n.FirstChild.Data)
				case a.Key == "data-expectation":
					failures = append(failures, a.Val)
				case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
					links = append(links, a.Val)
				}
			}
		})
		Expect(names).To(Equal([]string{"the app fails the stopped webhook", "the caller hangs up"}))
		Expect(failures).To(Equal([]string{"expect.webhooks.status"}))
		Expect(links).NotTo(BeEmpty())
		for _, l := range links {
			Expect(l).To(HavePrefix("./rec/"), "recordings are linked relative to the page")
			Expect(l).To(HaveSuffix(".wav"))
			_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(l, "%20", " "))))
			Expect(err).NotTo(HaveOccurred(), "the link %s leads to the recording", l)
		}
		Expect(string(raw)).To(ContainSubstring(bad.Streams[0].ID), "the failure names the stream")
	}, timeout)

	It("renders in a browser: the title, the failing case first, no console error, the failure drawn", Label("browser"), func(ctx SpecContext) {
		chromium, err := headless.ExecPath()
		if err != nil {
			Skip("the browser check needs Chromium: " + err.Error())
		}
		path, _ := runPassAndFail(ctx, GinkgoT().TempDir())
		var got pageCheck
		visit, err := headless.Open(ctx, chromium, path, headless.Options{}, func(tab context.Context) error {
			var err error
			got, err = chromedp.Run(tab, chromedp.Evaluate[pageCheck](pageCheckJS))
			return err
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(visit.Title).To(Equal("bwemu run: FAIL"))
		Expect(visit.Problems).To(BeEmpty(), "no console error, exception or blocked load")
		Expect(visit.Fetched).To(BeEmpty(), "the page loads nothing")
		Expect(got.Names).To(Equal([]string{"the app fails the stopped webhook", "the caller hangs up"}))
		Expect(got.Expectation).To(Equal("expect.webhooks.status"))
		Expect(got.Text).To(HavePrefix("✗ expect.webhooks.status"))
		Expect(got.Text).To(ContainSubstring("stream bad"))
		Expect(got.Width).To(BeNumerically(">", 0), "the failure is rendered, its case open")
		Expect(got.Height).To(BeNumerically(">", 0))
		Expect(got.About).To(ContainSubstring("500"), "drawn after the answer it is about")
		Expect(got.AboutClass).To(And(ContainSubstring("anchor"), ContainSubstring("bad")))
	}, SpecTimeout(60*time.Second))
})
