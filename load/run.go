package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/weburl"
)

// slowestKept is how many of the slowest calls a summary keeps.
const slowestKept = 10

// DefaultSendBuffer is the socket send buffer the CLI gives each stream:
// about a second of audio on both tracks, so an app that stops reading
// shows as blocked writes within seconds (see emulator.Options.SendBuffer).
const DefaultSendBuffer = 16 << 10

// DefaultMaxJournals caps the journals written for failed calls.
const DefaultMaxJournals = 100

// Run drives the load described by o against the app and returns what it
// measured. It returns when Duration is over and every call has ended, or,
// when ctx is cancelled (an interrupt), once the live calls were ended
// with their webhooks within emulator.InterruptGrace; the summary then
// says Interrupted. Thresholds are evaluated by the caller (Evaluate).
func Run(ctx context.Context, opts *Options) (*Summary, error) {
	o := *opts
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.JournalDir != "" {
		if err := os.MkdirAll(o.JournalDir, 0o755); err != nil {
			return nil, fmt.Errorf("load: journal directory: %w", err)
		}
	}
	if !o.StartAt.IsZero() {
		select {
		case <-time.After(time.Until(o.StartAt)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := newRun(&o)
	defer r.transport.CloseIdleConnections()
	return r.run(ctx), nil
}

// run is one load run in progress.
type run struct {
	o         *Options
	rec       *recorder
	transport *http.Transport
	client    *http.Client
	start     time.Time
	// holding is cancelled when the run's time is over (or on interrupt):
	// calls still in their media then end as their draw said.
	holding context.Context
	stop    context.CancelFunc
	// interrupted is the caller's context: cancelled, calls end at once.
	interrupted context.Context
	wg          sync.WaitGroup
	n           atomic.Int64 // calls begun, the next call's number

	mu          sync.Mutex
	slowest     []SlowCall
	journals    []string
	unjournaled int
}

func newRun(o *Options) *run {
	t := weburl.NewTransport()
	t.TLSClientConfig = o.Emulator.TLSConfig.Clone()
	// Every call's webhooks share the connections to the app.
	t.MaxIdleConnsPerHost = 1024
	stripes := runtime.GOMAXPROCS(0) * 4
	return &run{o: o, rec: newRecorder(stripes), transport: t, client: &http.Client{Transport: t}}
}

func (r *run) run(ctx context.Context) *Summary {
	r.interrupted = ctx
	r.start = time.Now()
	cpu0 := cpuTime()
	deadline := r.start.Add(r.o.Duration)
	r.holding, r.stop = context.WithDeadline(ctx, deadline)
	defer r.stop()
	series, finished := make(chan []Second, 1), make(chan struct{})
	go r.watch(deadline, finished, series)
	if r.o.Calls > 0 {
		r.closedModel(deadline)
	} else {
		r.openModel(deadline)
	}
	r.wg.Wait()
	close(finished)
	return r.summary(<-series, cpuTime()-cpu0)
}

// closedModel holds this shard's share of Calls: each slot starts a call,
// and another when it ends, until the deadline. Slots start spread over
// the ramp (or over one frame period when there is none, so streams do not
// all wake on the same tick).
func (r *run) closedModel(deadline time.Time) {
	n := r.o.Shard.share(r.o.Calls)
	spread := r.o.Ramp
	if spread == 0 {
		spread = 20 * time.Millisecond
	}
	for i := range n {
		at := r.start.Add(time.Duration(float64(spread) * float64(i) / float64(n)))
		r.wg.Go(func() {
			if !r.sleepUntil(at) {
				return
			}
			for time.Now().Before(deadline) && r.holding.Err() == nil {
				r.call()
			}
		})
	}
}

// openModel starts Rate calls a second (this shard's share), whatever the
// app does, rising linearly over the ramp.
func (r *run) openModel(deadline time.Time) {
	rate := r.o.Rate
	if r.o.Shard.Count > 1 {
		rate /= float64(r.o.Shard.Count)
	}
	for k := 0; ; k++ {
		at := r.start.Add(arrival(k, rate, r.o.Ramp))
		if !at.Before(deadline) || !r.sleepUntil(at) {
			return
		}
		r.wg.Go(r.call)
	}
}

// arrival is when the k-th call of an open model starts: calls arrive at
// rate a second, the rate rising linearly from 0 over ramp.
func arrival(k int, rate float64, ramp time.Duration) time.Duration {
	T := ramp.Seconds()
	rampCalls := rate * T / 2 // calls started during the ramp
	var t float64
	if float64(k) < rampCalls {
		t = math.Sqrt(2 * float64(k) * T / rate)
	} else {
		t = T + (float64(k)-rampCalls)/rate
	}
	return time.Duration(t * float64(time.Second))
}

// sleepUntil waits for t; false when the run's time ran out first.
func (r *run) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return r.holding.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.holding.Done():
		return false
	}
}

// call runs one call, the built-in one or the script, and adds what it
// measured.
func (r *run) call() {
	n := r.n.Add(1) - 1
	m := r.rec.meter(int(n))
	r.rec.begin()
	defer r.rec.end()
	var out Outcome
	if r.o.Script != nil {
		out = r.o.Script(r.interrupted, m)
	} else {
		out = r.builtinCall(n, m)
	}
	if len(out.Streams) == 0 && r.interrupted.Err() != nil {
		return // interrupted before it began: nothing to count
	}
	r.rec.callDone(out)
	r.keep(out)
}

// builtinCall is a stream held for its drawn time, then ended as drawn.
func (r *run) builtinCall(n int64, m meter) Outcome {
	rng := rand.New(rand.NewPCG(r.o.Seed, uint64(n)))
	hold, how := r.o.Hold.draw(rng), r.o.Endings.draw(rng)
	eo := r.o.Emulator
	eo.Meter, eo.HTTPClient = m, r.client
	e := emulator.New(&eo)
	defer e.Close()
	callSpec := r.o.Call
	call, err := e.NewCall(&callSpec)
	if err != nil {
		return Outcome{} // checked before the run: cannot happen
	}
	s, err := call.StartStream(r.interrupted, r.o.Stream)
	var res *emulator.StreamResult
	var rejected *emulator.RejectedError
	var cutAt time.Time
	switch {
	case errors.As(err, &rejected):
		res = rejected.Result
	case err != nil:
		return Outcome{} // the spec was validated; only an interrupt gets here
	default:
		if err := s.Media(r.holding, hold); err != nil && r.holding.Err() != nil {
			r.rec.cut.Add(1) // the run's end came first
			cutAt = time.Now()
		}
		res = r.finish(e, s, how)
	}
	ds := e.Deliveries()
	return Outcome{Streams: []*emulator.StreamResult{res}, Deliveries: ds, Failures: failures(res, ds),
		CallID: call.ID, Journal: e.Journal().Entries(), CutAt: cutAt}
}

// finish ends the stream as drawn. Interrupted, it ends the call with its
// webhooks instead, each cut off when emulator.InterruptGrace is over.
func (r *run) finish(e *emulator.Emulator, s *emulator.Stream, how emulator.Ending) *emulator.StreamResult {
	if r.interrupted.Err() == nil {
		ctx, cancel := context.WithTimeout(r.interrupted, e.Options().Timeouts.EndBound())
		res, err := s.Finish(ctx, how)
		cancel()
		if err == nil {
			return res
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), emulator.InterruptGrace)
	defer cancel()
	_ = e.Shutdown(ctx)
	return s.Result()
}

// failures are the reasons the app failed a call: an app-caused ending, a
// protocol violation, a webhook not answered 2xx (none when interrupted).
func failures(res *emulator.StreamResult, ds []*emulator.Delivery) []string {
	var out []string
	if res.AppFault {
		out = append(out, "ending "+string(res.Ending))
	}
	if res.Violations > 0 {
		out = append(out, "protocol violation")
	}
	for _, d := range ds {
		if d.Interrupted() || d.BXML {
			continue
		}
		switch st := d.Status(); {
		case !d.Delivered():
			out = append(out, fmt.Sprintf("%s: no answer", d.Event.EventType))
		case st < 200 || st > 299:
			out = append(out, fmt.Sprintf("%s: %d", d.Event.EventType, st))
		}
	}
	return out
}

// keep writes the journal of a failed call and remembers the slowest.
func (r *run) keep(out Outcome) {
	var slowest time.Duration
	for _, d := range out.timedAnswers() {
		slowest = max(slowest, d.Final().Latency)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(out.Failures) > 0 && r.o.JournalDir != "" {
		if len(r.journals) < orDefault(r.o.MaxJournals, DefaultMaxJournals) {
			path := filepath.Join(r.o.JournalDir, out.CallID+".jsonl")
			if err := emulator.WriteEntriesFile(path, out.Journal); err == nil {
				r.journals = append(r.journals, path)
			}
		} else {
			r.unjournaled++
		}
	}
	if len(r.slowest) == slowestKept && slowest <= r.slowest[len(r.slowest)-1].slowestAnswer {
		return
	}
	r.slowest = append(r.slowest, slowCall(out, slowest))
	sort.SliceStable(r.slowest, func(i, j int) bool { return r.slowest[i].slowestAnswer > r.slowest[j].slowestAnswer })
	r.slowest = r.slowest[:min(len(r.slowest), slowestKept)]
}

// slowCall is a call's line among the slowest: its ids, ending, handshake
// time and the end of its journal.
func slowCall(out Outcome, slowest time.Duration) SlowCall {
	sc := SlowCall{CallID: out.CallID, WebhookMaxMs: ms(slowest), slowestAnswer: slowest}
	var endings []string
	for _, res := range out.Streams {
		endings = append(endings, string(res.Ending))
	}
	sc.Ending = strings.Join(endings, ", ")
	for _, en := range out.Journal {
		switch {
		case en.Kind == emulator.KindHandshake && sc.HandshakeMs == 0:
			sc.HandshakeMs = ms(en.Latency)
		case sc.StreamID == "" && en.StreamID != "":
			sc.StreamID = en.StreamID
		}
	}
	for _, en := range out.Journal[max(0, len(out.Journal)-journalExcerpt):] {
		sc.Journal = append(sc.Journal, en.Message)
	}
	return sc
}

// journalExcerpt is how many of a slow call's last journal entries a
// summary keeps.
const journalExcerpt = 12

// orDefault is v, or def when v is not positive.
func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
