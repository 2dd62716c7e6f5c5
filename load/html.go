package load

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/bwemu/bwemu/internal/htmlreport"
)

// WriteHTML writes s as one self-contained HTML page: inline CSS, charts as
// inline SVG, no script and no remote resource, so the report opens offline
// and can be mailed or archived as a single file. A nil or empty summary
// gives a page that says "no data" rather than an error.
func WriteHTML(w io.Writer, s *Summary) error {
	if s == nil {
		s = &Summary{}
	}
	return htmlReport.Execute(w, newHTMLPage(s))
}

// htmlPage is what the template shows, already formatted: the template
// only lays it out, so every decision about wording lives in Go.
type htmlPage struct {
	// Style is the look bwemu's report pages share (htmlreport.Style).
	Style           template.CSS
	Title, Subtitle string
	Interrupted     bool
	Generator       Generator
	Verdicts        []Verdict
	Settings        []htmlPair
	Totals          []htmlPair
	Series          []htmlChart
	Dists           []htmlChart
	Hists           []htmlHistRow
	Endings         []htmlCount
	EndingsChart    htmlChart
	Causes          []htmlCount
	Slowest         []htmlSlow
}

type htmlPair struct{ Name, Value string }

// htmlChart is a chart, or the note saying why there is none.
type htmlChart struct {
	Title string
	SVG   template.HTML
	Note  string
}

type htmlHistRow struct {
	Name                       string
	Count                      int64
	P50, P95, P99, P999, MaxMs string
}

type htmlCount struct {
	Name  string
	Count int
	Share string
}

type htmlSlow struct {
	SlowCall
	Text string
}

func newHTMLPage(s *Summary) htmlPage {
	p := htmlPage{Style: htmlreport.Style(), Title: "bwemu load report", Subtitle: subtitle(s), Interrupted: s.Interrupted,
		Generator: s.Generator, Settings: settingsRows(s), Totals: totalsRows(s),
		Series: seriesCharts(s.Series), Hists: histRows(s.Histograms)}
	// Failures first: they are what the reader opened the report for.
	p.Verdicts = slices.Clone(s.Thresholds)
	slices.SortStableFunc(p.Verdicts, func(a, b Verdict) int {
		return boolRank(a.Held) - boolRank(b.Held)
	})
	for _, name := range []string{HistLateness, HistWebhook} {
		p.Dists = append(p.Dists, distChart(name, s.Histograms[name]))
	}
	p.Endings = countRows(s.Endings)
	p.EndingsChart = endingsChart(p.Endings)
	p.Causes = countRows(s.ErrorsByCause)
	for _, c := range s.Slowest {
		p.Slowest = append(p.Slowest, htmlSlow{SlowCall: c, Text: strings.Join(c.Journal, "\n")})
	}
	return p
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func subtitle(s *Summary) string {
	parts := []string{cmp.Or(s.Settings.Target, "no target")}
	if !s.Start.IsZero() {
		parts = append(parts, s.Start.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return strings.Join(parts, " · ")
}

func settingsRows(s *Summary) []htmlPair {
	st := s.Settings
	rows := []htmlPair{{"target", dash(st.Target)}}
	switch {
	case st.Calls > 0:
		rows = append(rows, htmlPair{"calls held at once", strconv.Itoa(st.Calls)})
	case st.Rate > 0:
		rows = append(rows, htmlPair{"rate", strconv.FormatFloat(st.Rate, 'f', -1, 64) + " calls/s"})
	default:
		rows = append(rows, htmlPair{"calls or rate", "—"})
	}
	rows = append(rows, htmlPair{"ramp", cmp.Or(st.Ramp, "none")}, htmlPair{"duration", dash(st.Duration)},
		htmlPair{"hold", dash(st.Hold)}, htmlPair{"end mix", dash(st.End)}, htmlPair{"tracks", dash(st.Tracks)},
		htmlPair{"mode", dash(st.Mode)}, htmlPair{"pace", dash(st.Pace)})
	if st.Shard != "" {
		rows = append(rows, htmlPair{"shard", st.Shard})
	}
	if s.Shards > 1 {
		rows = append(rows, htmlPair{"shards merged", strconv.Itoa(s.Shards)})
	}
	return rows
}

func totalsRows(s *Summary) []htmlPair {
	errs := strconv.Itoa(s.Errors)
	if s.Calls > 0 {
		errs += fmt.Sprintf(" (%.1f %% of completed calls)", 100*float64(s.Errors)/float64(s.Calls))
	}
	dur := "—"
	if !s.Start.IsZero() && !s.End.IsZero() {
		dur = s.Duration().Round(time.Millisecond).String()
	}
	g := s.Generator
	cpu := fmt.Sprintf("%.1f s of CPU", g.CPUSeconds)
	if g.CPUBudget > 0 {
		cpu += fmt.Sprintf(", %.0f %% of a %s-core budget", 100*g.CPUUse, strconv.FormatFloat(g.CPUBudget, 'f', -1, 64))
	}
	return []htmlPair{{"started", strconv.Itoa(s.Started)}, {"completed calls", strconv.Itoa(s.Calls)},
		{"errors", errs}, {"frames", strconv.FormatInt(s.Frames, 10)}, {"skipped frames", strconv.FormatInt(s.Skipped, 10)},
		{"duration", dur}, {"generator CPU", cpu}}
}

func dash(s string) string { return cmp.Or(s, "—") }

// fmtMs shows a millisecond figure: they come from microseconds, so three
// decimals are exact and more would be noise.
func fmtMs(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func histRows(hs map[string]*Hist) []htmlHistRow {
	var rows []htmlHistRow
	for _, name := range slices.Sorted(maps.Keys(hs)) {
		x := hs[name]
		if x == nil {
			continue
		}
		r := htmlHistRow{Name: name, Count: x.Count, P50: "—", P95: "—", P99: "—", P999: "—", MaxMs: "—"}
		if x.Count > 0 {
			r.P50, r.P95, r.P99, r.P999, r.MaxMs = fmtMs(x.P50Ms), fmtMs(x.P95Ms), fmtMs(x.P99Ms), fmtMs(x.P999Ms), fmtMs(x.MaxMs)
		}
		rows = append(rows, r)
	}
	return rows
}

// countRows sorts by count, largest first, so the common case leads; ties
// by name so the page is the same from one render to the next.
func countRows(m map[string]int) []htmlCount {
	total := 0
	for _, n := range m {
		total += n
	}
	var rows []htmlCount
	for name, n := range m {
		share := "—"
		if total > 0 {
			share = fmt.Sprintf("%.1f %%", 100*float64(n)/float64(total))
		}
		rows = append(rows, htmlCount{Name: name, Count: n, Share: share})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Name < rows[j].Name
	})
	return rows
}

// chartW and chartH size every chart: wide enough for a label per bar of
// the distributions; the page's CSS scales them down to the window.
const (
	chartW = 8 * vg.Inch
	chartH = 3 * vg.Inch
)

var chartColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// newPlot is a plot in the page's style. Liberation Sans is what gonum
// measures text with; the page's CSS names metric-compatible fonts.
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.Add(plotter.NewGrid())
	return p
}

// renderSVG draws p with vgsvg and returns markup fit to inline. It
// recovers from a gonum panic: a report must never crash the run whose
// results it shows, so a chart that cannot be drawn becomes a note.
func renderSVG(p *plot.Plot) (svg template.HTML, err error) {
	defer func() {
		if r := recover(); r != nil {
			svg, err = "", fmt.Errorf("chart: %v", r)
		}
	}()
	c := vgsvg.New(chartW, chartH)
	// gonum draws to the very edge; the margin keeps the top tick label
	// and the last bar's label inside the picture.
	p.Draw(draw.Crop(draw.New(c), 0, -vg.Points(14), 0, -vg.Points(8)))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	return inlineSVG(b.String()), nil
}

// inlineSVG trims vgsvg's standalone-document prelude (XML declaration,
// comment), which has no place inside HTML, and the xmlns attributes, which
// the HTML parser implies: the page then holds no URL it did not show as
// text. It is marked safe only because vgsvg made it and escaped its text.
func inlineSVG(doc string) template.HTML {
	if i := strings.Index(doc, "<svg"); i >= 0 {
		doc = doc[i:]
	}
	doc = strings.Replace(doc, `xmlns="http://www.w3.org/2000/svg"`, "", 1)
	doc = strings.Replace(doc, `xmlns:xlink="http://www.w3.org/1999/xlink"`, "", 1)
	return template.HTML(strings.Replace(doc, "<svg ", `<svg role="img" `, 1))
}

// finite drops what gonum cannot plot: NaN and infinities make it fail.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

type namedLine struct {
	Name string
	XYs  plotter.XYs
}

func seriesLine(name string, series []Second, y func(Second) float64) namedLine {
	l := namedLine{Name: name}
	for _, sec := range series {
		if v := y(sec); finite(v) {
			l.XYs = append(l.XYs, plotter.XY{X: float64(sec.T), Y: v})
		}
	}
	return l
}

func seriesCharts(series []Second) []htmlChart {
	if len(series) == 0 {
		return nil
	}
	live := seriesLine("live", series, func(s Second) float64 { return float64(s.Live) })
	frames := seriesLine("frames/s", series, func(s Second) float64 { return float64(s.Frames) })
	late := seriesLine("lateness p99", series, func(s Second) float64 { return s.LatenessP99Ms })
	hook := seriesLine("webhook p99", series, func(s Second) float64 { return s.WebhookP99Ms })
	charts := []htmlChart{lineChart("Calls live", "calls", live), lineChart("Frames per second", "frames/s", frames),
		lineChart("Lateness p99 and webhook answer p99, per second", "ms", late, hook)}
	// Errors get a chart only when there are some: a flat zero line says
	// nothing the totals do not.
	if slices.ContainsFunc(series, func(s Second) bool { return s.Errors > 0 }) {
		errs := seriesLine("errors", series, func(s Second) float64 { return float64(s.Errors) })
		charts = append(charts, lineChart("Errors per second", "errors", errs))
	}
	// Likewise skipped frames: they say when bwemu fell behind (while the
	// calls dialled, or in a few slow seconds of the host).
	if slices.ContainsFunc(series, func(s Second) bool { return s.Skipped > 0 }) {
		skipped := seriesLine("skipped", series, func(s Second) float64 { return float64(s.Skipped) })
		charts = append(charts, lineChart("Frames bwemu skipped per second (its pacing fell behind)", "frames", skipped))
	}
	return charts
}

// lineChart plots the lines over the run's seconds, from a zero baseline
// so that a small wobble does not look like a collapse.
func lineChart(title, yLabel string, lines ...namedLine) htmlChart {
	ch := htmlChart{Title: title}
	p := newPlot("second of the run", yLabel)
	p.X.Tick.Marker = secondTicks
	p.Y.Min = 0
	drawn, top := 0, 0.0
	for i, l := range lines {
		if len(l.XYs) == 0 {
			continue
		}
		for _, xy := range l.XYs {
			top = max(top, xy.Y)
		}
		line, points, err := plotter.NewLinePoints(l.XYs)
		if err != nil {
			ch.Note = err.Error()
			return ch
		}
		line.Color, points.Color = chartColors[i%len(chartColors)], chartColors[i%len(chartColors)]
		points.Radius = vg.Points(1)
		p.Add(line, points)
		if len(lines) > 1 {
			p.Legend.Add(l.Name, line)
		}
		drawn++
	}
	if drawn == 0 {
		ch.Note = "no data"
		return ch
	}
	if len(lines) > 1 && top > 0 {
		p.Y.Max = top * 1.25 // headroom: the legend sits above the lines, not on them
	}
	p.Legend.Top = true
	return withSVG(ch, p)
}

// secondTicks are gonum's default ticks labelled as plain numbers: its
// default labels read "25.00" for the 25th second.
var secondTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
})

func withSVG(ch htmlChart, p *plot.Plot) htmlChart {
	svg, err := renderSVG(p)
	if err != nil {
		ch.Note = err.Error()
		return ch
	}
	ch.SVG = svg
	return ch
}

// bucketEdges are the distribution charts' buckets, in microseconds: 1-2-5
// steps from 1 µs to the histograms' 60 s ceiling. Log-spaced so the bulk
// and the tail both show; round so the labels read at a glance.
var bucketEdges = func() []int64 {
	var edges []int64
	for decade := int64(1); decade <= histHighest; decade *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*decade <= histHighest {
				edges = append(edges, m*decade)
			}
		}
	}
	return edges
}()

// bucketCounts folds the HDR histogram's fine buckets into bucketEdges'.
func bucketCounts(h *hdr.Histogram) []int64 {
	counts := make([]int64, len(bucketEdges))
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		i := sort.Search(len(bucketEdges), func(i int) bool { return bucketEdges[i] > bar.From }) - 1
		counts[max(i, 0)] += bar.Count
	}
	return counts
}

func bucketLabel(i int) string {
	lo := fmtMs(float64(bucketEdges[i]) / 1000)
	if i == len(bucketEdges)-1 {
		return "≥" + lo
	}
	return lo + "–" + fmtMs(float64(bucketEdges[i+1])/1000)
}

var distTitles = map[string]string{
	HistLateness: "Frame send lateness",
	HistWebhook:  "Webhook answer time",
}

// distChart shows a histogram as the share of observations per bucket,
// only over the buckets from the first to the last that hold any.
func distChart(name string, x *Hist) htmlChart {
	ch := htmlChart{Title: cmp.Or(distTitles[name], name)}
	if x == nil || x.Count == 0 {
		ch.Note = "no data"
		return ch
	}
	h, err := x.histogram()
	if err != nil {
		ch.Note = "cannot read the histogram: " + err.Error()
		return ch
	}
	counts := bucketCounts(h)
	first := slices.IndexFunc(counts, func(n int64) bool { return n > 0 })
	if first < 0 {
		ch.Note = "no data"
		return ch
	}
	last := len(counts) - 1
	for counts[last] == 0 {
		last--
	}
	ch.Title += fmt.Sprintf(" (%d observations)", h.TotalCount())
	var labels []string
	var shares []float64
	for i := first; i <= last; i++ {
		labels = append(labels, bucketLabel(i))
		shares = append(shares, 100*float64(counts[i])/float64(h.TotalCount()))
	}
	return barChart(ch, "time (ms)", "% of observations", labels, shares)
}

func endingsChart(rows []htmlCount) htmlChart {
	ch := htmlChart{Title: "Endings"}
	if len(rows) == 0 {
		ch.Note = "no data"
		return ch
	}
	var labels []string
	var counts []float64
	for _, r := range rows {
		labels = append(labels, r.Name)
		counts = append(counts, float64(r.Count))
	}
	return barChart(ch, "ending", "calls", labels, counts)
}

// barChart draws one bar per label; the bar width shrinks with their
// number so that many buckets still fit the chart.
func barChart(ch htmlChart, xLabel, yLabel string, labels []string, values []float64) htmlChart {
	for i, v := range values {
		if !finite(v) {
			values[i] = 0
		}
	}
	p := newPlot(xLabel, yLabel)
	width := min(vg.Points(40), chartW*0.6/vg.Length(len(values)))
	bars, err := plotter.NewBarChart(plotter.Values(values), width)
	if err != nil {
		ch.Note = err.Error()
		return ch
	}
	bars.Color = chartColors[0]
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(labels...)
	// Half a slot of margin on each side, or the end bars touch the frame.
	p.X.Min, p.X.Max = -0.5, float64(len(values))-0.5
	if len(labels) > 8 {
		// Slanted, the labels of many buckets no longer run into each other.
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	p.Y.Min = 0
	if top := slices.Max(values); top > 0 {
		p.Y.Max = top * 1.05 // the tallest bar stops short of the frame
	}
	return withSVG(ch, p)
}

// htmlReport is the page, in the shell every bwemu report shares (its
// style and content security policy, from htmlreport). It holds no script
// and loads nothing: styles are inline, and charts are SVG markup already
// in the page.
var htmlReport = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + htmlreport.ContentSecurityPolicy + `">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Subtitle}}</title>
<style>{{.Style}}
body{max-width:1000px}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
figure svg{width:100%;height:auto}
figure svg text{font-family:"Liberation Sans",Arial,Helvetica,sans-serif!important}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>
{{with .Generator}}{{if .Bound}}<div class="banner bound" id="generator-bound">
<p>bwemu itself was the bottleneck during this run: the figures about the app are not trustworthy.</p>
{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Advice}}<p>Advice: {{.Advice}}</p>{{end}}
</div>{{end}}{{end}}
{{if .Interrupted}}<div class="banner interrupted" id="interrupted">
<p>The run was interrupted: it is shorter than asked, and its figures cover only what ran.</p>
</div>{{end}}

<h2>Thresholds</h2>
{{if .Verdicts}}<table id="thresholds"><tr><th>threshold</th><th>actual</th><th>verdict</th></tr>
{{range .Verdicts}}<tr><td><code>{{.Expr}}</code></td><td>{{.Actual}}</td>{{if .Held}}<td class="pass">PASS</td>{{else}}<td class="fail">FAIL</td>{{end}}</tr>
{{end}}</table>{{else}}<p class="nodata">No thresholds were given.</p>{{end}}

<div class="cols">
<div><h2>Settings</h2>
<table id="settings">{{range .Settings}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table></div>
<div><h2>Totals</h2>
<table id="totals">{{range .Totals}}<tr><th>{{.Name}}</th><td class="n">{{.Value}}</td></tr>{{end}}</table></div>
</div>

<h2>Over time</h2>
{{range .Series}}{{template "chart" .}}{{else}}<p class="nodata">no data: the run has no per-second series.</p>{{end}}

<h2>Distributions</h2>
{{range .Dists}}{{template "chart" .}}{{end}}
{{if .Hists}}<table id="histograms"><tr><th>histogram</th><th class="n">count</th><th class="n">p50 ms</th><th class="n">p95 ms</th><th class="n">p99 ms</th><th class="n">p99.9 ms</th><th class="n">max ms</th></tr>
{{range .Hists}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.P50}}</td><td class="n">{{.P95}}</td><td class="n">{{.P99}}</td><td class="n">{{.P999}}</td><td class="n">{{.MaxMs}}</td></tr>
{{end}}</table>{{else}}<p class="nodata">no data: the run has no histograms.</p>{{end}}

<h2>Endings and errors</h2>
{{template "chart" .EndingsChart}}
<div class="cols">
<div><h3>Endings by kind</h3>{{template "counts" .Endings}}</div>
<div><h3>Errors by cause</h3>{{template "counts" .Causes}}</div>
</div>

<h2>Slowest calls</h2>
{{range .Slowest}}<section class="slow">
<h3>call <code>{{.CallID}}</code></h3>
<p>stream <code>{{.StreamID}}</code> · slowest webhook answer {{printf "%.1f" .WebhookMaxMs}} ms · handshake {{printf "%.1f" .HandshakeMs}} ms · ending {{.Ending}}</p>
{{if .Text}}<pre>{{.Text}}</pre>{{else}}<p class="nodata">no journal</p>{{end}}
</section>
{{else}}<p class="nodata">no data: no call was kept as slowest.</p>{{end}}
</body>
</html>
{{- define "chart"}}<figure><figcaption>{{.Title}}</figcaption>{{if .SVG}}{{.SVG}}{{else}}<p class="nodata">{{.Note}}</p>{{end}}</figure>
{{end}}
{{- define "counts"}}{{if .}}<table><tr><th>name</th><th class="n">count</th><th class="n">share</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>
{{end}}</table>{{else}}<p class="nodata">no data</p>{{end}}{{end}}`))
