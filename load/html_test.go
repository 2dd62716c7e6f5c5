package load

// An internal test (package load), so that it can build real histograms
// with newHist, record and newHistSummary; its specs join the suite that
// load_suite_test.go runs.

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"

	"github.com/bwemu/bwemu/internal/apptest"
)

// sampleSummary is a run with a bit of everything the page shows.
func sampleSummary() *Summary {
	GinkgoHelper()
	r := rand.New(rand.NewPCG(1, 2))
	late, hook, hand, ev := newHist(), newHist(), newHist(), newHist()
	for range 5000 {
		record(late, time.Duration(r.ExpFloat64()*float64(300*time.Microsecond)))
	}
	for range 400 {
		d := 5*time.Millisecond + time.Duration(r.ExpFloat64()*float64(40*time.Millisecond))
		record(hook, d)
		record(ev, d)
		record(hand, time.Duration(2+r.IntN(10))*time.Millisecond)
	}
	hists := map[string]*Hist{}
	for name, h := range map[string]*hdr.Histogram{HistLateness: late, HistWebhook: hook, HistHandshake: hand,
		HistWebhook + ".answer": ev, HistFirstPlay: newHist()} {
		x, err := newHistSummary(h)
		Expect(err).NotTo(HaveOccurred())
		hists[name] = x
	}
	var series []Second
	for t := range 30 {
		series = append(series, Second{T: t, Live: min(t*10, 200), Frames: int64(min(t*10, 200) * 50),
			LatenessP99Ms: 0.4 + float64(t%5)/10, WebhookP99Ms: 40 + float64(t%7)*5, Errors: t % 11 / 10})
	}
	series[9].Skipped = 7
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &Summary{Version: SummaryVersion, Shards: 1, Start: start, End: start.Add(30 * time.Second),
		Settings: Settings{Target: "wss://app.example.com/media", Calls: 200, Ramp: "10s", Duration: "30s",
			Hold: "20s-40s", End: "hangup=90,reset=10", Tracks: "inbound", Mode: "bidirectional", Pace: "realtime"},
		Started: 420, Calls: 400, Errors: 2, ErrorsByCause: map[string]int{"webhook 500": 2},
		Endings: map[string]int{"hangup": 360, "reset": 40}, Frames: 123456, Skipped: 7,
		Histograms: hists, Series: series,
		Generator: Generator{Bound: true, Reasons: []string{"CPU at 97 % of budget"}, Advice: "run fewer calls per process",
			CPUSeconds: 58, CPUBudget: 2, CPUUse: 0.97},
		Slowest: []SlowCall{{CallID: "c-1", StreamID: "s-1", WebhookMaxMs: 812.5, HandshakeMs: 3.2, Ending: "hangup",
			Journal: []string{"12:00:01 webhook answer", `12:00:02 body <script>alert("x")</script>`}}},
		Thresholds: []Verdict{{Expr: "errors<=5", Actual: "2", Held: true},
			{Expr: "webhook.p99<200ms", Actual: "251ms", Held: false}},
	}
}

func render(s *Summary) (string, *html.Node) {
	GinkgoHelper()
	var b bytes.Buffer
	Expect(WriteHTML(&b, s)).To(Succeed())
	return b.String(), apptest.ParseHTML(b.Bytes())
}

// rows is the text of each row of a table.
func rows(table *html.Node) []string {
	var out []string
	apptest.Walk(table, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			out = append(out, apptest.Text(n))
		}
	})
	return out
}

var _ = Describe("WriteHTML", func() {
	It("shows a run: thresholds failures first, banner, charts, tables", func() {
		s := sampleSummary()
		s.Interrupted = true
		out, doc := render(s)
		if path := os.Getenv("BWEMU_HTML_SAMPLE"); path != "" {
			Expect(os.WriteFile(path, []byte(out), 0o644)).To(Succeed()) // for a person to open
		}

		th := apptest.ByID(doc, "thresholds")
		Expect(th).NotTo(BeNil())
		Expect(rows(th)).To(HaveLen(3))
		Expect(rows(th)[1]).To(And(ContainSubstring("webhook.p99<200ms"), ContainSubstring("251ms"), ContainSubstring("FAIL")))
		Expect(rows(th)[2]).To(And(ContainSubstring("errors<=5"), ContainSubstring("PASS")))

		bound := apptest.ByID(doc, "generator-bound")
		Expect(bound).NotTo(BeNil())
		Expect(apptest.Text(bound)).To(And(ContainSubstring("not trustworthy"), ContainSubstring("CPU at 97 % of budget"),
			ContainSubstring("run fewer calls per process")))
		Expect(apptest.ByID(doc, "interrupted")).NotTo(BeNil())

		// 3 series charts, errors and skipped frames per second, 2
		// distributions, endings.
		Expect(strings.Count(out, "<svg")).To(Equal(8))
		Expect(out).To(ContainSubstring("Frames bwemu skipped per second"))
		hist := rows(apptest.ByID(doc, "histograms"))
		Expect(hist).To(HaveLen(6))
		Expect(hist[1]).To(ContainSubstring("firstPlay"))
		Expect(hist[4]).To(ContainSubstring("webhook"))
		Expect(hist[5]).To(ContainSubstring("webhook.answer"))
		Expect(apptest.Text(apptest.ByID(doc, "settings"))).To(And(ContainSubstring("wss://app.example.com/media"), ContainSubstring("hangup=90,reset=10")))
		Expect(apptest.Text(apptest.ByID(doc, "totals"))).To(And(ContainSubstring("123456"), ContainSubstring("30s"), ContainSubstring("97 %")))
	})

})

var _ = Describe("WriteHTML safety", func() {
	It("loads nothing from elsewhere and runs no script", func() {
		out, doc := render(sampleSummary())
		apptest.Walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			Expect(n.Data).NotTo(BeElementOf("script", "link", "iframe", "img", "object", "embed"))
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" || strings.HasSuffix(a.Key, ":href") || a.Key == "action" {
					Expect(a.Val).NotTo(Or(HavePrefix("http://"), HavePrefix("https://"), HavePrefix("//")), "%s=%q", a.Key, a.Val)
				}
			}
		})
		Expect(out).NotTo(ContainSubstring("url("))
		Expect(out).NotTo(ContainSubstring("@import"))
	})

	It("escapes journal lines", func() {
		out, doc := render(sampleSummary())
		Expect(out).To(ContainSubstring(`body &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`))
		Expect(out).NotTo(ContainSubstring("<script>"))
		var pre string
		apptest.Walk(doc, func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "pre" {
				pre += apptest.Text(n)
			}
		})
		Expect(pre).To(ContainSubstring(`<script>alert("x")</script>`)) // shown as text
	})

})

var _ = Describe("WriteHTML without data", func() {
	It("says no data for an empty summary", func() {
		for _, s := range []*Summary{nil, {}} {
			out, doc := render(s)
			Expect(out).To(ContainSubstring("no data"))
			Expect(out).NotTo(ContainSubstring("<svg"))
			Expect(apptest.ByID(doc, "generator-bound")).To(BeNil())
			Expect(out).To(ContainSubstring("No thresholds were given"))
		}
	})

	It("copes with degenerate data instead of panicking", func() {
		empty, err := newHistSummary(newHist())
		Expect(err).NotTo(HaveOccurred())
		s := &Summary{
			Series:     []Second{{T: 0, Live: 1, LatenessP99Ms: math.NaN(), WebhookP99Ms: math.Inf(1)}},
			Histograms: map[string]*Hist{HistLateness: empty, HistWebhook: {Count: 3, Encoded: "not base64!"}},
			Endings:    map[string]int{"<b>odd</b>": 0},
		}
		out, _ := render(s)
		Expect(out).To(ContainSubstring("cannot read the histogram"))
		Expect(out).To(ContainSubstring("no data"))
		Expect(out).To(ContainSubstring("&lt;b&gt;odd&lt;/b&gt;"))
		Expect(out).NotTo(ContainSubstring("<b>odd"))
	})
})
