package emulator

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Emulator plays Bandwidth for any number of calls: it opens their media
// streams to the app, ends them, and sends the webhooks. Create one with New
// and release it with Close.
type Emulator struct {
	opts    Options
	journal *Journal
	client  *http.Client
	ownHTTP *http.Transport // closed by Close when the emulator made the client

	mu         sync.Mutex
	closed     bool
	calls      []*Call
	deliveries []*Delivery
	exchanges  []*Delivery // deliveries and BXML fetches, in order
	streams    int         // started so far, to spread pacing phases

	wg sync.WaitGroup // every goroutine the emulator started

	// delivering bounds every webhook request; Shutdown cancels it when
	// its budget runs out, so no request outlives an interrupted run.
	delivering context.Context
	interrupt  context.CancelFunc

	duplicate atomic.Bool // deliver every webhook twice

	// Set only by specs, to force orderings of the close handshake:
	// beforeCloseFrame runs just before a stream's close frame is written,
	// afterAppClose once the reader has taken the app's close frame.
	beforeCloseFrame func(*Stream)
	afterAppClose    func(*Stream)
}

// ErrClosed is returned by calls on a closed emulator.
var ErrClosed = errors.New("emulator: closed")

// New returns an emulator with the given options (nil for defaults).
func New(opts *Options) *Emulator {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Timeouts = o.Timeouts.withDefaults()
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.ApplicationID == "" {
		o.ApplicationID = protocol.NewUUID()
	}
	e := &Emulator{opts: o, journal: NewJournal()}
	e.delivering, e.interrupt = context.WithCancel(context.Background())
	e.duplicate.Store(o.DuplicateWebhooks)
	// The journal, as it grows, is the debug log.
	e.journal.log = o.Logger
	e.client = o.HTTPClient
	if e.client == nil {
		e.ownHTTP = weburl.NewTransport()
		// The CA trusted for wss:// is trusted for https:// webhooks too.
		e.ownHTTP.TLSClientConfig = o.TLSConfig.Clone()
		e.client = &http.Client{Transport: e.ownHTTP}
	}
	return e
}

// SetDuplicateWebhooks turns duplicate delivery (Options.DuplicateWebhooks)
// on or off for events that happen from now on (webhooks already queued
// keep the setting of their moment).
func (e *Emulator) SetDuplicateWebhooks(on bool) { e.duplicate.Store(on) }

// Journal is the emulator's record of everything it saw and did.
func (e *Emulator) Journal() *Journal { return e.journal }

// Options returns the options in effect, defaults filled in.
func (e *Emulator) Options() Options { return e.opts }

// Deliveries returns every webhook delivery so far, in order.
func (e *Emulator) Deliveries() []*Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Delivery(nil), e.deliveries...)
}

// Exchanges returns every request made to the app so far, in order: the
// webhook deliveries and the BXML fetches (Delivery.BXML).
func (e *Emulator) Exchanges() []*Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Delivery(nil), e.exchanges...)
}

func (e *Emulator) recordDeliveries(ds []*Delivery) {
	e.mu.Lock()
	e.deliveries = append(e.deliveries, ds...)
	e.exchanges = append(e.exchanges, ds...)
	e.mu.Unlock()
}

// Calls returns the calls made so far.
func (e *Emulator) Calls() []*Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Call(nil), e.calls...)
}

// Close ends every live stream abruptly (no webhooks: the emulator is going
// away, not the call), delivers webhooks already queued, and waits for every
// goroutine and connection it started. Use Call.Hangup first for a graceful
// end with webhooks.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	calls := append([]*Call(nil), e.calls...)
	e.mu.Unlock()
	for _, c := range calls {
		c.abort()
	}
	e.wg.Wait()
	for _, c := range calls {
		c.webhooks.stop()
	}
	e.interrupt()
	if e.ownHTTP != nil {
		e.ownHTTP.CloseIdleConnections()
	}
	return nil
}

// InterruptGrace is how long an interrupted run gives its live calls to
// end with their webhooks (Shutdown's budget in the CLI).
const InterruptGrace = 2 * time.Second

// Shutdown ends every live call as a hangup does — stop, close handshake,
// mediaStreamStopped, disconnect — waits for calls already ending to finish
// theirs, then closes the emulator. When ctx ends first, webhook requests
// still waiting for the app are cut off (recorded as interrupted, see
// Delivery.Interrupted) and the streams still closing are aborted, none of
// it counted against the app; Shutdown then returns ctx's error. Use it
// when a run is interrupted: the app gets its endings, but nobody waits out
// a slow app.
func (e *Emulator) Shutdown(ctx context.Context) error {
	stop := context.AfterFunc(ctx, e.interrupt)
	defer stop()
	var wg sync.WaitGroup
	var cut atomic.Bool
	for _, c := range e.Calls() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Hangup(ctx) // ErrCallEnded when it is ending already
			select {
			case <-c.finished:
			case <-ctx.Done():
				cut.Store(true)
			}
		}()
	}
	wg.Wait()
	_ = e.Close()
	if cut.Load() {
		return ctx.Err()
	}
	return nil
}

// spawn runs f on a goroutine that Close waits for.
func (e *Emulator) spawn(f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// phase spreads the start of realtime streams across the 20 ms frame period
// (golden-ratio steps), so a thousand streams started together do not all
// wake on the same tick.
func (e *Emulator) phase(period time.Duration) time.Duration {
	e.mu.Lock()
	k := e.streams
	e.streams++
	e.mu.Unlock()
	const golden = 0.6180339887498949
	f := float64(k) * golden
	return time.Duration((f - float64(int64(f))) * float64(period))
}
