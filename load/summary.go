package load

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// SummaryVersion is the version of the JSON summary; merge refuses others.
const SummaryVersion = 1

// Summary is what a load run measured: the --json file of one process or
// shard, and what merge makes of several.
type Summary struct {
	Version  int      `json:"version"`
	Settings Settings `json:"settings"`
	// Shards is how many summaries were merged into this one (1: a run).
	Shards int       `json:"shards"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`

	// Started and Calls are the calls begun and completed; Errors the
	// completed calls the app failed (ErrorsByCause says how).
	Started int `json:"started"`
	Calls   int `json:"calls"`
	// Cut is the completed calls whose media the run's end cut short
	// (they still ended as drawn, with their webhooks).
	Cut           int            `json:"cut"`
	Errors        int            `json:"errors"`
	ErrorsByCause map[string]int `json:"errorsByCause"`
	Endings       map[string]int `json:"endings"`
	Frames        int64          `json:"frames"`
	Skipped       int64          `json:"skipped"`

	// Histograms are the distributions, by name (HistLateness…, and
	// "webhook.EVENT" per event type).
	Histograms map[string]*Hist `json:"histograms"`
	// Series is the run second by second.
	Series []Second `json:"series"`

	// Generator is how bwemu itself fared: when it was the bottleneck the
	// figures about the app cannot be trusted.
	Generator Generator `json:"generator"`

	// Slowest are the calls whose webhooks the app answered slowest.
	Slowest []SlowCall `json:"slowest,omitempty"`
	// Journals are the files written for the calls that went wrong.
	Journals []string `json:"journals,omitempty"`

	// Thresholds are the verdicts, once evaluated.
	Thresholds []Verdict `json:"thresholds,omitempty"`
	// Interrupted is true when the run was cut short by an interrupt.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Hist is a histogram in the summary: its quantiles for people, and its
// HdrHistogram V2 encoding so shards merge exactly. Values in milliseconds.
type Hist struct {
	Count   int64   `json:"count"`
	P50Ms   float64 `json:"p50Ms"`
	P95Ms   float64 `json:"p95Ms"`
	P99Ms   float64 `json:"p99Ms"`
	P999Ms  float64 `json:"p999Ms"`
	MaxMs   float64 `json:"maxMs"`
	Encoded string  `json:"encoded"`
	h       *hdr.Histogram
}

func newHistSummary(h *hdr.Histogram) (*Hist, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, err
	}
	q := func(p float64) float64 { return ms(usToDuration(h.ValueAtQuantile(p))) }
	return &Hist{Count: h.TotalCount(), P50Ms: q(50), P95Ms: q(95), P99Ms: q(99), P999Ms: q(99.9),
		MaxMs: ms(usToDuration(h.Max())), Encoded: base64.StdEncoding.EncodeToString(b), h: h}, nil
}

// histogram decodes the encoded histogram (once).
func (x *Hist) histogram() (*hdr.Histogram, error) {
	if x.h != nil {
		return x.h, nil
	}
	b, err := base64.StdEncoding.DecodeString(x.Encoded)
	if err != nil {
		return nil, err
	}
	h, err := hdr.Decode(b)
	if err != nil {
		return nil, err
	}
	x.h = h
	return h, nil
}

// Quantile is the value below which q (0–1) of the observations fall.
func (x *Hist) Quantile(q float64) time.Duration {
	h, err := x.histogram()
	if err != nil {
		return 0
	}
	return usToDuration(h.ValueAtQuantile(q * 100))
}

// Max is the largest observation.
func (x *Hist) Max() time.Duration {
	h, err := x.histogram()
	if err != nil {
		return 0
	}
	return usToDuration(h.Max())
}

// Second is one second of the run.
type Second struct {
	// T is the second since the start.
	T int `json:"t"`
	// Live is the calls live at the end of the second; Frames the media
	// messages sent during it.
	Live   int   `json:"live"`
	Frames int64 `json:"frames"`
	// LatenessP99Ms and WebhookP99Ms are the second's p99, BlockedMaxMs
	// its longest blocked write: the slow-consumer signal (merged: the
	// worst shard's).
	LatenessP99Ms float64 `json:"latenessP99Ms"`
	BlockedMaxMs  float64 `json:"blockedMaxMs"`
	WebhookP99Ms  float64 `json:"webhookP99Ms"`
	Errors        int     `json:"errors"`
	// Skipped is the frames bwemu dropped in the second because its
	// pacing fell behind: when in the run the generator was the
	// bottleneck.
	Skipped int64 `json:"skipped,omitempty"`
}

// Generator is bwemu's own health during the run.
type Generator struct {
	// Bound is true when bwemu fell behind: its figures about the app are
	// not trustworthy. Reasons says why; Advice what to do.
	Bound   bool     `json:"bound"`
	Reasons []string `json:"reasons,omitempty"`
	Advice  string   `json:"advice,omitempty"`
	// CPUSeconds is the CPU time bwemu used; CPUBudget the cores it was
	// allowed; CPUUse the share of the budget used (1 = saturated).
	CPUSeconds float64 `json:"cpuSeconds"`
	CPUBudget  float64 `json:"cpuBudget"`
	CPUUse     float64 `json:"cpuUse"`
}

// SlowCall is one of the slowest calls, with the end of its journal.
type SlowCall struct {
	CallID        string   `json:"callId"`
	StreamID      string   `json:"streamId"`
	WebhookMaxMs  float64  `json:"webhookMaxMs"`
	HandshakeMs   float64  `json:"handshakeMs"`
	Ending        string   `json:"ending"`
	Journal       []string `json:"journal"`
	slowestAnswer time.Duration
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Duration is the run's wall-clock length.
func (s *Summary) Duration() time.Duration { return s.End.Sub(s.Start) }

// Merge combines shard summaries into one: counts add up, histograms
// merge exactly, the series adds per second (p99s: the worst shard's).
// Thresholds are not carried over: evaluate them on the merged summary.
func Merge(shards ...*Summary) (*Summary, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("merge: no summaries")
	}
	out := &Summary{Version: SummaryVersion, Settings: shards[0].Settings, ErrorsByCause: map[string]int{},
		Endings: map[string]int{}, Histograms: map[string]*Hist{}}
	out.Settings.Shard = ""
	hists := map[string]*hdr.Histogram{}
	series := map[int]*Second{}
	var slow []SlowCall
	for i, s := range shards {
		if s.Version != SummaryVersion {
			return nil, fmt.Errorf("merge: summary %d has version %d, want %d", i+1, s.Version, SummaryVersion)
		}
		out.mergeCounts(s)
		out.Generator.merge(s.Generator)
		for name, x := range s.Histograms {
			h, err := x.histogram()
			if err != nil {
				return nil, fmt.Errorf("merge: summary %d: histogram %s: %v", i+1, name, err)
			}
			if hists[name] == nil {
				hists[name] = newHist()
			}
			hists[name].Merge(h)
		}
		for _, sec := range s.Series {
			m := series[sec.T]
			if m == nil {
				m = &Second{T: sec.T}
				series[sec.T] = m
			}
			m.Live += sec.Live
			m.Frames += sec.Frames
			m.Errors += sec.Errors
			m.Skipped += sec.Skipped
			m.LatenessP99Ms = max(m.LatenessP99Ms, sec.LatenessP99Ms)
			m.WebhookP99Ms = max(m.WebhookP99Ms, sec.WebhookP99Ms)
			m.BlockedMaxMs = max(m.BlockedMaxMs, sec.BlockedMaxMs)
		}
		slow = append(slow, s.Slowest...)
		out.Journals = append(out.Journals, s.Journals...)
	}
	for name, h := range hists {
		x, err := newHistSummary(h)
		if err != nil {
			return nil, err
		}
		out.Histograms[name] = x
	}
	for _, t := range slices.Sorted(maps.Keys(series)) {
		out.Series = append(out.Series, *series[t])
	}
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].WebhookMaxMs > slow[j].WebhookMaxMs })
	out.Slowest = slow[:min(len(slow), slowestKept)]
	return out, nil
}

func (out *Summary) mergeCounts(s *Summary) {
	if out.Shards == 0 || s.Start.Before(out.Start) {
		out.Start = s.Start
	}
	if s.End.After(out.End) {
		out.End = s.End
	}
	out.Shards += max(s.Shards, 1)
	out.Started += s.Started
	out.Calls += s.Calls
	out.Cut += s.Cut
	out.Errors += s.Errors
	out.Frames += s.Frames
	out.Skipped += s.Skipped
	out.Interrupted = out.Interrupted || s.Interrupted
	for k, v := range s.ErrorsByCause {
		out.ErrorsByCause[k] += v
	}
	for k, v := range s.Endings {
		out.Endings[k] += v
	}
}

// merge keeps a generator bound if any shard was; CPU adds up.
func (g *Generator) merge(o Generator) {
	g.Bound = g.Bound || o.Bound
	for _, r := range o.Reasons {
		if !slices.Contains(g.Reasons, r) {
			g.Reasons = append(g.Reasons, r)
		}
	}
	if g.Advice == "" {
		g.Advice = o.Advice
	}
	g.CPUSeconds += o.CPUSeconds
	g.CPUBudget += o.CPUBudget
	g.CPUUse = max(g.CPUUse, o.CPUUse)
}
