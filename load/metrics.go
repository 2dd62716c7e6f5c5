package load

import (
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/bwemu/bwemu/emulator"
)

// Histogram range: 1 µs to 60 s at 3 significant digits, in microseconds,
// the same in every shard so their histograms merge exactly.
const (
	histLowest  = 1
	histHighest = int64(60 * time.Second / time.Microsecond)
	histDigits  = 3
)

func newHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, histDigits) }

// record adds d to h, clamped into the histogram's range.
func record(h *hdr.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histLowest {
		us = histLowest
	}
	if us > histHighest {
		us = histHighest
	}
	_ = h.RecordValue(us) // in range: cannot fail
}

// The names of the histograms a run keeps; the metric names of thresholds
// and the keys of the JSON summary.
const (
	HistLateness  = "lateness"  // frame send lateness against the absolute schedule
	HistBlocked   = "blocked"   // time each frame write spent blocked
	HistHandshake = "handshake" // dial to 101
	HistWebhook   = "webhook"   // the app's answer time, every webhook
	HistFirstPlay = "firstPlay" // stream start to the first playAudio
	HistReply     = "reply"     // end of the caller's speech to the app's reply (response latency)
)

// stripe is one share of the per-frame histograms. Each call's meter
// writes to one stripe, so streams on different cores rarely contend for
// a lock.
type stripe struct {
	mu                sync.Mutex
	lateness, blocked *hdr.Histogram
	handshake         *hdr.Histogram
	// secLateness and secBlocked are the current second's lateness and
	// longest blocked write, for the series.
	secLateness *hdr.Histogram
	secBlocked  time.Duration
	_           [64]byte // keeps stripes on separate cache lines
}

// recorder gathers a run's measurements. Frames are counted atomically;
// histograms go through stripes; per-call figures (webhooks, endings) are
// added under mu when a call ends.
type recorder struct {
	stripes []*stripe
	frames  atomic.Int64
	skipped atomic.Int64
	live    atomic.Int64
	cut     atomic.Int64 // calls whose media the run's end cut short

	mu         sync.Mutex
	webhook    *hdr.Histogram
	events     map[string]*hdr.Histogram // webhook answer time by eventType
	firstPlay  *hdr.Histogram
	reply      *hdr.Histogram
	secWebhook *hdr.Histogram
	started    int
	completed  int
	errors     int
	endings    map[string]int
	causes     map[string]int
}

func newRecorder(stripes int) *recorder {
	r := &recorder{webhook: newHist(), events: map[string]*hdr.Histogram{}, firstPlay: newHist(), reply: newHist(),
		secWebhook: newHist(), endings: map[string]int{}, causes: map[string]int{}}
	for range max(stripes, 1) {
		r.stripes = append(r.stripes, &stripe{lateness: newHist(), blocked: newHist(), handshake: newHist(), secLateness: newHist()})
	}
	return r
}

// meter is one call's emulator.Meter: it writes to the stripe the call was
// given.
type meter struct {
	r *recorder
	s *stripe
}

var _ emulator.Meter = meter{}

func (r *recorder) meter(call int) meter {
	return meter{r: r, s: r.stripes[call%len(r.stripes)]}
}

func (m meter) Handshake(d time.Duration) {
	m.s.mu.Lock()
	record(m.s.handshake, d)
	m.s.mu.Unlock()
}

func (m meter) Frame(lateness, blocked time.Duration) {
	m.r.frames.Add(1)
	m.s.mu.Lock()
	record(m.s.lateness, lateness)
	record(m.s.secLateness, lateness)
	record(m.s.blocked, blocked)
	m.s.secBlocked = max(m.s.secBlocked, blocked)
	m.s.mu.Unlock()
}

func (m meter) Skipped(frames int) { m.r.skipped.Add(int64(frames)) }

// begin and end count a call in and out of the live calls.
func (r *recorder) begin() {
	r.live.Add(1)
	r.mu.Lock()
	r.started++
	r.mu.Unlock()
}

func (r *recorder) end() { r.live.Add(-1) }

func (r *recorder) errorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors
}

func (r *recorder) completedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.completed
}

// callDone adds what a finished call did: its streams' endings and first
// playAudio, its webhooks' answer times, and why the app failed it.
func (r *recorder) callDone(out Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.completed++
	for _, res := range out.Streams {
		r.endings[string(res.Ending)]++
		if res.FirstPlayAudio > 0 {
			record(r.firstPlay, res.FirstPlayAudio)
		}
		for _, lat := range res.Latencies() {
			record(r.reply, lat)
		}
	}
	if len(out.Failures) > 0 {
		r.errors++
		for _, c := range out.Failures {
			r.causes[c]++
		}
	}
	for _, d := range out.timedAnswers() {
		lat := d.Final().Latency
		record(r.webhook, lat)
		record(r.secWebhook, lat)
		h := r.events[d.Event.EventType]
		if h == nil {
			h = newHist()
			r.events[d.Event.EventType] = h
		}
		record(h, lat)
	}
}

// second takes the current second's figures and starts the next.
func (r *recorder) second() (lateP99, blockedMax, webhookP99 time.Duration) {
	sec := newHist()
	for _, s := range r.stripes {
		s.mu.Lock()
		sec.Merge(s.secLateness)
		s.secLateness.Reset()
		blockedMax = max(blockedMax, s.secBlocked)
		s.secBlocked = 0
		s.mu.Unlock()
	}
	r.mu.Lock()
	webhookP99 = usToDuration(r.secWebhook.ValueAtQuantile(99))
	r.secWebhook.Reset()
	r.mu.Unlock()
	return usToDuration(sec.ValueAtQuantile(99)), blockedMax, webhookP99
}

// histograms merges the stripes into one histogram a name.
func (r *recorder) histograms() map[string]*hdr.Histogram {
	out := map[string]*hdr.Histogram{HistLateness: newHist(), HistBlocked: newHist(), HistHandshake: newHist()}
	for _, s := range r.stripes {
		s.mu.Lock()
		out[HistLateness].Merge(s.lateness)
		out[HistBlocked].Merge(s.blocked)
		out[HistHandshake].Merge(s.handshake)
		s.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out[HistWebhook] = r.webhook.Clone()
	out[HistFirstPlay] = r.firstPlay.Clone()
	out[HistReply] = r.reply.Clone()
	for ev, h := range r.events {
		out[HistWebhook+"."+ev] = h.Clone()
	}
	return out
}

func usToDuration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
