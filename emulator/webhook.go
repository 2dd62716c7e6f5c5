package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	Status  int           `json:"status,omitempty"`
	Latency time.Duration `json:"latencyNs"`
	Error   string        `json:"error,omitempty"`
	// NoAnswer says, when no answer came, why in words a program compares.
	NoAnswer NoAnswer `json:"noAnswer,omitempty"`
	// Body is the start of the app's answer, for reports.
	Body string `json:"body,omitempty"`
	// Interrupted is true when the run was interrupted (Emulator.Shutdown)
	// before the app answered: the attempt says nothing about the app.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Delivery records one webhook event sent to the app: the request and every
// attempt with the app's answer.
type Delivery struct {
	Event  *protocol.Event `json:"event"`
	Method string          `json:"method"`
	// URL is where it went; a GET carries the event in its query.
	URL string `json:"url"`
	// Authenticated says Basic credentials were sent (never the credentials).
	Authenticated bool `json:"authenticated,omitempty"`
	// Copy is 1 for the first delivery, 2 for the deliberate duplicate.
	Copy int `json:"copy"`
	// BXML is true for a request that asked the app for BXML (answer,
	// initiate, redirect): judged by the call, not by the 204 rule.
	BXML     bool      `json:"bxml,omitempty"`
	Attempts []Attempt `json:"attempts"`
}

// Final is the last attempt, the one that counts.
func (d *Delivery) Final() Attempt {
	if len(d.Attempts) == 0 {
		return Attempt{Error: "not sent", NoAnswer: NoAnswerFailed}
	}
	return d.Attempts[len(d.Attempts)-1]
}

// Status is the app's final HTTP status, 0 when no answer came.
func (d *Delivery) Status() int { return d.Final().Status }

// Interrupted reports whether the run was interrupted before the app
// answered; such a delivery is never the app's fault.
func (d *Delivery) Interrupted() bool { return d.Final().Interrupted }

// Delivered reports whether the app answered at all.
func (d *Delivery) Delivered() bool { return d.Final().Error == "" }

// Name is how reports call the delivery: the event type, its cause when
// it has one, and the copy when it is the deliberate duplicate.
func (d *Delivery) Name() string {
	if d.Event == nil {
		return "(unknown event)"
	}
	name := d.Event.EventType
	if d.Event.Cause != "" {
		name += " (" + d.Event.Cause + ")"
	}
	if d.Copy > 1 {
		name += fmt.Sprintf(" copy %d", d.Copy)
	}
	return name
}

// webhookSender delivers a call's webhooks one at a time and in order, so
// Started always arrives before Stopped and Stopped before disconnect. Its
// goroutine runs only while webhooks are queued: a call in the middle of
// its media holds none (load runs keep thousands of calls live).
type webhookSender struct {
	e  *Emulator
	wg sync.WaitGroup

	mu      sync.Mutex
	queue   []webhookJob
	running bool // a goroutine is delivering the queue
	stopped bool
}

type webhookJob struct {
	target Callback
	event  *protocol.Event
	// copies is 2 when duplicates were on as the event happened.
	copies int
	// done receives the deliveries (one, or two with duplicates).
	done chan []*Delivery
	ids  entryIDs
}

type entryIDs struct{ call, stream, name string }

func newWebhookSender(e *Emulator) *webhookSender { return &webhookSender{e: e} }

// send queues an event; the returned channel yields its deliveries.
func (w *webhookSender) send(t Callback, ev *protocol.Event, ids entryIDs) <-chan []*Delivery {
	done := make(chan []*Delivery, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.URL == "" || w.stopped {
		done <- nil
		return done
	}
	copies := 1
	if w.e.duplicate.Load() {
		copies = 2
	}
	w.queue = append(w.queue, webhookJob{target: t, event: ev, copies: copies, done: done, ids: ids})
	if !w.running {
		w.running = true
		w.wg.Add(1)
		go w.run()
	}
	return done
}

// stop delivers what is queued, then ends the sender.
func (w *webhookSender) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.wg.Wait()
}

// run delivers the queue in order and returns once it is empty.
func (w *webhookSender) run() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.running = false
			w.queue = nil
			w.mu.Unlock()
			return
		}
		job := w.queue[0]
		w.queue = w.queue[1:]
		w.mu.Unlock()
		var out []*Delivery
		for c := 1; c <= job.copies; c++ {
			out = append(out, w.e.deliver(job.target, job.event, c, job.ids))
		}
		w.e.recordDeliveries(out)
		job.done <- out
	}
}

// deliver sends one event, retrying once only when no connection could be
// made or it broke before any answer (Bandwidth retries on connection
// exceptions only, never on an error status or a timeout).
func (e *Emulator) deliver(t Callback, ev *protocol.Event, copyNo int, ids entryIDs) *Delivery {
	body, _ := json.Marshal(ev) // Event has only marshalable fields
	var d *Delivery
	for attempt := 1; attempt <= 2; attempt++ {
		r := e.Send(e.delivering, Request{Callback: t, Event: ev})
		if d == nil {
			// The record keeps the URL without a password in it:
			// deliveries end up in reports.
			d = &Delivery{Event: ev, Method: r.Method, URL: r.URL, Authenticated: t.Username != "" || t.Password != "", Copy: copyNo}
		}
		d.Attempts = append(d.Attempts, r.Attempt)
		msg := fmt.Sprintf("%s %s → %d in %s", r.Method, d.URL, r.Status, r.Latency.Round(time.Microsecond))
		if r.Error != "" {
			msg = fmt.Sprintf("%s %s failed after %s: %s", r.Method, d.URL, r.Latency.Round(time.Microsecond), r.Error)
		}
		if copyNo > 1 {
			msg += " (deliberate duplicate)"
		}
		if attempt > 1 {
			msg += " (retry after a connection failure)"
		}
		e.journal.Add(Entry{Kind: KindWebhook, By: ByEmulator, CallID: ids.call, StreamID: ids.stream, StreamName: ids.name,
			Event: ev.EventType, Cause: ev.Cause, Method: r.Method, Copy: copyNo, Attempt: attempt,
			Code: r.Status, Latency: r.Latency, Error: r.Error, NoAnswer: r.NoAnswer, Message: msg, Data: body})
		if !r.Retry {
			break
		}
	}
	return d
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// resolveEventURL resolves a relative streamEventUrl against the URL that
// served the BXML, as Bandwidth does.
func resolveEventURL(eventURL, base string) (string, error) {
	if eventURL == "" {
		return "", nil
	}
	return weburl.Resolve(base, eventURL)
}
