package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Target says where and how a webhook goes.
type Target struct {
	URL      string
	Method   string // POST (default) or GET
	Username string
	Password string
	// Timeout is the callbackTimeout of the call.
	Timeout time.Duration
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	Status  int           `json:"status,omitempty"`
	Latency time.Duration `json:"latencyNs"`
	Error   string        `json:"error,omitempty"`
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
	Copy     int       `json:"copy"`
	Attempts []Attempt `json:"attempts"`
}

// Final is the last attempt, the one that counts.
func (d *Delivery) Final() Attempt {
	if len(d.Attempts) == 0 {
		return Attempt{Error: "not sent"}
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

// webhookSender delivers a call's webhooks one at a time and in order, so
// Started always arrives before Stopped and Stopped before disconnect.
type webhookSender struct {
	e     *Emulator
	queue chan webhookJob
	wg    sync.WaitGroup

	mu      sync.Mutex
	stopped bool
}

type webhookJob struct {
	target Target
	event  *protocol.Event
	// copies is 2 when duplicates were on as the event happened.
	copies int
	// done receives the deliveries (one, or two with duplicates).
	done chan []*Delivery
	ids  entryIDs
}

type entryIDs struct{ call, stream, name string }

func newWebhookSender(e *Emulator) *webhookSender {
	w := &webhookSender{e: e, queue: make(chan webhookJob, 16)}
	w.wg.Add(1)
	go w.run()
	return w
}

// send queues an event; the returned channel yields its deliveries.
func (w *webhookSender) send(t Target, ev *protocol.Event, ids entryIDs) <-chan []*Delivery {
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
	w.queue <- webhookJob{target: t, event: ev, copies: copies, done: done, ids: ids}
	return done
}

// stop delivers what is queued, then ends the sender.
func (w *webhookSender) stop() {
	w.mu.Lock()
	w.stopped = true
	close(w.queue)
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *webhookSender) run() {
	defer w.wg.Done()
	for job := range w.queue {
		var out []*Delivery
		for c := 1; c <= job.copies; c++ {
			d := w.e.deliver(job.target, job.event, c, job.ids)
			out = append(out, d)
		}
		w.e.recordDeliveries(out)
		job.done <- out
	}
}

// deliver sends one event, retrying once only when no connection could be
// made or it broke before any answer (Bandwidth retries on connection
// exceptions only, never on an error status or a timeout).
func (e *Emulator) deliver(t Target, ev *protocol.Event, copyNo int, ids entryIDs) *Delivery {
	method := strings.ToUpper(t.Method)
	if method == "" {
		method = http.MethodPost
	}
	target := t.URL
	if method == http.MethodGet {
		target = weburl.WithQuery(t.URL, ev.Query())
	}
	// The record keeps the URL without a password in it: deliveries end up
	// in reports.
	d := &Delivery{Event: ev, Method: method, URL: weburl.Redact(target), Authenticated: t.Username != "" || t.Password != "", Copy: copyNo}
	body, _ := json.Marshal(ev) // Event has only marshalable fields
	for attempt := 1; attempt <= 2; attempt++ {
		a, retry := e.attempt(t, method, target, body)
		d.Attempts = append(d.Attempts, a)
		msg := fmt.Sprintf("%s %s → %d in %s", method, d.URL, a.Status, a.Latency.Round(time.Microsecond))
		if a.Error != "" {
			msg = fmt.Sprintf("%s %s failed after %s: %s", method, d.URL, a.Latency.Round(time.Microsecond), a.Error)
		}
		if copyNo > 1 {
			msg += " (deliberate duplicate)"
		}
		if attempt > 1 {
			msg += " (retry after a connection failure)"
		}
		e.journal.Add(Entry{Kind: KindWebhook, By: ByEmulator, CallID: ids.call, StreamID: ids.stream, StreamName: ids.name,
			Event: ev.EventType, Cause: ev.Cause, Code: a.Status, Latency: a.Latency, Error: a.Error, Message: msg, Data: body})
		if !retry {
			break
		}
	}
	return d
}

func (e *Emulator) attempt(t Target, method, target string, body []byte) (Attempt, bool) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = e.opts.Timeouts.Callback
	}
	if e.delivering.Err() != nil {
		return interruptedAttempt(0), false
	}
	ctx, cancel := context.WithTimeout(e.delivering, timeout)
	defer cancel()
	var rd io.Reader
	if method != http.MethodGet {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return Attempt{Error: err.Error()}, false
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "bwemu")
	if t.Username != "" || t.Password != "" {
		req.SetBasicAuth(t.Username, t.Password)
	}
	start := time.Now()
	resp, err := e.client.Do(req)
	lat := time.Since(start)
	if err != nil {
		if e.delivering.Err() != nil {
			return interruptedAttempt(lat), false
		}
		timedOut := errors.Is(err, context.DeadlineExceeded) || isTimeout(err)
		msg := weburl.ErrorText(err)
		if timedOut {
			msg = fmt.Sprintf("no answer within the callback timeout of %s", timeout)
		}
		return Attempt{Latency: lat, Error: msg}, !timedOut
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return Attempt{Status: resp.StatusCode, Latency: lat, Body: string(snippet)}, false
}

func interruptedAttempt(lat time.Duration) Attempt {
	return Attempt{Latency: lat, Interrupted: true, Error: "interrupted: the run was interrupted before the app answered"}
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
